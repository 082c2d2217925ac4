"""A PyGithub client with the retry policy the bot needs, and token redaction.

Retries: GETs and other idempotent requests are retried on 5xx; a rejected request (403/429
rate limit, with ``retry-after`` or a rate-limit message) is retried whatever its method,
because GitHub did nothing with it. A POST that failed with 5xx is never retried here: GitHub
may have acted on it, so the caller looks before it tries again.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from github import Auth, Github, GithubException, GithubRetry

from bot import __version__

DEFAULT_API_URL = "https://api.github.com"
# GitHub asks for at least a second between content-creating requests (secondary rate limits).
THROTTLE_ENV = "CONTAINER_BP_GITHUB_THROTTLE"
REJECTED = frozenset({403, 429})


class BotRetry(GithubRetry):
    """PyGithub's rate-limit-aware retry, minus blind re-sends of non-idempotent POSTs."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code not in REJECTED:
            return False
        return bool(super().is_retry(method, status_code, has_retry_after))


def make_retry(max_wait: float = 600.0) -> BotRetry:
    return BotRetry(
        total=4,
        backoff_factor=0.5,
        secondary_rate_wait=60,
        max_rate_limit_wait=max_wait,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"}),
        raise_on_status=False,
    )


def throttled() -> bool:
    return os.environ.get(THROTTLE_ENV, "1").strip().lower() not in ("0", "false", "no")


def connect(api_url: str, token: str, *, timeout: int = 30) -> Github:
    """A client for ``api_url`` (github.com, GitHub Enterprise Server or any double)."""
    install_redaction(token)
    pace: dict[str, Any] = (
        {} if throttled() else {"seconds_between_requests": None, "seconds_between_writes": None}
    )
    return Github(
        base_url=api_url.rstrip("/") or DEFAULT_API_URL,
        auth=Auth.Token(token),
        retry=make_retry(),
        timeout=timeout,
        per_page=100,
        user_agent=f"container-bp/{__version__}",
        **pace,
    )


class ApiFailure(Exception):
    """A GitHub call that failed, described without anything secret."""

    def __init__(self, what: str, status: int | None, message: str) -> None:
        super().__init__(f"{what}: {status or 'error'} {message}".strip())
        self.what = what
        self.status = status


def describe(exc: Exception) -> tuple[int | None, str]:
    """Status and GitHub's message of a failed call (never request headers)."""
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            details = [e.get("message") or e.get("code") for e in errors if isinstance(e, dict)]
            message += " (" + "; ".join(str(d) for d in details if d) + ")"
        return exc.status, redact(message)
    return None, redact(f"{type(exc).__name__}: {exc}")


def failure(what: str, exc: Exception) -> ApiFailure:
    status, message = describe(exc)
    return ApiFailure(what, status, message)


_SECRETS: set[str] = set()


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = redact(record.getMessage())
            record.args = None
        return True


_FILTER = _RedactingFilter()


def install_redaction(secret: str) -> None:
    """Keep ``secret`` out of every log record from here on (handlers of any logger)."""
    if len(secret) >= 4:
        _SECRETS.add(secret)
    root = logging.getLogger()
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    for name in ("github", "urllib3", "bot", "fixers"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def get_all(gh: Github, url: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Every item of a paginated list, as plain JSON, following ``Link: rel="next"``.

    Plain JSON on purpose: PyGithub objects fetch themselves again when an attribute the
    list left out is read (``raw_data`` too), one request per item."""
    items: list[Any] = []
    next_url: str | None = url
    query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
    while next_url:
        headers, data = gh.requester.requestJsonAndCheck("GET", next_url, parameters=query)
        items += data if isinstance(data, list) else []
        next_url, query = _next_link(headers.get("link", "")), None
    return items


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        target, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return target.strip().strip("<>")
    return None
