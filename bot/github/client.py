"""A PyGithub client with the retry policy the bot needs, and token redaction.

Retries: GETs and other idempotent requests are retried on 5xx and on broken or slow answers.
A POST is sent again only when GitHub cannot have acted on it: the connection failed before
the request went out, or GitHub rejected it with a rate limit (403/429). A POST that failed
with 5xx, timed out or lost its connection is never sent again here: GitHub may have acted on
it, so the caller looks before it tries again.

Rate limits: a wait longer than ``max_rate_limit_wait`` (``Retry-After``, or the primary
limit's reset) is not waited for; the request fails at once with GitHub's answer instead.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait, RateLimitExceededException
from github.Requester import Requester
from urllib3 import Retry
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse

from bot import __version__

DEFAULT_API_URL = "https://api.github.com"
# GitHub asks for at least a second between content-creating requests (secondary rate limits).
THROTTLE_ENV = "CONTAINER_BP_GITHUB_THROTTLE"
REJECTED = frozenset({403, 429})
# Methods GitHub may act on twice: never re-sent once the request may have reached it.
NOT_IDEMPOTENT = frozenset({"POST"})


class BotRetry(GithubRetry):
    """PyGithub's rate-limit-aware retry, minus blind re-sends of non-idempotent POSTs.

    Giving up on a rate limit (retries used up, or a wait above ``max_rate_limit_wait``)
    raises :class:`RateLimitExceededException` with GitHub's body and headers."""

    # Set on the Retry that ``increment`` returns for a rate limit; ``new()`` starts at 0.
    _rate_wait: float = 0.0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() in NOT_IDEMPOTENT and status_code not in REJECTED:
            return False
        return bool(super().is_retry(method, status_code, has_retry_after))

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        if error is not None and not self._may_resend(method, error):
            raise error.with_traceback(_stacktrace)
        if response is not None and response.status in REJECTED:
            return self._rejected(method, url, response, _pool, _stacktrace)
        retry_after = self._retry_after(response) if response and response.status >= 400 else None
        if retry_after is not None and self._too_long(retry_after):
            # Sleeping less than asked only earns another refusal: hand back the answer.
            reason = ResponseError("Retry-After beyond max_rate_limit_wait")
            raise MaxRetryError(_pool, url or "", reason)  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)  # type: ignore[arg-type]

    def get_backoff_time(self) -> float:
        return max(self._rate_wait, super().get_backoff_time())

    def _may_resend(self, method: str | None, error: Exception) -> bool:
        # Only a failed connect proves the request never left; anything later may have landed.
        return (method or "").upper() not in NOT_IDEMPOTENT or self._is_connection_error(error)

    def _too_long(self, wait: float) -> bool:
        return self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait

    def _retry_after(self, response: BaseHTTPResponse | None) -> float | None:
        value = response.headers.get("Retry-After") if response is not None else None
        if value is None:
            return None
        try:
            return self.parse_retry_after(value)
        except Exception:
            return None

    def _rejected(
        self,
        method: str | None,
        url: str | None,
        response: BaseHTTPResponse,
        pool: ConnectionPool | None,
        stacktrace: TracebackType | None,
    ) -> Retry:
        """A 403/429: retry a rate limit after GitHub's wait, raise anything else."""
        headers = {k.lower(): v for k, v in response.headers.items()}
        body: Any = None
        wait = self._retry_after(response)
        if wait is None:
            body = _body(response, url)
            message = body.get("message") if isinstance(body, dict) else None
            primary = headers.get("x-ratelimit-remaining") == "0" or (
                isinstance(message, str) and Requester.isPrimaryRateLimitError(message)
            )
            if (
                response.status == 403
                and not primary
                and not (isinstance(message, str) and Requester.isRateLimitError(message))
            ):
                # Permissions, archived repository, blocked user: waiting changes nothing.
                if isinstance(body, dict):
                    raise Requester.createException(response.status, headers, body)
                raise GithubException(response.status, body, headers)
            wait = _reset_wait(headers) if primary else None
            wait = self.secondary_rate_wait if wait is None else wait
        if self._too_long(wait):
            raise RateLimitExceededExceedsMaxWait(
                response.status,
                body if body is not None else _body(response, url),
                headers,
                wait=wait,
            )
        try:
            retry = Retry.increment(self, method, url, response, None, pool, stacktrace)
        except MaxRetryError:
            raise RateLimitExceededException(
                response.status, body if body is not None else _body(response, url), headers
            ) from None
        assert isinstance(retry, BotRetry)
        # A Retry-After header is slept by urllib3 itself; this covers its absence.
        retry._rate_wait = wait
        return retry


def _body(response: BaseHTTPResponse, url: str | None) -> Any:
    """GitHub's decoded answer (reads the body: the response is spent afterwards)."""
    raw = GithubRetry.get_content(response, url or "")  # type: ignore[arg-type]
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace") or response.reason


def _reset_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until the primary limit resets (plus one: the reset second is not exact)."""
    value = headers.get("x-ratelimit-reset", "")
    if not value.isdigit():
        return None
    return max(int(value) - time.time(), 0.0) + 1


def make_retry(
    max_wait: float = 600.0,
    *,
    secondary_wait: float = 60.0,
    backoff_factor: float = 0.5,
    total: int = 4,
) -> BotRetry:
    """The bot's retry policy; ``max_wait`` caps any rate-limit wait (seconds)."""
    return BotRetry(
        total=total,
        backoff_factor=backoff_factor,
        secondary_rate_wait=secondary_wait,
        max_rate_limit_wait=max_wait,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"}),
        raise_on_status=False,
    )


def throttled() -> bool:
    return os.environ.get(THROTTLE_ENV, "1").strip().lower() not in ("0", "false", "no")


def connect(api_url: str, token: str, *, timeout: int = 30, retry: Retry | None = None) -> Github:
    """A client for ``api_url`` (github.com, GitHub Enterprise Server or any double)."""
    install_redaction(token)
    pace: dict[str, Any] = (
        {} if throttled() else {"seconds_between_requests": None, "seconds_between_writes": None}
    )
    return Github(
        base_url=api_url.rstrip("/") or DEFAULT_API_URL,
        auth=Auth.Token(token),
        retry=retry or make_retry(),
        timeout=timeout,
        per_page=100,
        user_agent=f"container-bp/{__version__}",
        **pace,
    )


def is_rate_limited(exc: GithubException) -> bool:
    """Whether GitHub refused ``exc``'s request for a rate limit (not for permissions)."""
    if isinstance(exc, RateLimitExceededException):
        return True
    if exc.status not in REJECTED:
        return False
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return (
        "rate limit" in message.lower()
        or "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
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
        if not data and isinstance(exc.data, str):
            message = exc.data
        errors = data.get("errors")
        if isinstance(errors, list):
            # GitHub gives objects ({"code", "message", ...}) or, for reviews, plain strings.
            details = [
                e.get("message") or e.get("code") if isinstance(e, dict) else e for e in errors
            ]
            found = [str(d) for d in details if d]
            if found:
                message += " (" + "; ".join(found) + ")"
        return exc.status, redact(message.strip())
    return None, redact(f"{type(exc).__name__}: {exc}")


def failure(what: str, exc: Exception) -> ApiFailure:
    status, message = describe(exc)
    return ApiFailure(what, status, message)


_SECRETS: set[str] = set()


def redact(text: str) -> str:
    # Longest first, so a secret that contains another is not left half-shown.
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep its parts, as logging would show them
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_factory: Callable[..., logging.LogRecord] | None = None


def install_redaction(secret: str) -> None:
    """Keep ``secret`` out of every log record from here on (any logger, any handler)."""
    global _factory
    if len(secret) >= 4:
        _SECRETS.add(secret)
    if _factory is not None and logging.getLogRecordFactory() is _factory:
        return
    # A record factory sees every record a logger makes, before any filter or handler,
    # including child loggers and handlers added later (logger filters see neither).
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _SECRETS:
            _redact_record(record)
        return record

    _factory = factory
    logging.setLogRecordFactory(factory)


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
