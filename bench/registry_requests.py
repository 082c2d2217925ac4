"""Registry requests: one lookup per unique image per run, not one per file x image.

Usage (from the repository root, with the dev venv)::

    .venv/bin/python bench/registry_requests.py

What it does:

1. copies ``fixtures/demo-repo`` into a temporary directory;
2. starts Debian's ``docker-registry`` (CNCF Distribution) on ``127.0.0.1:<free port>``;
3. finds every image reference in the copy with the product's own ``images_of`` over the
   parsed files, and rewrites each one textually from ``name[:tag]`` to
   ``127.0.0.1:PORT/<name without registry host>[:tag]`` (Dockerfile ``FROM``/``ARG`` lines,
   Kubernetes and compose ``image:`` lines), then re-parses the copy to check the rewrite;
4. pushes one OCI index per unique ``repository:tag`` (for ``latest``/untagged, also a
   version tag sharing latest's digest, so ``latest`` resolves to a version);
5. runs ``gather_facts(source, discover(source), Config(), resolver)`` with a
   ``RegistryResolver(environ={})``: cold, again with the same resolver, with a new resolver
   that writes a cache file, and with a new resolver that reads it;
6. runs the real CLI once: ``container-bp fix --diff COPY`` with ``CONTAINER_BP_OFFLINE=0``
   and counts the ``@sha256:`` pins in the diff.

Nothing leaves 127.0.0.1. This is a benchmark, not a test: it prints figures and asserts
nothing; it exits 2 when ``docker-registry`` is not installed or a sanity check fails.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tables import table  # noqa: E402

from bot import cli  # noqa: E402
from fixers.config import Config  # noqa: E402
from fixers.discover import sniff_yaml  # noqa: E402
from fixers.engine import KINDS  # noqa: E402
from fixers.images import ImageRef  # noqa: E402
from fixers.kinds import images_of  # noqa: E402
from fixers.pinning.model import Resolution, needs_resolution, resolution_key  # noqa: E402
from fixers.pinning.resolver import OFFLINE_ENV, RegistryResolver, floating_variant  # noqa: E402
from fixers.run import discover, gather_facts  # noqa: E402
from fixers.source import LocalSource, Source, Unreadable  # noqa: E402

REGISTRY_BIN = "/usr/bin/docker-registry"
DEMO = ROOT / "fixtures" / "demo-repo"
REQUEST_KINDS = ("manifest_head", "manifest_get", "tags_list", "token")


class BenchError(Exception):
    """A sanity check failed: the figures would mean nothing."""


# ---- finding and rewriting image references ----------------------------------------------


@dataclass
class FileImages:
    path: str
    kind: str  # dockerfile, k8s, compose (after sniffing YAML)
    images: list[ImageRef]


def scan_images(source: Source, targets: list[tuple[str, str]]) -> list[FileImages]:
    """The image references of every target, as ``gather_facts`` finds them."""
    out = []
    for path, kind_name in targets:
        try:
            text = source.read_text(path)
            name = sniff_yaml(path, text) if kind_name == "yaml" else kind_name
            if name is None:
                continue
            kind = KINDS[name]
            out.append(FileImages(path, name, images_of(kind, kind.parse(text))))
        except (OSError, Unreadable, ValueError):
            continue
    return out


def local_ref(image: ImageRef, host: str) -> str:
    """``name[:tag][@digest]`` moved to the local registry: ``python:3.12`` ->
    ``127.0.0.1:PORT/python:3.12``, ``registry.example.com/shop/api`` -> ``.../shop/api``."""
    ref = f"{host}/{image.path}"
    if image.tag is not None:
        ref += f":{image.tag}"
    if image.digest is not None:
        ref += f"@{image.digest}"
    return ref


_DOCKERFILE_LINE = re.compile(r"^\s*(?:FROM|ARG)\b", re.IGNORECASE)
_YAML_LINE = re.compile(r"^\s*(?:-\s*)?image\s*:")


def rewrite_text(kind: str, text: str, names: dict[str, str]) -> tuple[str, int]:
    """Replace each written image name (``names``: old -> new) where a reference starts, on
    the lines that hold references: Dockerfile ``FROM``/``ARG`` lines (a tag may come from an
    ARG, e.g. ``python:${V}-slim``), YAML ``image:`` lines. Returns (text, replacements)."""
    line_re = _DOCKERFILE_LINE if kind == "dockerfile" else _YAML_LINE
    # Longest first; a name only matches as a whole reference name (not inside another one).
    patterns = [
        (re.compile(rf"(?<![\w./:@-]){re.escape(old)}(?=[:@\s\"']|$)"), new)
        for old, new in sorted(names.items(), key=lambda item: -len(item[0]))
    ]
    lines = text.splitlines(keepends=True)
    count = 0
    for index, line in enumerate(lines):
        if not line_re.match(line):
            continue
        for pattern, new in patterns:
            line, n = pattern.subn(lambda _m, new=new: new, line)
            count += n
        lines[index] = line
    return "".join(lines), count


def rewrite_copy(root: Path, found: list[FileImages], host: str) -> int:
    """Rewrite every file of ``found`` in place; then check that a re-parse finds the same
    references (same path, tag, digest), all on ``host``. Returns the replacements made."""
    total = 0
    for entry in found:
        if not entry.images:
            continue
        names = {i.name: f"{host}/{i.path}" for i in entry.images if not i.is_scratch}
        file = root / entry.path
        text, count = rewrite_text(entry.kind, file.read_text(encoding="utf-8"), names)
        file.write_text(text, encoding="utf-8")
        total += count
    source = LocalSource(root)
    again = {e.path: e.images for e in scan_images(source, discover(source))}
    for entry in found:
        want = [(i.path, i.tag, i.digest) for i in entry.images if not i.is_scratch]
        got_images = [i for i in again.get(entry.path, []) if not i.is_scratch]
        got = [(i.path, i.tag, i.digest) for i in got_images]
        off_host = [i.raw for i in got_images if i.registry != host]
        if got != want or off_host:
            raise BenchError(
                f"rewrite of {entry.path} failed: expected {want}, found {got}"
                + (f" (not on {host}: {off_host})" if off_host else "")
            )
    return total


# ---- the local registry ------------------------------------------------------------------


def version_tag(used: set[str], variant: str) -> str:
    """A version tag of ``variant`` that no file uses (``1.0.0``, ``1.0.0-slim``)."""
    patch = 0
    while f"1.0.{patch}{variant}" in used:
        patch += 1
    return f"1.0.{patch}{variant}"


def push_content(pusher: Any, images: list[ImageRef]) -> dict[str, tuple[str, str]]:
    """One OCI index per unique repository:tag; ``latest``-like tags also get a version tag
    with the same digest. Returns ``resolution_key -> (digest, expected tag)``."""
    wanted: dict[str, ImageRef] = {}
    for image in images:
        if needs_resolution(image):
            wanted.setdefault(resolution_key(image), image)
    used: dict[str, set[str]] = {}
    for image in wanted.values():
        used.setdefault(image.path, set()).add(image.tag or "latest")
    pushed: dict[str, tuple[str, str]] = {}
    for key, image in sorted(wanted.items()):
        tag = image.tag or "latest"
        index = pusher.index(image.path)
        tags = [tag]
        expect = tag
        variant = floating_variant(image.tag)
        if variant is not None:
            expect = version_tag(used[image.path], variant)
            used[image.path].add(expect)
            tags.append(expect)
        pusher.tag(image.path, index, tags)
        pushed[key] = (index.digest, expect)
    return pushed


# ---- runs --------------------------------------------------------------------------------


@dataclass
class RunFigures:
    label: str
    lookups: int
    max_per_key: int
    cache_hits: int
    counts: Counter[str]
    wall: float
    resolutions: dict[str, Resolution]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def measured_run(label: str, root: Path, resolver: RegistryResolver) -> RunFigures:
    before = Counter(resolver.lookups)
    hits_before = resolver.cache_hits
    source = LocalSource(root)
    start = time.perf_counter()
    facts = gather_facts(source, discover(source), Config(), resolver)
    wall = time.perf_counter() - start
    delta = resolver.lookups - before
    return RunFigures(
        label,
        sum(delta.values()),
        max(delta.values(), default=0),
        resolver.cache_hits - hits_before,
        Counter(resolver.last_stats.counts),
        wall,
        dict(facts.resolutions),
    )


@dataclass
class CliFigures:
    status: int
    wall: float
    diff: str
    stderr: str
    requests: Counter[str]
    lookups: int


def cli_run(root: Path, scratch: Path) -> CliFigures:
    """``container-bp fix --diff ROOT`` in this process, online, with no Docker credentials;
    the resolver class is wrapped only to read its counters afterwards."""
    made: list[RegistryResolver] = []

    class Recording(RegistryResolver):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    docker_config = scratch / "docker-config"  # empty: no ~/.docker/config.json is read
    docker_config.mkdir()
    env = {OFFLINE_ENV: "0", "DOCKER_CONFIG": str(docker_config)}
    saved = {name: os.environ.get(name) for name in [*env, "CONTAINER_BP_REGISTRY_AUTH"]}
    original = cli.RegistryResolver
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.update(env)
        os.environ.pop("CONTAINER_BP_REGISTRY_AUTH", None)
        cli.RegistryResolver = Recording  # type: ignore[misc]
        start = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["fix", "--diff", "--no-progress", str(root)])
        wall = time.perf_counter() - start
    finally:
        cli.RegistryResolver = original  # type: ignore[misc]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    requests: Counter[str] = Counter()
    lookups = 0
    for resolver in made:
        requests.update(resolver.stats.counts)
        lookups += sum(resolver.lookups.values())
    return CliFigures(status, wall, out.getvalue(), err.getvalue(), requests, lookups)


# ---- output ------------------------------------------------------------------------------


def short_digest(digest: str | None) -> str:
    return "-" if digest is None else digest[: len("sha256:") + 12]


def run_rows(runs: list[RunFigures]) -> str:
    head = ["run", "lookups", "max/key", "cache hits", "HEAD", "GET", "tags", "token"]
    head += ["requests", "wall s"]
    rows = []
    for r in runs:
        rows.append(
            [
                r.label,
                str(r.lookups),
                str(r.max_per_key),
                str(r.cache_hits),
                *(str(r.counts.get(k, 0)) for k in REQUEST_KINDS),
                str(r.total),
                f"{r.wall:.3f}",
            ]
        )
    return table(head, rows, set(range(1, len(head))))


def machine() -> str:
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, " + (
        f"Python {platform.python_version()}"
    )


def main() -> int:
    registry_bin = REGISTRY_BIN if Path(REGISTRY_BIN).is_file() else shutil.which("docker-registry")
    if not registry_bin:
        print(
            f"registry_requests: {REGISTRY_BIN} not found; install the Debian package "
            "docker-registry (CNCF Distribution)",
            file=sys.stderr,
        )
        return 2
    # Imported only now: the test helpers import pytest and skip when the binary is missing.
    from tests.registry.conftest import start_registry
    from tests.registry.push import Pusher

    tmp = Path(tempfile.mkdtemp(prefix="cbp-regbench-"))
    registry = pusher = None
    try:
        repo = tmp / "repo"
        shutil.copytree(DEMO, repo)
        (tmp / "registry").mkdir()
        registry = start_registry(tmp / "registry")
        host = registry.host
        pusher = Pusher(registry.url)

        original_source = LocalSource(repo)
        targets = discover(original_source)
        original = scan_images(original_source, targets)
        replaced = rewrite_copy(repo, original, host)
        source = LocalSource(repo)
        found = scan_images(source, discover(source))
        images = [i for entry in found for i in entry.images]
        start = time.perf_counter()
        pushed = push_content(pusher, images)
        push_wall = time.perf_counter() - start

        occurrences = [i for i in images if not i.is_scratch]
        unique = {resolution_key(i) for i in occurrences}
        unique_pinned = {resolution_key(i) for i in occurrences if i.digest is not None}
        wanted = [i for i in occurrences if needs_resolution(i)]
        per_file = sum(
            len({resolution_key(i) for i in e.images if needs_resolution(i)}) for e in found
        )
        original_keys = {
            resolution_key(i) for e in original for i in e.images if needs_resolution(i)
        }
        files_with_images = sum(1 for e in found if e.images)

        cache = tmp / "cache" / "resolver.json"
        first = RegistryResolver(environ={})
        runs = [measured_run("1 cold: new resolver, no cache", repo, first)]
        runs.append(measured_run("2 same resolver instance again", repo, first))
        writer = RegistryResolver(environ={}, cache_path=cache)
        runs.append(measured_run("3 new resolver, writes cache file", repo, writer))
        reader = RegistryResolver(environ={}, cache_path=cache)
        runs.append(measured_run("4 new resolver, reads cache file", repo, reader))

        cold = runs[0]
        counts_by_key = Counter(resolution_key(i) for i in occurrences)
        per_key_lookups = first.lookups

        print(f"date:     {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
        print(f"machine:  {machine()}")
        print(f"registry: {Path(registry_bin).name} on {host} (local, plain HTTP)")
        print(
            f"input:    fixtures/demo-repo, copied; {replaced} image names rewritten to "
            f"{host}/...; pushed {len(pushed)} OCI indexes in {push_wall:.2f} s"
        )
        print()
        summary = [
            ("files scanned (discover)", len(targets)),
            ("files with image references", files_with_images),
            ("image references found (occurrences)", len(occurrences)),
            ("  needing resolution (not pinned, not scratch)", len(wanted)),
            ("unique references (registry/repo:tag)", len(unique)),
            ("unique references before the rewrite", len(original_keys)),
            ("unique already pinned", len(unique_pinned)),
            ("lookups if one per occurrence", len(wanted)),
            ("lookups if one per file x image", per_file),
            ("lookups made (cold run, resolver.lookups)", cold.lookups),
            ("HTTP requests (cold run)", cold.total),
            ("wall s (cold run, gather_facts)", f"{cold.wall:.3f}"),
        ]
        width = max(len(label) for label, _ in summary)
        for label, value in summary:
            print(f"{label.ljust(width)}  {value}")
        print()
        print(run_rows(runs))
        print()

        rows = []
        for key in sorted(unique):
            res = cold.resolutions.get(key)
            digest, expect = pushed.get(key, (None, None))
            if res is None:
                shown, matches = "not looked up", "-"
            elif not res.ok:
                shown, matches = f"error: {res.error}", "no"
            else:
                shown = f"{res.tag}@{short_digest(res.digest)}"
                matches = "yes" if (res.digest, res.tag) == (digest, expect) else "NO"
            rows.append(
                [
                    key.removeprefix(host + "/"),
                    str(counts_by_key[key]),
                    str(per_key_lookups.get(key, 0)),
                    shown,
                    matches,
                ]
            )
        head = ["image (on the local registry)", "uses", "lookups", "resolution", "as pushed"]
        print(table(head, rows, {1, 2}))
        print()

        figures = cli_run(repo, tmp)
        added = [
            line
            for line in figures.diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")
        ]
        pins = sum(line.count("@sha256:") for line in added)
        pin_lines = [line for line in added if "@sha256:" in line]
        print(
            "CLI: container-bp fix --diff --no-progress COPY "
            f"({OFFLINE_ENV}=0, no Docker credentials)"
        )
        print(f"exit status:               {figures.status}")
        print(f"wall s:                    {figures.wall:.3f}")
        print(f"lookups / HTTP requests:   {figures.lookups} / {sum(figures.requests.values())}")
        print(
            "requests by kind:          "
            + ", ".join(f"{k} {figures.requests.get(k, 0)}" for k in REQUEST_KINDS)
        )
        print(f"diff lines added:          {len(added)}")
        print(f"@sha256: pins in the diff: {pins} (on {len(pin_lines)} added lines)")
        for line in pin_lines:
            text = re.sub(r"@sha256:([0-9a-f]{12})[0-9a-f]{52}", r"@sha256:\1…", line)
            print("  " + text.replace(host, "REG").strip())
        for line in figures.stderr.splitlines():
            print(f"  stderr: {line}")
        return 0
    except BenchError as exc:
        print(f"registry_requests: {exc}", file=sys.stderr)
        return 2
    finally:
        if pusher is not None:
            pusher.close()
        if registry is not None:
            registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
