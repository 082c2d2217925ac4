"""One engine run over any source (a folder on disk or a repository read through the API)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from fixers.config import CONFIG_DIRS, CONFIG_NAMES, Config, parse_config
from fixers.engine import Selection
from fixers.pinning.model import Resolver
from fixers.registry import docs
from fixers.run import Parsed, RunResult, discover, gather_facts, run
from fixers.source import Source, Unreadable


@dataclass(frozen=True)
class Options:
    fix: bool = True
    unsafe: bool = False
    pin_digests: bool | None = None  # None: what the config says
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()


def config_from(source: Source, explicit: str | None = None) -> Config:
    """The repository's config file (``explicit`` or the usual names), parsed; ConfigError
    names the file and line when it is wrong."""
    names = (
        [explicit.strip("/")]
        if explicit
        else [f"{d}/{n}".lstrip("/") for d in CONFIG_DIRS for n in CONFIG_NAMES]
    )
    for name in names:
        try:
            text = source.read_text(name)
        except (FileNotFoundError, Unreadable):
            continue
        return parse_config(text, name, docs())
    return Config()


def analyse(
    source: Source,
    config: Config,
    options: Options,
    resolver: Resolver | None,
    *,
    under: Sequence[str] = ("",),
    targets: Sequence[tuple[str, str]] | None = None,
) -> RunResult:
    """Discover (below each of ``under``, or exactly ``targets``), gather facts, scan or fix."""
    if options.pin_digests is not None and options.pin_digests != config.pin_digests:
        config = replace(config, pin_digests=options.pin_digests)
    if targets is None:
        found: dict[str, str] = {}
        for folder in under:
            found.update(discover(source, under=folder.strip("/").removeprefix("./")))
        targets = sorted(found.items())
    parsed: Parsed = {}
    facts = gather_facts(source, list(targets), config, resolver, parsed)
    selection = Selection(config=config, only=options.only, skip=options.skip, facts=facts)
    result = run(source, list(targets), selection, fix=options.fix, unsafe=options.unsafe,
                 parsed=parsed)  # fmt: skip
    result.incomplete += [
        f"{key}: {r.error}"
        for key, r in sorted(facts.resolutions.items())
        if r.transient and key not in facts.proposed
    ]
    result.incomplete += [
        f"{path}: could not be read" for path in getattr(source, "failed_reads", [])
    ]
    return result


def changes(result: RunResult) -> dict[str, str]:
    """Repository path -> fixed text, for every file a fix changed."""
    return {r.source_path: r.fixed for r in result.files if r.changed and r.fixed is not None}
