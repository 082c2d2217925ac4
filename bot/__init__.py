"""container-bp: the command line and, later, the GitHub side. Uses the engine in ``fixers``."""

__version__ = "0.1.0"
