"""The bot's GitHub client: what is sent again, rate-limit waits, error text and redaction."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from github import Github, GithubException
from github.GithubException import RateLimitExceededExceedsMaxWait, RateLimitExceededException
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError

from bot.github import client as client_module
from bot.github.client import (
    BotRetry,
    connect,
    describe,
    failure,
    install_redaction,
    is_rate_limited,
    make_retry,
)
from tests.github_double import GitHubDouble
from tests.github_double import server as double_server

REPO = "acme/shop"
BLOBS = f"/repos/{REPO}/git/blobs"
BLOB = {"content": "hello", "encoding": "utf-8"}


def quick(**kwargs: Any) -> BotRetry:
    """The bot's policy with waits short enough for a test."""
    return make_retry(**{"max_wait": 2.0, "secondary_wait": 0.0, "backoff_factor": 0.0, **kwargs})


@pytest.fixture
def github() -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        double.create_repo("acme", "shop", {"Dockerfile": b"FROM python:3.12-slim\n"})
        yield double


def gh_for(double: GitHubDouble, retry: BotRetry, token: str | None = None, **kw: Any) -> Github:
    return connect(double.base_url, token or double.token, retry=retry, **kw)


def post_blob(gh: Github) -> Any:
    return gh.requester.requestJsonAndCheck("POST", BLOBS, input=BLOB)


# ------------------------------------------------------------ finding 1: no blind re-sends


def test_post_answered_late_is_sent_once_and_raises(
    github: GitHubDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = double_server.GitHubDouble.handle

    def late(self: GitHubDouble, method: str, raw_path: str, headers: Any, body: bytes) -> Any:
        out = original(self, method, raw_path, headers, body)  # GitHub acts on the request...
        if method == "POST":
            time.sleep(1.5)  # ...but its answer arrives after the client gave up
        return out

    monkeypatch.setattr(double_server.GitHubDouble, "handle", late)
    gh = gh_for(github, quick(), timeout=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_blob(gh)
    assert github.count("POST", BLOBS) == 1


def test_get_answered_late_is_retried(
    github: GitHubDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = double_server.GitHubDouble.handle
    late_once = [True]

    def late(self: GitHubDouble, method: str, raw_path: str, headers: Any, body: bytes) -> Any:
        out = original(self, method, raw_path, headers, body)
        if method == "GET" and late_once:
            late_once.pop()
            time.sleep(1.5)
        return out

    monkeypatch.setattr(double_server.GitHubDouble, "handle", late)
    gh = gh_for(github, quick(), timeout=1)
    assert gh.get_repo(REPO).full_name == REPO
    assert github.count("GET", f"/repos/{REPO}") == 2


def test_post_502_is_not_retried(github: GitHubDouble) -> None:
    github.fail_next("POST", BLOBS, 502, after=True)
    with pytest.raises(GithubException) as caught:
        post_blob(gh_for(github, quick()))
    assert caught.value.status == 502
    assert github.count("POST", BLOBS) == 1


def test_get_502_is_retried(github: GitHubDouble) -> None:
    github.fail_next("GET", f"/repos/{REPO}", 502)
    assert gh_for(github, quick()).get_repo(REPO).full_name == REPO
    assert github.count("GET", f"/repos/{REPO}") == 2


def test_post_rate_limited_with_retry_after_is_retried_once(github: GitHubDouble) -> None:
    github.fail_next("POST", BLOBS, 403, retry_after=1)
    started = time.monotonic()
    _, data = post_blob(gh_for(github, quick()))
    assert time.monotonic() - started >= 0.9  # the Retry-After was honoured
    assert data["sha"]
    assert github.count("POST", BLOBS) == 2


def test_read_errors_end_a_post_but_not_an_idempotent_request() -> None:
    retry = make_retry()
    timeout = ReadTimeoutError(None, "/x", "Read timed out.")  # type: ignore[arg-type]
    reset = ProtocolError("Connection aborted.", ConnectionResetError())
    refused = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    for error in (timeout, reset):
        with pytest.raises(type(error)):
            retry.increment("POST", "/x", error=error)
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            assert retry.increment(method, "/x", error=error).total == 3
    # A failed connect proves the request never left: that one is safe to send again.
    assert retry.increment("POST", "/x", error=refused).total == 3


# ------------------------------------------------------------ finding 12: rate limit or permission


@pytest.mark.parametrize("retry_after", [0, None])
def test_exhausted_rate_limit_keeps_its_message(
    github: GitHubDouble, retry_after: int | None
) -> None:
    github.fail_next("POST", BLOBS, 403, times=10, retry_after=retry_after)
    with pytest.raises(GithubException) as caught:
        post_blob(gh_for(github, quick(total=2)))
    assert isinstance(caught.value, RateLimitExceededException)
    assert is_rate_limited(caught.value)
    assert "secondary rate limit" in describe(caught.value)[1]
    assert github.count("POST", BLOBS) == 3


def test_read_only_token_is_not_a_rate_limit(github: GitHubDouble) -> None:
    github.add_token("ghs_readonly0123456789", read_only=True)
    with pytest.raises(GithubException) as caught:
        post_blob(gh_for(github, quick(), token="ghs_readonly0123456789"))
    assert caught.value.status == 403
    assert not is_rate_limited(caught.value)
    assert describe(caught.value) == (403, "Resource not accessible by integration")
    assert github.count("POST", BLOBS) == 1


def test_is_rate_limited_reads_message_and_headers() -> None:
    denied = {"message": "Resource not accessible by integration"}
    assert not is_rate_limited(GithubException(403, denied, {"x-ratelimit-remaining": "4999"}))
    assert is_rate_limited(GithubException(403, denied, {"Retry-After": "30"}))
    assert is_rate_limited(GithubException(403, denied, {"X-RateLimit-Remaining": "0"}))
    assert is_rate_limited(GithubException(429, {"message": "API rate limit exceeded"}, {}))
    assert not is_rate_limited(GithubException(404, {"message": "Not Found"}, {"retry-after": "1"}))


# ------------------------------------------------------------ finding 13: string errors


def test_describe_keeps_string_errors() -> None:
    line = "Pull request review thread line must be part of the diff"
    exc = GithubException(422, {"message": "Unprocessable Entity", "errors": [line]})
    assert describe(exc) == (422, f"Unprocessable Entity ({line})")
    mixed = {"message": "Validation Failed", "errors": [{"code": "invalid"}, "too long", {}]}
    assert describe(GithubException(422, mixed)) == (422, "Validation Failed (invalid; too long)")
    assert describe(GithubException(422, {"message": "No", "errors": []})) == (422, "No")


def test_review_422_from_the_double_says_why(github: GitHubDouble) -> None:
    github.commit_files("acme", "shop", "feature", {"Dockerfile": b"FROM python:3.12\n"})
    gh = gh_for(github, quick())
    number = gh.get_repo(REPO).create_pull(base="main", head="feature", title="t").number
    with pytest.raises(GithubException) as caught:
        gh.requester.requestJsonAndCheck(
            "POST", f"/repos/{REPO}/pulls/{number}/reviews", input={"event": "COMMENT"}
        )
    assert str(failure("review", caught.value)) == (
        "review: 422 Unprocessable Entity (Body can't be blank)"
    )


# ------------------------------------------------------------ finding 14: bounded waits


def test_retry_after_beyond_the_cap_raises_at_once(github: GitHubDouble) -> None:
    github.fail_next("POST", BLOBS, 403, retry_after=3600)
    started = time.monotonic()
    with pytest.raises(RateLimitExceededExceedsMaxWait) as caught:
        post_blob(gh_for(github, quick(max_wait=2.0)))
    assert time.monotonic() - started < 2
    assert caught.value.wait == 3600
    assert is_rate_limited(caught.value) and "secondary rate limit" in describe(caught.value)[1]
    assert github.count("POST", BLOBS) == 1


def test_server_error_retry_after_beyond_the_cap_is_not_waited(github: GitHubDouble) -> None:
    github.fail_next("GET", f"/repos/{REPO}", 503, retry_after=3600)
    started = time.monotonic()
    with pytest.raises(GithubException) as caught:
        gh_for(github, quick(max_wait=2.0)).get_repo(REPO)
    assert time.monotonic() - started < 2
    assert caught.value.status == 503
    assert github.count("GET", f"/repos/{REPO}") == 1


def test_429_without_retry_after_waits_like_a_secondary_limit(github: GitHubDouble) -> None:
    github.fail_next("POST", BLOBS, 429)
    started = time.monotonic()
    post_blob(gh_for(github, quick(secondary_wait=1.0)))
    assert time.monotonic() - started >= 0.9
    assert github.count("POST", BLOBS) == 2
    # A secondary wait above the cap is not waited for at all.
    github.fail_next("POST", BLOBS, 429)
    with pytest.raises(RateLimitExceededExceedsMaxWait) as caught:
        post_blob(gh_for(github, make_retry(max_wait=2.0)))
    assert caught.value.wait == 60 and caught.value.status == 429
    assert github.count("POST", BLOBS) == 3


def test_primary_limit_waits_for_the_reset_or_raises() -> None:
    with GitHubDouble(rate_limit=1) as double:
        double.create_repo("acme", "shop", {})
        gh = gh_for(double, quick(max_wait=600.0))
        gh.get_repo(REPO)
        started = time.monotonic()
        with pytest.raises(RateLimitExceededExceedsMaxWait) as caught:
            gh.get_repo(REPO)  # the double resets in an hour
        assert time.monotonic() - started < 2
        assert is_rate_limited(caught.value)
        assert caught.value.wait is not None and caught.value.wait > 600


def test_make_retry_defaults_are_unchanged() -> None:
    retry = make_retry()
    assert (retry.total, retry.backoff_factor) == (4, 0.5)
    assert (retry.secondary_rate_wait, retry.max_rate_limit_wait) == (60, 600.0)
    assert retry.raise_on_status is False


# ------------------------------------------------------------ finding 15: redaction everywhere


def test_redaction_covers_child_loggers_later_handlers_and_args() -> None:
    secret = "ghs_secretRedactionTest0123456789"
    saved_factory = logging.getLogRecordFactory()
    install_redaction(secret)
    logger = logging.getLogger("github.Requester")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added after install_redaction
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    saved_level, saved_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug(f"Authorization: token {secret}")
        logger.info("token %s", secret)
        logger.warning("%s and %d", secret)  # a broken format string still gets redacted
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
        logger.propagate = saved_propagate
        logging.setLogRecordFactory(saved_factory)
        client_module._SECRETS.discard(secret)
    text = stream.getvalue()
    assert secret not in text
    assert text.count("***") >= 4 and "RuntimeError" in text


def test_redaction_is_installed_once() -> None:
    saved_factory = logging.getLogRecordFactory()
    try:
        install_redaction("ghs_onceA0123456789")
        factory = logging.getLogRecordFactory()
        install_redaction("ghs_onceB0123456789")
        assert logging.getLogRecordFactory() is factory
    finally:
        logging.setLogRecordFactory(saved_factory)
        client_module._SECRETS.difference_update({"ghs_onceA0123456789", "ghs_onceB0123456789"})
