"""Python modules that container images run (found through their Dockerfiles)."""
