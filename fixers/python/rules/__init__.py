"""Rules over the Python modules images run."""
