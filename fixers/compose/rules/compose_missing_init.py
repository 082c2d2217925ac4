"""CBP302: compose services run with ``init: true``, an init as PID 1 (``docker run --init``)."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.compose.kind import ComposeDoc
from fixers.dockerfile.rules.missing_init import INIT_PROGRAMS
from fixers.images import parse_image
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.yamledit import add_entries

# Image families whose own ENTRYPOINT is an init that must be PID 1: s6-overlay v3 stops with
# "s6-overlay-suexec: fatal: can only run as pid 1" under `init: true`. Matched as prefixes of
# the canonical image name (registry/path).
IMAGES_WITH_INIT: tuple[str, ...] = (
    "lscr.io/linuxserver/",
    "ghcr.io/linuxserver/",
    "docker.io/linuxserver/",
    "ghcr.io/home-assistant/",
    "docker.io/homeassistant/",
    "docker.io/serversideup/",
)
MAX_EXTENDS = 16  # a bound on following `extends:` inside one file


def _first_program(value: Any) -> str | None:
    """The program an ``entrypoint``/``command`` starts: the list's first item, or the first
    word of the string (past ``exec`` and ``VAR=value``)."""
    if isinstance(value, CommentedSeq | list):
        words = [str(v) for v in value]
    elif isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError:
            words = value.split()
    else:
        return None
    for word in words:
        if word == "exec" or ("=" in word and word.split("=", 1)[0].isidentifier()):
            continue
        return word
    return None


def _starts_init(service: CommentedMap) -> bool:
    for key in ("entrypoint", "command"):
        first = _first_program(service.get(key))
        if first is not None and posixpath.basename(first) in INIT_PROGRAMS:
            return True
    return False


def _image_runs_init(service: CommentedMap, families: tuple[str, ...]) -> bool:
    """The image's name, as written or canonical (``docker.io/library/...``), starts with one
    of ``families``."""
    raw = str(service.get("image", ""))
    image = parse_image(raw)
    names = [raw] + ([f"{image.canonical_name}/"] if image is not None else [])
    return any(name.startswith(prefix) for name in names for prefix in families if prefix)


def _is_windows(service: CommentedMap) -> bool:
    return str(service.get("platform", "")).lower().startswith("windows")


def _chain(doc: ComposeDoc, service: CommentedMap) -> list[CommentedMap] | None:
    """The service and the services it ``extends`` in this file, nearest first; None when it
    extends one in another file (what that sets cannot be seen)."""
    chain = [service]
    current = service
    for _ in range(MAX_EXTENDS):
        extends = current.get("extends")
        if extends is None:
            return chain
        if isinstance(extends, str):
            name = extends
        elif isinstance(extends, CommentedMap) and "file" not in extends:
            name = str(extends.get("service", ""))
        else:
            return None
        parent = doc.services.get(name)
        if not isinstance(parent, CommentedMap) or parent in chain:
            return None
        chain.append(parent)
        current = parent
    return None


class ComposeMissingInit(Rule[ComposeDoc]):
    doc = RuleDoc(
        code="CBP302",
        name="compose-missing-init",
        kind="compose",
        title="Run compose services with `init: true`",
        what=(
            "Flags compose services that do not set `init`, unless their `entrypoint` or "
            "`command` already starts an init (tini, dumb-init, s6's `/init`, catatonit, "
            "supervisord...) or their image belongs to a family whose entrypoint is an init "
            "that must be PID 1 itself (option `images_with_init`: prefixes of the image name as "
            "written or in full, `docker.io/library/...`; by "
            "default the linuxserver.io, Home Assistant and serversideup images, all built on "
            "s6-overlay). An explicit `init: false` is taken as a decision and left alone; so "
            "are Windows services (`platform: windows/...`) and services that `extends` one "
            "in another file; a service that `extends` one in the same file inherits its "
            "`init`, so the finding (and the fix) goes to the service it extends. What runs "
            "inside an image cannot be seen from the compose file: when a service's image "
            "starts its own init, say so with "
            "`# container-bp ignore=CBP302 reason` above the service."
        ),
        why=(
            "The process a container starts runs as PID 1, and the kernel gives PID 1 no "
            "default signal handlers: unless the application installs its own, the SIGTERM of "
            "`docker compose stop` or `down` is ignored, Compose waits out the grace period "
            "(10 s) and SIGKILLs it, so requests in flight are dropped and nothing is flushed. "
            "PID 1 must also reap orphaned children, which most applications never do, so "
            "zombies pile up. `init: true` is Compose's `docker run --init`: Docker's tiny "
            "init (tini) runs as PID 1, forwards signals to the service and reaps zombies."
        ),
        before="services:\n  api:\n    build: .\n    command: gunicorn app:app\n",
        after="services:\n  api:\n    build: .\n    command: gunicorn app:app\n    init: true\n",
        fix=FixSafety.SAFE,
        fix_notes=(
            "Safe for services built from the repository (`build:`): the service runs the "
            "same command, only PID 1 changes (an init already in the image keeps working as "
            "its child). Unsafe for services that only pull an image: images built on "
            "s6-overlay v3 refuse to start when they are not PID 1 (the known families are "
            "skipped). `init: true` is added as the service's last key, in the file's own "
            "indentation; services written in flow style (`api: {image: x}`) are reported "
            "without a fix."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/reference/compose-file/services/#init",
            "https://docs.docker.com/reference/cli/docker/container/run/#init",
            "https://github.com/krallin/tini",
        ),
        peers={},
        options={"images_with_init": list(IMAGES_WITH_INIT)},
    )

    def check(self, ctx: Context[ComposeDoc]) -> Iterator[Finding]:
        option = self.option(ctx, "images_with_init")
        families = (str(option),) if isinstance(option, str) else tuple(str(p) for p in option)
        services = ctx.doc.services
        for key, service in services.items():
            if not isinstance(service, CommentedMap):
                continue
            chain = _chain(ctx.doc, service)
            if chain is None or any("init" in s for s in chain):
                continue
            if any(_starts_init(s) or _image_runs_init(s, families) or _is_windows(s)
                   for s in chain):  # fmt: skip
                continue
            if len(chain) > 1:
                continue  # the service it extends is flagged, and `init: true` there covers both
            line0, _ = services.lc.key(key)
            line = int(line0) + 1
            message = (
                f"service `{key}` runs its process as PID 1 without an init: SIGTERM is "
                "ignored unless it handles it, and orphaned zombies are never reaped"
            )
            edit = add_entries(ctx.doc.stream, service, {"init": True})
            if edit is None:
                yield self.finding(
                    ctx, line, message, suggestion=f"add `init: true` to service `{key}`"
                )
                continue
            # A service built here runs code the repository controls; a pulled image may be
            # built on s6-overlay v3, which refuses to start unless it is PID 1.
            safety = FixSafety.SAFE if "build" in service else FixSafety.UNSAFE
            yield self.finding(
                ctx, line, message, edits=[edit], safety=safety, fix_description="add `init: true`"
            )
