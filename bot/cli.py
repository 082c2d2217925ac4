"""``container-bp``: scan, fix, explain. Exit 0 clean, 1 findings, 2 usage or internal error."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.progress import Progress
from bot.report import render
from fixers.config import Config, ConfigError, find_config, load_config
from fixers.engine import Selection
from fixers.model import Skipped
from fixers.pinning.model import Resolver
from fixers.pinning.resolver import RegistryResolver
from fixers.registry import docs, find_rule
from fixers.run import Parsed, RunResult, discover, discover_explicit, gather_facts, run
from fixers.source import LocalSource, Unreadable

FORMATS = ("text", "json", "sarif", "github")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="container-bp",
        description="Find and fix container best-practice problems in Dockerfiles.",
    )
    parser.add_argument("--version", action="version", version=f"container-bp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                       help="directories to walk or files to check (default: .)")  # fmt: skip
        p.add_argument("--format", choices=FORMATS, default="text")
        p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
        p.add_argument("--config", metavar="FILE", help="config file (default: .container-bp.yml)")
        p.add_argument("--rules", metavar="IDS", default="", help="only these rules (comma list)")
        p.add_argument("--skip", metavar="IDS", default="", help="not these rules (comma list)")
        p.add_argument("--explain", action="store_true", help="say why each finding matters")
        p.add_argument("--offline", action="store_true",
                       help="never ask a registry (also CONTAINER_BP_OFFLINE=1)")  # fmt: skip
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    scan = sub.add_parser("scan", help="report findings")
    common(scan)
    scan.add_argument(
        "--resolve", action="store_true", help="ask registries for digests (fix always does)"
    )
    fix = sub.add_parser("fix", help="apply fixes in place (safe ones unless --unsafe)")
    common(fix)
    fix.add_argument("--unsafe", action="store_true", help="apply unsafe fixes too")
    fix.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")
    explain = sub.add_parser("explain", help="show a rule's documentation")
    explain.add_argument("rule", help="code, name or a peer id such as DL3006")
    explain.add_argument("--format", choices=("text", "markdown"), default="text")
    sub.add_parser("action", help="run as the GitHub Action (reads GITHUB_* and INPUT_*)")
    from bot.sweep.cli import add_parser as add_sweep

    add_sweep(sub)
    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument(
        "--format", choices=("text", "json", "markdown", "reference"), default="text"
    )
    return parser


def _ids(value: str) -> frozenset[str]:
    unknown = []
    out = set()
    for part in value.split(","):
        if not part.strip():
            continue
        rule = find_rule(part)
        if rule is None:
            unknown.append(part.strip())
        else:
            out.add(rule.doc.code)
    if unknown:
        raise ConfigError(f"unknown rule {unknown[0]!r} (see `container-bp rules`)")
    return frozenset(out)


def _load_config(explicit: str | None, root: Path) -> Config:
    path = Path(explicit) if explicit else find_config(root)
    if path is None:
        return Config()
    if explicit and not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    return load_config(path, docs())


def _prefix(root: Path) -> str:
    """How paths inside ``root`` are shown: relative to the working directory."""
    rel = Path(os.path.relpath(root.resolve(), Path.cwd().resolve())).as_posix()
    return "" if rel == "." else rel + "/"


def find_root(target: Path) -> Path:
    """The repository a path belongs to: the nearest folder, from the path up, holding `.git`
    or a config file; else the path's own folder. Config and path patterns are relative to it."""
    # Absolute but not resolved: a link inside the repository must not move the root out of it.
    start = Path(os.path.abspath(target if target.is_dir() else target.parent))
    for folder in (start, *start.parents):
        if (folder / ".git").exists() or find_config(folder) is not None:
            return folder
    return start


def _group_by_root(paths: Sequence[str]) -> dict[Path, list[str]]:
    """Each root with the repository-relative paths asked for under it ("" for all of it)."""
    groups: dict[Path, list[str]] = {}
    for raw in paths:
        target = Path(raw)
        if not target.exists():
            raise ConfigError(f"{raw}: no such file or directory")
        root = find_root(target)
        rel = Path(os.path.abspath(target)).relative_to(root).as_posix()
        groups.setdefault(root, []).append("" if rel == "." else rel)
    return groups


def _resolver(args: argparse.Namespace, config: Config, root: Path) -> Resolver | None:
    """Registry lookups for `fix` (and `scan --resolve`); none for a plain scan."""
    if args.command == "scan" and not args.resolve:
        return None
    cache = root / config.registry_cache if config.registry_cache else None
    return RegistryResolver(
        offline=True if args.offline else None,  # None: CONTAINER_BP_OFFLINE decides
        cache_path=cache,
        insecure_registries=config.insecure_registries,
    )


def _targets(source: LocalSource, asked: list[str]) -> list[tuple[str, str]]:
    """(path, kind) for every file asked for: folders are walked, files taken as named."""
    found: dict[str, str] = {}
    for rel in asked:
        if rel and (source.root / rel).is_file():
            found.update(discover_explicit([rel]))
        else:
            found.update(discover(source, under=rel))
    return sorted(found.items())


def _execute(args: argparse.Namespace) -> RunResult:
    fixing = args.command == "fix"
    writing = fixing and not args.diff
    result = RunResult()
    show_progress = not args.no_progress and sys.stderr.isatty() and not os.environ.get("CI")
    for root, asked in _group_by_root(args.paths).items():
        config = _load_config(args.config, root)
        source = LocalSource(root)
        targets = _targets(source, asked)
        parsed: Parsed = {}
        facts = gather_facts(source, targets, config, _resolver(args, config, root), parsed)
        selection = Selection(
            config=config, only=_ids(args.rules), skip=_ids(args.skip), facts=facts
        )
        part = RunResult()
        with Progress(enabled=show_progress) as progress:
            run(
                source,
                targets,
                selection,
                fix=fixing,
                unsafe=getattr(args, "unsafe", False),
                progress=progress.update,
                prefix=_prefix(root),
                result=part,
                parsed=parsed,
            )
        if writing:
            _write(source, part)
        elif fixing:
            # Nothing is written: report what is left where it is in the files on disk.
            for file_result in part.files:
                file_result.remaining = file_result.remaining_at_original
        result.files += part.files
        result.skipped += part.skipped
        result.errors += part.errors
    return result


def _write(source: LocalSource, part: RunResult) -> None:
    """Write each changed file through the source it was read from; a failed write is an
    error of that file, and the others are still written."""
    for file_result in part.files:
        if not file_result.changed or file_result.fixed is None:
            continue
        try:
            source.write_text(file_result.source_path, file_result.fixed)
        except (OSError, Unreadable) as exc:
            part.errors.append(Skipped(file_result.path, f"not written: {exc}"))
            file_result.fixed = file_result.original  # nothing changed on disk


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    if args.command == "action":
        from bot.action.main import main as action_main

        return action_main()
    if args.command == "sweep":
        from bot.sweep.cli import main as sweep_main

        return sweep_main(args)
    try:
        if args.command == "explain":
            rule = find_rule(args.rule)
            if rule is None:
                print(f"container-bp: unknown rule {args.rule!r}", file=sys.stderr)
                return 2
            from bot.report.ruledoc import explain_markdown, explain_text

            doc = rule.doc
            print(explain_markdown(doc) if args.format == "markdown" else explain_text(doc))
            return 0
        if args.command == "rules":
            from bot.report.ruledoc import rules_reference, rules_table

            if args.format == "reference":
                sys.stdout.write(rules_reference(docs()))
            else:
                print(rules_table(docs(), args.format))
            return 0
        result = _execute(args)
    except ConfigError as exc:
        print(f"container-bp: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an internal error is exit 2, never a silent 1 ("findings")
        print(f"container-bp: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    fixing = args.command == "fix"
    output = render(
        args.format,
        result,
        explain=args.explain,
        fixing=fixing,
        diff=fixing and args.diff,
        unsafe=getattr(args, "unsafe", False),
    )
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    for error in result.errors:
        print(f"container-bp: {error.path}: {error.reason}", file=sys.stderr)
    if result.errors:
        return 2
    if fixing:
        # After fixing, what matters is what is left; with --diff, also what would change.
        left = any(r.remaining for r in result.files)
        return 1 if left or (args.diff and any(r.changed for r in result.files)) else 0
    return 1 if result.findings else 0
