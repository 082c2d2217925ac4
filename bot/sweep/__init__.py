"""sweep mode: every repository of an organisation or installation, one grouped PR each."""
