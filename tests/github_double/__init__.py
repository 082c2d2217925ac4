"""A GitHub REST API double for the bot's tests: HTTP on 127.0.0.1, real git repositories,
requests and responses validated against GitHub's OpenAPI description."""

from .server import ApiError, GitHubDouble, LoggedRequest

__all__ = ["ApiError", "GitHubDouble", "LoggedRequest"]
