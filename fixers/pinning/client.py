"""A small, careful client for the OCI distribution API: manifest digests and tag lists.

- Every manifest request sends all four manifest types in ``Accept`` so that a multi-arch
  image answers with its index / manifest list (CNCF Distribution answers a manifest list
  asked for with single-manifest types only with the amd64 child: a silently wrong pin).
- ``HEAD`` first (Docker Hub does not count HEADs against the pull limit); ``GET`` only when
  the registry sends no ``Docker-Content-Digest``, and then the digest is the sha256 of the
  exact body bytes (a header that disagrees with the body is an error).
- Plain HTTP only for loopback hosts and hosts listed as insecure; HTTPS everywhere else.
- Retries on 429, 5xx and connection errors with exponential backoff, honouring
  ``Retry-After`` (seconds or HTTP date) up to a cap; a per-request timeout (not retried); a
  total time budget after which every request fails with "time budget exhausted"; at most
  ``concurrency`` requests in flight.

Failures are :class:`RegistryError` subclasses whose message is safe to show: it never holds
credentials or tokens.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import ipaddress
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from fixers.pinning.auth import (
    Challenge,
    Credentials,
    normalize_host,
    parse_token_response,
    parse_www_authenticate,
    select_challenge,
    token_scope,
)
from fixers.pinning.model import api_host

log = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, OCI_MANIFEST})
ACCEPT_MANIFESTS = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, OCI_MANIFEST))

_DIGEST = re.compile(r"^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
USER_AGENT = "container-bp-pinning/0.1"
# Less budget than this left: starting another request is pointless.
_MIN_USEFUL_TIME = 0.01


class RegistryError(Exception):
    """A lookup failed; ``str()`` is a message fit for ``Resolution.error``."""


class NotFoundError(RegistryError):
    pass


class UnauthorizedError(RegistryError):
    pass


class BadResponseError(RegistryError):
    pass


class RequestTimeoutError(RegistryError):
    pass


class UnavailableError(RegistryError):
    """Still 429/5xx or unreachable after the retries."""


class BudgetExhaustedError(RegistryError):
    def __init__(self) -> None:
        super().__init__("time budget exhausted")


@dataclass(frozen=True)
class ManifestDigest:
    digest: str
    media_type: str

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


@dataclass
class RequestStats:
    """HTTP requests actually sent (every attempt counts), by kind: ``manifest_head``,
    ``manifest_get``, ``tags_list``, ``token``; ``retries`` counts the waits between
    attempts."""

    counts: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    def add(self, kind: str) -> None:
        self.counts[kind] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def split_host(host: str) -> tuple[str, int | None]:
    """``host[:port]`` / ``[v6][:port]`` -> (name, port)."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[1:end], host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, int(port) if port.isdigit() else None
    return host, None


def is_loopback(host: str) -> bool:
    name, _ = split_host(host)
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def uses_plain_http(host: str, insecure_registries: Iterable[str] = ()) -> bool:
    """Loopback hosts, and hosts listed as insecure (an entry without a port covers every
    port of that host)."""
    if is_loopback(host):
        return True
    host = host.lower()
    name, _ = split_host(host)
    for entry in insecure_registries:
        entry = entry.strip().lower()
        if entry == host:
            return True
        entry_name, entry_port = split_host(entry)
        if entry_port is None and entry_name == name:
            return True
    return False


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait for a ``Retry-After`` value (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _media_type(resp: httpx.Response) -> str:
    value: str = resp.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


class RegistryClient:
    """One run's connection pool, auth state, time budget and request counters.

    Use as ``async with RegistryClient(...) as client``. ``host`` arguments are canonical
    registry hosts (``docker.io`` for Docker Hub; requests go to ``registry-1.docker.io``).
    """

    def __init__(
        self,
        *,
        credentials: Mapping[str, Credentials] | None = None,
        insecure_registries: Iterable[str] = (),
        timeout: float = 10.0,
        budget: float | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_retry_after: float = 30.0,
        concurrency: int = 8,
        stats: RequestStats | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = {normalize_host(k): v for k, v in (credentials or {}).items()}
        self._insecure = tuple(insecure_registries)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._sem = asyncio.Semaphore(concurrency)
        self._sleep = sleep or asyncio.sleep
        self._clock = clock
        self._deadline = None if budget is None else clock() + budget
        self.stats = stats if stats is not None else RequestStats()
        self._auth: dict[tuple[str, str], str] = {}
        self._challenges: dict[str, Challenge] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._secrets: set[str] = set()
        for creds in self._credentials.values():
            self._remember_secret(creds.password)
            self._remember_secret(creds.basic_header())
        self._http = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,  # httpx drops Authorization when leaving the origin
            # Never send loopback traffic through a proxy from the environment.
            mounts={"all://localhost": None, "all://127.0.0.1": None, "all://[::1]": None},
        )

    def __repr__(self) -> str:
        return f"RegistryClient(hosts_with_credentials={sorted(self._credentials)!r})"

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- public API --------------------------------------------------------------------

    def budget_left(self) -> float | None:
        return None if self._deadline is None else self._deadline - self._clock()

    def redact(self, text: str) -> str:
        """``text`` with every credential and token this client has seen masked."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
        return text

    def base_url(self, host: str) -> str:
        scheme = "http" if uses_plain_http(host, self._insecure) else "https"
        return f"{scheme}://{api_host(host)}"

    async def manifest_digest(self, host: str, repository: str, reference: str) -> ManifestDigest:
        """The digest of what ``reference`` (a tag or digest) points to: the index for
        multi-arch images."""
        sep = "@" if ":" in reference else ":"
        where = f"{host}/{repository}{sep}{reference}"
        url = f"{self.base_url(host)}/v2/{repository}/manifests/{reference}"
        headers = {"Accept": ACCEPT_MANIFESTS}
        resp = await self._request("HEAD", host, repository, url, headers, "manifest_head")
        if resp.status_code != 405:  # 405: HEAD not supported, use GET
            self._check_status(resp, where)
            media = _media_type(resp)
            if media and media not in MANIFEST_TYPES:
                raise BadResponseError(f"bad response: {where} has content type {media!r}")
            digest = resp.headers.get("docker-content-digest", "").strip()
            if media and digest:
                if not _DIGEST.match(digest):
                    raise BadResponseError(f"bad response: {where} has a malformed digest header")
                return ManifestDigest(digest, media)
        resp = await self._request("GET", host, repository, url, headers, "manifest_get")
        self._check_status(resp, where)
        return self._digest_from_body(resp, where)

    async def list_tags(
        self, host: str, repository: str, *, page_size: int | None = None, max_pages: int = 200
    ) -> list[str]:
        """All tags of a repository, following ``Link: <...>; rel="next"`` pages."""
        where = f"{host}/{repository}"
        url = f"{self.base_url(host)}/v2/{repository}/tags/list"
        if page_size:
            url += f"?n={page_size}"
        origin = urlsplit(url)[:2]
        seen = {url}
        tags: list[str] = []
        headers = {"Accept": "application/json"}
        for _ in range(max_pages):
            resp = await self._request("GET", host, repository, url, headers, "tags_list")
            self._check_status(resp, where)
            try:
                data = json.loads(resp.content)
            except ValueError:
                raise BadResponseError(
                    f"bad response: tag list of {where} is not valid JSON"
                ) from None
            page = data.get("tags") if isinstance(data, dict) else None
            if not isinstance(data, dict) or not isinstance(page or [], list):
                raise BadResponseError(f"bad response: tag list of {where} has no tag array")
            if not all(isinstance(t, str) for t in page or []):
                raise BadResponseError(f"bad response: tag list of {where} holds non-strings")
            tags.extend(page or [])
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                return tags
            url = urljoin(str(resp.url), nxt)
            if urlsplit(url)[:2] != origin:
                raise BadResponseError(f"bad response: tag list of {where} links off-registry")
            if url in seen:
                raise BadResponseError(f"bad response: tag list of {where} links in a loop")
            seen.add(url)
        raise BadResponseError(f"bad response: tag list of {where} has over {max_pages} pages")

    # ---- status and body checks --------------------------------------------------------

    def _check_status(self, resp: httpx.Response, where: str) -> None:
        status = resp.status_code
        if status == 200:
            return
        if status == 404:
            raise NotFoundError(f"not found: {where}")
        if status in (401, 403):
            raise UnauthorizedError(f"unauthorized: access to {where} denied (HTTP {status})")
        raise BadResponseError(f"bad response: HTTP {status} for {where}")

    def _digest_from_body(self, resp: httpx.Response, where: str) -> ManifestDigest:
        body = resp.content
        media = _media_type(resp)
        if media not in MANIFEST_TYPES:
            raise BadResponseError(f"bad response: {where} has content type {media or 'none'!r}")
        try:
            doc = json.loads(body)
        except ValueError:
            raise BadResponseError(f"bad response: manifest of {where} is not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
            raise BadResponseError(f"bad response: manifest of {where} is not schema version 2")
        declared = doc.get("mediaType")
        if isinstance(declared, str) and declared and declared != media:
            raise BadResponseError(
                f"bad response: {where} was sent as {media!r} but its body says {declared!r}"
            )
        sha256 = "sha256:" + hashlib.sha256(body).hexdigest()
        header = resp.headers.get("docker-content-digest", "").strip()
        if not header:
            return ManifestDigest(sha256, media)
        if not _DIGEST.match(header):
            raise BadResponseError(f"bad response: {where} has a malformed digest header")
        actual = (
            sha256 if header.startswith("sha256:") else "sha512:" + hashlib.sha512(body).hexdigest()
        )
        if actual != header:
            raise BadResponseError(
                f"bad response: digest header of {where} ({header}) does not match "
                f"the manifest body ({actual})"
            )
        return ManifestDigest(header, media)

    # ---- auth --------------------------------------------------------------------------

    def _remember_secret(self, secret: str) -> None:
        if len(secret) >= 3:
            self._secrets.add(secret)
            if secret.startswith(("Basic ", "Bearer ")):
                self._secrets.add(secret.split(" ", 1)[1])

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _known_authorization(self, host: str, repository: str) -> str | None:
        """The Authorization value for a repository, fetched ahead of time when the host has
        already challenged us (saves a 401 round trip per repository)."""
        key = (host, repository)
        if key in self._auth or host not in self._challenges:
            return self._auth.get(key)
        async with self._lock(key):
            if key not in self._auth:
                self._auth[key] = await self._authorize(host, repository, self._challenges[host])
            return self._auth[key]

    async def _authorize(self, host: str, repository: str, challenge: Challenge) -> str:
        creds = self._credentials.get(host)
        if challenge.scheme == "basic":
            if creds is None:
                raise UnauthorizedError(
                    f"unauthorized: {host} requires credentials and none are configured"
                )
            return creds.basic_header()
        token = await self._fetch_token(host, repository, challenge, creds)
        value = f"Bearer {token}"
        self._remember_secret(value)
        return value

    async def _fetch_token(
        self, host: str, repository: str, challenge: Challenge, creds: Credentials | None
    ) -> str:
        realm = challenge.realm or ""
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UnauthorizedError(f"unauthorized: {host} names no usable token realm")
        if parts.scheme == "http" and not uses_plain_http(parts.netloc, self._insecure):
            raise UnauthorizedError(
                f"unauthorized: {host} asks for a token over plain HTTP; refused"
            )
        params = {"scope": token_scope(repository)}
        if challenge.service:
            params["service"] = challenge.service
        headers = {"Authorization": creds.basic_header()} if creds else {}
        resp = await self._send("GET", realm, headers, "token", params)
        who = "the credentials" if creds else "anonymous access"
        if resp.status_code in (401, 403):
            raise UnauthorizedError(
                f"unauthorized: the token server of {host} refused {who} (HTTP {resp.status_code})"
            )
        if resp.status_code != 200:
            raise BadResponseError(
                f"bad response: the token server of {host} answered HTTP {resp.status_code}"
            )
        token = parse_token_response(resp.content)
        if token is None:
            raise BadResponseError(f"bad response: the token server of {host} sent no token")
        self._remember_secret(token)
        return token

    async def _request(
        self,
        method: str,
        host: str,
        repository: str,
        url: str,
        headers: Mapping[str, str],
        kind: str,
    ) -> httpx.Response:
        """One registry request, authenticating on a 401 challenge and trying once more."""
        sent = await self._known_authorization(host, repository)
        resp = await self._send(method, url, _with_auth(headers, sent), kind)
        if resp.status_code != 401:
            return resp
        values = resp.headers.get_list("www-authenticate")
        challenge = select_challenge(parse_www_authenticate(values))
        if challenge is None:
            raise UnauthorizedError(f"unauthorized: {host} answered 401 without a usable challenge")
        key = (host, repository)
        async with self._lock(key):
            current = self._auth.get(key)
            if current is None or current == sent:
                self._challenges[host] = challenge
                current = await self._authorize(host, repository, challenge)
                if current == sent:
                    raise UnauthorizedError(f"unauthorized: {host} rejected the credentials")
                self._auth[key] = current
        resp = await self._send(method, url, _with_auth(headers, current), kind)
        if resp.status_code == 401:
            if challenge.scheme == "basic":
                raise UnauthorizedError(f"unauthorized: {host} rejected the credentials")
            hint = "" if host in self._credentials else "; no credentials are configured"
            raise UnauthorizedError(
                f"unauthorized: {host} denied pull access to {repository} "
                f"(it may not exist, or needs other credentials{hint})"
            )
        return resp

    # ---- transport: budget, timeout, retries -------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        kind: str,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        where = urlsplit(url).netloc
        attempt = 0
        while True:
            resp: httpx.Response | None = None
            failure = ""
            async with self._sem:
                left = self.budget_left()
                if left is not None and left <= _MIN_USEFUL_TIME:
                    raise BudgetExhaustedError()
                limit = self._timeout if left is None else min(self._timeout, left)
                by_budget = left is not None and left < self._timeout
                self.stats.add(kind)
                try:
                    async with asyncio.timeout(limit):
                        resp = await self._http.request(
                            method, url, headers=headers, params=params, timeout=limit
                        )
                except (TimeoutError, httpx.TimeoutException) as exc:
                    if by_budget:
                        raise BudgetExhaustedError() from None
                    if not isinstance(exc, httpx.ConnectTimeout):
                        log.debug("%s %s: timeout after %gs", method, url, limit)
                        raise RequestTimeoutError(
                            f"timeout: {where} did not answer within {limit:g}s"
                        ) from None
                    failure = "connection timed out"
                except httpx.TransportError as exc:
                    failure = f"connection failed ({self.redact(str(exc)) or type(exc).__name__})"
            if resp is not None:
                log.debug("%s %s -> %d", method, url, resp.status_code)
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp
                failure = f"HTTP {resp.status_code}"
            else:
                log.debug("%s %s: %s", method, url, failure)
            if attempt >= self._retries:
                raise UnavailableError(
                    f"unavailable: {where}: {failure} after {attempt + 1} attempts"
                )
            delay = min(self._backoff * 2**attempt, self._max_backoff)
            if resp is not None:
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                if retry_after is not None:
                    delay = min(retry_after, self._max_retry_after)
            left = self.budget_left()
            if left is not None and delay >= left:
                raise BudgetExhaustedError()
            self.stats.retries += 1
            await self._sleep(delay)
            attempt += 1


def _with_auth(headers: Mapping[str, str], authorization: str | None) -> dict[str, str]:
    out = dict(headers)
    if authorization:
        out["Authorization"] = authorization
    return out
