"""Everything that talks to GitHub's REST API (through PyGithub)."""
