"""``container-bp sweep plan`` and ``container-bp sweep run``: sweeps from any shell or job
matrix. The token comes from ``GITHUB_TOKEN`` (or ``GH_TOKEN``), the API from
``GITHUB_API_URL``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from github import Github

from bot.analyse import Options
from bot.fixpr.publish import Report, Settings
from bot.github.client import DEFAULT_API_URL, ApiFailure, connect, redact
from bot.github.memo import Memory
from bot.sweep.repos import sweep_names
from bot.sweep.run import sweep
from bot.sweep.shard import ShardError, in_shard, matrix_json, parse_shard
from fixers.pinning.resolver import RegistryResolver


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sweep", help="fix many repositories through the GitHub API")
    actions = parser.add_subparsers(dest="sweep_command", required=True, metavar="ACTION")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--org", help="sweep this organisation (default: the installation's)")
        p.add_argument(
            "--repos", default="", help="owner/name names or globs, comma separated; !glob excludes"
        )

    plan = actions.add_parser("plan", help="print a job matrix of shards")
    common(plan)
    plan.add_argument("--shards", type=int, default=1, help="how many shards (default 1)")
    run = actions.add_parser("run", help="sweep one shard")
    common(run)
    run.add_argument("--shard", default=None, help="i/n: only the repositories of shard i")
    run.add_argument("--base-branch", default=None)
    run.add_argument("--max-open-prs", type=int, default=10)
    run.add_argument("--dry-run", action="store_true", help="report what would change")
    run.add_argument("--unsafe", action="store_true", help="apply unsafe fixes too")
    run.add_argument("--label", action="append", default=None, dest="labels")
    run.add_argument(
        "--state", default=None, metavar="FILE",
        help="remember each repository's base between runs: unchanged ones cost a free 304",
    )  # fmt: skip


def one_line(text: str) -> str:
    """Repository text on one line, unable to pass for a workflow command in an Actions log."""
    return " ".join(text.split()).replace("##[", "#\u2060#[").replace("::", ":\u2060:")


def _token(env: Mapping[str, str]) -> str:
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
    if not token:
        raise ApiFailure("sweep", None, "set GITHUB_TOKEN (or GH_TOKEN) to a token")
    return token


def _names(args: argparse.Namespace, gh: Github) -> list[str]:
    patterns = [p.strip() for p in re.split(r"[\n,]", args.repos) if p.strip()]
    return sweep_names(gh, args.org, patterns)


def main(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        gh = connect(env.get("GITHUB_API_URL") or DEFAULT_API_URL, _token(env))
        names = _names(args, gh)
        if args.sweep_command == "plan":
            if args.shards < 1:
                raise ShardError("--shards must be at least 1")
            plan = matrix_json(names, args.shards)
            print(plan)
            output = env.get("GITHUB_OUTPUT")
            if output:
                with open(output, "a", encoding="utf-8") as handle:
                    handle.write(f"matrix={plan}\n")
            return 0
        shard = parse_shard(args.shard) if args.shard else None
        settings = Settings(
            base=args.base_branch,
            labels=tuple(args.labels or ("container-bp",)),
            dry_run=args.dry_run,
            options=Options(fix=True, unsafe=args.unsafe),
        )

        def cost() -> int:
            remaining, limit = gh.rate_limiting
            return limit - remaining

        def show(report: Report) -> None:
            pr = f" #{report.pr_number}" if report.pr_number else ""
            print(one_line(f"{report.repo}: {report.outcome}{pr} {report.detail}"))

        result = sweep(
            gh, in_shard(names, shard), settings, RegistryResolver(offline=None),
            max_open_prs=args.max_open_prs, on_repo=show, calls=cost,
            memory=Memory(Path(args.state)) if args.state else None,
        )  # fmt: skip
    except (ApiFailure, ShardError) as exc:
        print(f"container-bp: {redact(str(exc))}", file=sys.stderr)
        return 2
    if result.deferred:
        print(
            f"container-bp: rate limit nearly spent: {len(result.deferred)} repositories left"
            f" for the next run ({', '.join(result.deferred[:5])}"
            f"{', ...' if len(result.deferred) > 5 else ''})",
            file=sys.stderr,
        )
    for repo, why in result.failures:
        print(one_line(f"container-bp: {repo}: {redact(why)}"), file=sys.stderr)
    return 1 if result.failures else 0
