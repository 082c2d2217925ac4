"""One run over a source: discover, parse, scan or fix each file, and collect the results."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fixers.config import Config
from fixers.discover import is_compose_name, kind_of, sniff_yaml
from fixers.engine import KINDS, Selection, fix_text, scan_doc
from fixers.facts import Facts
from fixers.images import ImageRef
from fixers.kinds import images_of, proposed_images_of, related_files
from fixers.model import FileResult, Finding, Skipped
from fixers.pinning.model import Resolver, needs_resolution, resolution_key
from fixers.pinning.pin import ignored_image
from fixers.pinning.resolver import resolve_all
from fixers.source import Source, Unreadable
from fixers.yamldoc import NotThisKind


@dataclass
class RunResult:
    files: list[FileResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[Skipped] = field(default_factory=list)  # files a rule crashed on
    # What could not be known this time (a registry timeout, a file that could not be fetched):
    # the result may change on a later run, so it must not be taken as final.
    incomplete: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.files for f in r.findings]


def discover(
    source: Source, explicit: Iterable[str] = (), under: str = ""
) -> list[tuple[str, str]]:
    """(path, kind) pairs: every recognised file the source walks (below ``under``), then
    explicit paths."""
    seen: dict[str, str] = {}
    for path in source.walk(under):
        kind = kind_of(path)
        if kind is not None:
            seen[path] = kind
    for path, kind in discover_explicit(explicit):
        seen.setdefault(path, kind)
    return sorted(seen.items())


def discover_explicit(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Files named on the command line: taken as what they look like, a Dockerfile by default."""
    found = []
    for path in paths:
        kind = kind_of(path)
        if kind is None:
            kind = {".sh": "shell", ".py": "python"}.get(posixpath.splitext(path)[1], "dockerfile")
        found.append((path, kind))
    return found


# path -> (text, kind name, parsed document): files gather_facts read, so run need not again.
Parsed = dict[str, tuple[str, str, Any]]


def gather_facts(
    source: Source,
    targets: list[tuple[str, str]],
    config: Config,
    resolver: Resolver | None,
    parsed: Parsed | None = None,
) -> Facts:
    """Everything the rules may need from outside, fetched once before they run: each unique
    image is resolved once per run, however many files use it. Files read on the way are kept
    in ``parsed`` for ``run``."""
    if resolver is None:
        return Facts(pin_digests=config.pin_digests, pin_ignore=config.pin_ignore)
    images: list[ImageRef] = []
    proposed: list[ImageRef] = []
    for path, kind_name in targets:
        if config.path_ignored(path):
            continue
        try:
            text = source.read_text(path)
            name = sniff_yaml(path, text) if kind_name == "yaml" else kind_name
            if name is not None:
                kind = KINDS[name]
                doc = kind.parse(text)
                images.extend(images_of(kind, doc))
                proposed.extend(proposed_images_of(kind, doc))
                if parsed is not None:
                    parsed[path] = (text, name, doc)
        except (OSError, Unreadable, ValueError):
            continue  # reported when the file itself is processed

    def lookup(found: list[ImageRef]) -> list[ImageRef]:
        return [i for i in found if needs_resolution(i) and not ignored_image(i, config.pin_ignore)]

    wanted = lookup(images)
    extra = [
        i for i in lookup(proposed) if resolution_key(i) not in {resolution_key(w) for w in wanted}
    ]
    return Facts(
        resolutions=resolve_all(resolver, wanted + extra) if wanted or extra else {},
        proposed=frozenset(resolution_key(i) for i in extra),
        resolved=True,
        pin_digests=config.pin_digests,
        pin_ignore=config.pin_ignore,
    )


def run(
    source: Source,
    targets: list[tuple[str, str]],
    selection: Selection,
    *,
    fix: bool = False,
    unsafe: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    prefix: str = "",
    result: RunResult | None = None,
    parsed: Parsed | None = None,
) -> RunResult:
    """Scan (and fix) every target; paths in findings are ``prefix + path``. ``parsed``:
    files already read and parsed (by ``gather_facts``)."""
    result = result if result is not None else RunResult()
    # (path, kind, optional): optional entries (found through another file) may not exist.
    queue = [(path, kind, False) for path, kind in targets]
    done: set[str] = set()
    index = 0
    while index < len(queue):
        path, kind_name, optional = queue[index]
        index += 1
        if path in done:
            continue
        done.add(path)
        if progress is not None:
            progress(index, len(queue), path)
        shown = prefix + path
        if selection.config.path_ignored(path):
            continue
        cached = (parsed or {}).get(path)
        try:
            text = cached[0] if cached else source.read_text(path)
        except FileNotFoundError:
            if not optional:
                result.skipped.append(Skipped(shown, "no such file"))
            continue
        except Unreadable as exc:
            if not optional:  # a related file that is binary or too large: not one we want
                result.skipped.append(Skipped(shown, str(exc)))
            continue
        if kind_name not in KINDS and kind_name != "yaml":
            result.skipped.append(Skipped(shown, f"no checks for {kind_name} files"))
            continue
        # Taken for a manifest from its content alone: if it is none, say nothing.
        sniffed_from_content = kind_name == "yaml" and not is_compose_name(path)
        if kind_name == "yaml":
            sniffed = sniff_yaml(path, text)
            if sniffed is None:
                continue  # YAML that is not a manifest or compose file: never ours to touch
            kind_name = sniffed
        kind = KINDS[kind_name]
        try:
            doc = cached[2] if cached and cached[1] == kind_name else kind.parse(text)
        except NotThisKind:
            if sniffed_from_content:
                continue  # it only looked like one: not ours to touch or to mention
            result.skipped.append(Skipped(shown, f"not a {kind_name} file"))
            continue
        except ValueError as exc:
            # A related file is a guess (an ENTRYPOINT that is a Python script, say): quietly
            # drop it when it is not of the kind it was taken for.
            if not optional:
                result.skipped.append(Skipped(shown, f"cannot parse as {kind_name}: {exc}"))
            continue
        for rel_path, rel_kind in related_files(kind, doc, path):
            if rel_path not in done and rel_kind in KINDS:
                queue.append((rel_path, rel_kind, True))
        file_result = FileResult(path=shown, kind=kind_name, original=text, source_path=path)
        try:
            file_result.findings = scan_doc(shown, kind, doc, selection, rel=path)
            file_result.remaining = file_result.findings
            if fix:
                outcome = fix_text(
                    shown,
                    kind_name,
                    text,
                    selection,
                    unsafe=unsafe,
                    findings=file_result.findings,
                    doc=doc,
                    rel=path,
                )
                file_result.fixed = outcome.text
                file_result.applied = outcome.applied
                file_result.remaining = outcome.remaining
                file_result.remaining_at_original = outcome.remaining_at_original
                file_result.rejected = [
                    f"{f.rule} line {f.line}: {why}" for f, why in outcome.rejected
                ]
        except Exception as exc:  # a bug in one rule must not stop the other files
            result.errors.append(Skipped(shown, f"internal error: {type(exc).__name__}: {exc}"))
            continue
        result.files.append(file_result)
    return result
