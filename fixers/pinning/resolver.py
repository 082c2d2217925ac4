"""Resolve image references to ``tag@index-digest`` pins against their registries.

The only place in the project that talks to registries. Per run (one ``resolve_many`` call):
every unique ``registry/repository:tag`` is resolved once; results are cached in memory and,
optionally, in a JSON file with a TTL. ``latest`` (or no tag) is turned into the most
specific version tag of the same variant that has the same digest, found by listing the
tags and HEADing at most ``max_tag_lookups`` candidates, newest first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fixers.images import ImageRef
from fixers.pinning.auth import Credentials, load_credentials
from fixers.pinning.client import (
    BudgetExhaustedError,
    ManifestDigest,
    NotFoundError,
    RegistryClient,
    RegistryError,
    RequestStats,
    RequestTimeoutError,
    UnavailableError,
)
from fixers.pinning.model import (
    Resolution,
    Resolver,
    needs_resolution,
    registry_host,
    repository,
    resolution_key,
)

log = logging.getLogger(__name__)

OFFLINE_ENV = "CONTAINER_BP_OFFLINE"
OFFLINE_ERROR = "offline: not resolved"
CACHE_VERSION = 1

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(.*)$")


def floating_variant(tag: str | None) -> str | None:
    """The variant suffix of a moving "latest" tag (``""`` for ``latest`` or no tag,
    ``"-slim"`` for ``latest-slim``); None for any other tag, which is pinned as written."""
    if tag is None or tag == "latest":
        return ""
    if tag.startswith("latest-") and len(tag) > len("latest-"):
        return tag[len("latest") :]
    return None


def version_candidates(tags: Iterable[str], variant: str) -> list[str]:
    """Version tags of exactly this variant (``3.12.7``, ``3.12``, ``v3`` for ``""``;
    ``3.12.7-slim`` for ``"-slim"``, but not ``3.12.7-slim-bookworm``), newest and most
    specific first: ``3.13 > 3.12.7 > 3.12 > 3.11.10 > 3``."""
    found: list[tuple[tuple[int, ...], bool, str]] = []
    for tag in set(tags):
        m = _VERSION.match(tag)
        if m is None or m.group(2) != variant:
            continue
        version = tuple(int(part) for part in m.group(1).split("."))
        found.append((version, not tag.startswith("v"), tag))
    found.sort(reverse=True)
    return [tag for _, _, tag in found]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class RegistryResolver(Resolver):
    """Resolves against the real registries. Counters: ``stats`` (all HTTP requests sent, by
    kind, over the resolver's life), ``last_stats`` (the last run), ``lookups`` (how often
    each key was resolved over the network: once per run at most) and ``cache_hits``."""

    def __init__(
        self,
        *,
        offline: bool | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        cache_ttl: float = 6 * 3600.0,
        credentials: Mapping[str, Credentials] | None = None,
        insecure_registries: Iterable[str] = (),
        timeout: float = 10.0,
        budget: float | None = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_retry_after: float = 30.0,
        concurrency: int = 8,
        max_tag_lookups: int = 30,
        tags_page_size: int | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.offline = _truthy(env.get(OFFLINE_ENV)) if offline is None else offline
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.cache_ttl = cache_ttl
        self._credentials = dict(credentials) if credentials is not None else None
        self._environ = env
        self._client_options: dict[str, Any] = {
            "insecure_registries": tuple(insecure_registries),
            "timeout": timeout,
            "budget": budget,
            "retries": retries,
            "backoff": backoff,
            "max_backoff": max_backoff,
            "max_retry_after": max_retry_after,
            "concurrency": concurrency,
            "sleep": sleep,
        }
        self.max_tag_lookups = max_tag_lookups
        self.tags_page_size = tags_page_size
        self.stats = RequestStats()
        self.last_stats = RequestStats()
        self.lookups: Counter[str] = Counter()
        self.cache_hits = 0
        self._memory: dict[str, tuple[Resolution, float]] = {}
        self._disk_loaded = False

    def __repr__(self) -> str:
        return f"RegistryResolver(offline={self.offline}, cache_path={self.cache_path})"

    async def resolve_many(self, images: Iterable[ImageRef]) -> dict[str, Resolution]:
        wanted: dict[str, ImageRef] = {}
        for image in images:
            if needs_resolution(image):
                wanted.setdefault(resolution_key(image), image)
        if self.offline:
            return {key: Resolution(key, error=OFFLINE_ERROR) for key in wanted}
        results: dict[str, Resolution] = {}
        todo: dict[str, ImageRef] = {}
        now = time.time()
        for key, image in wanted.items():
            cached = self._cached(key, now)
            if cached is not None:
                results[key] = cached
                self.cache_hits += 1
            else:
                todo[key] = image
        self.last_stats = RequestStats()
        if todo:
            credentials = self._credentials
            if credentials is None:
                credentials = load_credentials(self._environ)
            async with RegistryClient(
                credentials=credentials, stats=self.last_stats, **self._client_options
            ) as client:
                run = _Run(client, self.max_tag_lookups, self.tags_page_size)
                resolved = await asyncio.gather(*(run.resolve(k, i) for k, i in todo.items()))
            self.stats.counts.update(self.last_stats.counts)
            self.stats.retries += self.last_stats.retries
            fresh: dict[str, Resolution] = {}
            stored_at = time.time()
            for res in resolved:
                results[res.key] = res
                self.lookups[res.key] += 1
                if res.ok:
                    self._memory[res.key] = (res, stored_at)
                    fresh[res.key] = res
            if fresh and self.cache_path is not None:
                self._save(fresh, stored_at)
        return {key: results[key] for key in wanted}

    # ---- cache -------------------------------------------------------------------------

    def _cached(self, key: str, now: float) -> Resolution | None:
        if not self._disk_loaded:
            self._disk_loaded = True
            for k, (res, at) in self._read_disk().items():
                if k not in self._memory or self._memory[k][1] < at:
                    self._memory[k] = (res, at)
        entry = self._memory.get(key)
        if entry is None or now - entry[1] >= self.cache_ttl:
            return None
        return entry[0]

    def _read_disk(self) -> dict[str, tuple[Resolution, float]]:
        if self.cache_path is None or not self.cache_path.is_file():
            return {}
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable resolver cache %s", self.cache_path)
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        entries = data.get("entries")
        out: dict[str, tuple[Resolution, float]] = {}
        for key, e in (entries if isinstance(entries, dict) else {}).items():
            if not isinstance(e, dict):
                continue
            digest, tag, note, at = e.get("digest"), e.get("tag"), e.get("note"), e.get("at")
            if not (isinstance(digest, str) and isinstance(tag, str)):
                continue
            if not isinstance(at, int | float) or (note is not None and not isinstance(note, str)):
                continue
            out[key] = (Resolution(key, digest=digest, tag=tag, note=note), float(at))
        return out

    def _save(self, fresh: Mapping[str, Resolution], stored_at: float) -> None:
        assert self.cache_path is not None
        now = time.time()
        entries = {
            k: {"digest": r.digest, "tag": r.tag, "note": r.note, "at": at}
            for k, (r, at) in self._read_disk().items()
            if now - at < self.cache_ttl
        }
        for key, res in fresh.items():
            entries[key] = {"digest": res.digest, "tag": res.tag, "note": res.note, "at": stored_at}
        text = json.dumps({"version": CACHE_VERSION, "entries": entries}, indent=1, sort_keys=True)
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                dir=self.cache_path.parent, prefix=f".{self.cache_path.name}.", suffix=".tmp"
            )
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.cache_path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not write resolver cache %s: %s", self.cache_path, exc.strerror)


# Failures that say nothing about the image: the next run may well pin it.
TRANSIENT = (RequestTimeoutError, UnavailableError, BudgetExhaustedError)


class _Run:
    """State of one ``resolve_many`` call: shared lookups so no manifest or tag list is
    requested twice (``python`` and ``python:3.12.7`` share the HEAD of ``3.12.7``)."""

    def __init__(
        self, client: RegistryClient, max_tag_lookups: int, tags_page_size: int | None
    ) -> None:
        self.client = client
        self.max_tag_lookups = max_tag_lookups
        self.tags_page_size = tags_page_size
        self._manifests: dict[tuple[str, str, str], asyncio.Task[ManifestDigest]] = {}
        self._tags: dict[tuple[str, str], asyncio.Task[list[str]]] = {}

    async def manifest(self, host: str, repo: str, ref: str) -> ManifestDigest:
        key = (host, repo, ref)
        if key not in self._manifests:
            coro = self.client.manifest_digest(host, repo, ref)
            self._manifests[key] = asyncio.ensure_future(coro)
        return await self._manifests[key]

    async def tags(self, host: str, repo: str) -> list[str]:
        key = (host, repo)
        if key not in self._tags:
            coro = self.client.list_tags(host, repo, page_size=self.tags_page_size)
            self._tags[key] = asyncio.ensure_future(coro)
        return await self._tags[key]

    async def resolve(self, key: str, image: ImageRef) -> Resolution:
        """Never raises: every failure becomes ``Resolution.error``."""
        try:
            return await self._resolve(key, image)
        except RegistryError as exc:
            transient = isinstance(exc, TRANSIENT)
            return Resolution(key, error=self.client.redact(str(exc)), transient=transient)
        except Exception as exc:  # a bug must not abort the whole run
            log.warning("unexpected %s while resolving %s", type(exc).__name__, key)
            return Resolution(key, error=f"internal error: {type(exc).__name__}", transient=True)

    async def _resolve(self, key: str, image: ImageRef) -> Resolution:
        host, repo = registry_host(image), repository(image)
        tag = image.tag or "latest"
        found = await self.manifest(host, repo, tag)
        variant = floating_variant(image.tag)
        if variant is None:
            return Resolution(key, digest=found.digest, tag=tag)
        return await self._version_tag(key, host, repo, tag, variant, found.digest)

    async def _version_tag(
        self, key: str, host: str, repo: str, tag: str, variant: str, digest: str
    ) -> Resolution:
        candidates = version_candidates(await self.tags(host, repo), variant)
        checked = candidates[: self.max_tag_lookups]
        for candidate in checked:
            try:
                found = await self.manifest(host, repo, candidate)
            except NotFoundError:  # deleted since the listing
                continue
            except RegistryError as exc:
                reason = self.client.redact(str(exc))
                return Resolution(
                    key,
                    digest=digest,
                    tag=tag,
                    note=f"version tag search stopped ({reason}); pinned {tag}",
                )
            if found.digest == digest:
                return Resolution(key, digest=digest, tag=candidate, note=f"{tag} is {candidate}")
        note = f"no version tag shares {tag}'s digest; pinned {tag}"
        if len(candidates) > len(checked):
            note += f" (checked the {len(checked)} newest of {len(candidates)} version tags)"
        return Resolution(key, digest=digest, tag=tag, note=note)


def resolve_all(resolver: Resolver, images: Iterable[ImageRef]) -> dict[str, Resolution]:
    """``resolver.resolve_many`` from synchronous code (in a worker thread when an event loop
    is already running in this one)."""
    items = list(images)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(resolver.resolve_many(items))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(resolver.resolve_many(items))).result()
