"""GitHub API calls per repository for an organisation sweep, against the GitHub double.

Usage (from the repository root, with the dev venv)::

    .venv/bin/python bench/sweep_api_calls.py            # 20 repositories
    .venv/bin/python bench/sweep_api_calls.py --repos 40

What it does:

1. starts the GitHub REST double (``tests/github_double``) on 127.0.0.1 and creates an
   organisation of N repositories: copies of ``fixtures/demo-repo``, repositories with one
   Dockerfile that has something to fix, with one Dockerfile that has nothing to fix, with no
   container files (half of them with a CI workflow YAML, which the engine has to read to
   know it is not Kubernetes or compose), and one archived repository;
2. sweeps it four times, each time listing the organisation and selecting the repositories
   with ``bot.sweep.repos.select`` (which drops the archived one), then running
   ``bot.sweep.run.sweep``: (1) first sweep, opens pull requests, writes a state file;
   (2) again, without the state file; (3) again, with the state file; (4) after a commit to
   one repository's base, with the state file;
3. prints, per run, the requests the double logged, and for run 1 each repository's cost.

Registry look-ups are off (``CONTAINER_BP_OFFLINE=1``), as is the client's pacing between
writes (``CONTAINER_BP_GITHUB_THROTTLE=0``). This is a benchmark, not a test: it prints
figures and asserts nothing; it exits 2 when a sweep fails or the double recorded a problem.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Before the bot's modules read them.
os.environ["CONTAINER_BP_GITHUB_THROTTLE"] = "0"
os.environ["CONTAINER_BP_OFFLINE"] = "1"

from tables import table  # noqa: E402

from bot.fixpr.publish import Report, Settings  # noqa: E402
from bot.github.client import connect  # noqa: E402
from bot.github.memo import Memory  # noqa: E402
from bot.sweep.repos import list_repositories, select  # noqa: E402
from bot.sweep.run import sweep  # noqa: E402
from fixers.discover import kind_of  # noqa: E402
from fixers.pinning.resolver import RegistryResolver  # noqa: E402
from tests.bot_support import demo_files  # noqa: E402
from tests.github_double import GitHubDouble, LoggedRequest, server  # noqa: E402

# The double writes headers and body in two sends; with Nagle's algorithm on, each response
# then waits for the client's delayed ACK (~40 ms), which would dominate the wall times.
server._Handler.disable_nagle_algorithm = True

GOAL = (
    "goal: at most a handful of calls plus one per candidate file; "
    "near zero rate-limit cost for an unchanged repository on a re-run"
)
ORG = "acme"
BLOB = "git/get-blob"

FIXABLE = b"FROM python:3.12-slim\nCOPY . /app\nCMD python /app/main.py\n"
CLEAN = (
    b"FROM python:3.12-slim@sha256:" + b"a" * 64 + b"\n"
    b"RUN useradd -r app\nCOPY . /app\nUSER app\n"
    b'ENTRYPOINT ["tini", "--"]\nCMD ["python", "/app/main.py"]\n'
)
APP = {
    "README.md": b"# service\n",
    "pyproject.toml": b'[project]\nname = "service"\nversion = "1.0"\n',
    "src/main.py": b"print('hello')\n",
}
CI = b"name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
CI += b"      - uses: actions/checkout@v4\n      - run: python -m pytest\n"
# The commit that moves one base before run 4: a new service with something to fix.
NEW_SERVICE = {"services/billing/Dockerfile": FIXABLE}


@dataclass(frozen=True)
class Spec:
    name: str
    shape: str
    files: dict[str, bytes]
    archived: bool = False

    @property
    def candidates(self) -> int:
        """Files the engine discovers (and so reads): Dockerfiles and every YAML file."""
        return sum(kind_of(path) is not None for path in self.files)


def org_specs(n: int) -> list[Spec]:
    """``n`` repositories, the last one archived; the others cycle through five shapes."""
    demo = demo_files()
    specs = []
    for i in range(n - 1):
        name = f"svc-{i:02d}"
        shape = i % 5
        if shape == 0:
            specs.append(Spec(name, "demo copy", demo))
        elif shape in (1, 2):
            specs.append(Spec(name, "Dockerfile (fixable)", {**APP, "Dockerfile": FIXABLE}))
        elif shape == 3:
            specs.append(Spec(name, "Dockerfile (clean)", {**APP, "Dockerfile": CLEAN}))
        elif i % 10 == 4:
            specs.append(Spec(name, "no container files", {**APP}))
        else:
            ci = {".github/workflows/ci.yml": CI}
            specs.append(Spec(name, "CI YAML only", {**APP, **ci}))
    specs.append(Spec("legacy-archived", "archived", {**APP, "Dockerfile": FIXABLE}, True))
    return specs


@dataclass
class Run:
    label: str
    listing: list[LoggedRequest]  # listing the org (and whatever select() needs)
    visits: list[LoggedRequest]  # sweep(): the repositories' own requests
    rate_used: int  # rate-limited requests of the whole run
    rate_listing: int  # of which listing
    wall: float
    reports: list[Report]
    failures: list[tuple[str, str]]
    by_repo: dict[str, list[LoggedRequest]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for r in self.visits:
            parts = r.path.split("/")
            if len(parts) > 3 and parts[1] == "repos":
                self.by_repo.setdefault(f"{parts[2]}/{parts[3]}", []).append(r)

    @property
    def requests(self) -> list[LoggedRequest]:
        return self.listing + self.visits

    def count(self, method: str) -> int:
        return sum(r.method == method for r in self.requests)


def blobs(requests: Sequence[LoggedRequest]) -> int:
    return sum(r.operation_id == BLOB for r in requests)


def run_sweep(
    label: str, double: GitHubDouble, settings: Settings, memory: Memory | None, cap: int
) -> Run:
    gh = connect(double.base_url, double.token)
    start, used = len(double.requests), double.rate_used
    began = time.perf_counter()
    names = [c.full_name for c in select(list_repositories(gh, ORG))]
    listed, listing_used = len(double.requests), double.rate_used - used
    result = sweep(
        gh, names, settings, RegistryResolver(offline=None), max_open_prs=cap,
        calls=lambda: len(double.requests), memory=memory,
    )  # fmt: skip
    wall = time.perf_counter() - began
    return Run(
        label,
        double.requests[start:listed],
        double.requests[listed:],
        double.rate_used - used,
        listing_used,
        wall,
        result.reports,
        result.failures,
    )


def outcomes(reports: list[Report]) -> str:
    counts = Counter(str(r.outcome) for r in reports)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def run_rows(runs: list[Run]) -> str:
    head = ["run", "repos", "requests", "listing", "rate-limited", "304", "per repo mean"]
    head += ["max", "rate-limited/repo", "GET", "POST", "PATCH", "blobs", "wall s", "outcomes"]
    rows = []
    for r in runs:
        calls = [rep.calls for rep in r.reports] or [0]
        visited = max(len(r.reports), 1)
        rows.append(
            [
                r.label,
                str(len(r.reports)),
                str(len(r.requests)),
                str(len(r.listing)),
                str(r.rate_used),
                str(sum(q.status == 304 for q in r.requests)),
                f"{statistics.mean(calls):.1f}",
                str(max(calls)),
                f"{(r.rate_used - r.rate_listing) / visited:.1f}",
                str(r.count("GET")),
                str(r.count("POST")),
                str(r.count("PATCH")),
                str(blobs(r.requests)),
                f"{r.wall:.2f}",
                outcomes(r.reports),
            ]
        )
    return table(head, rows, set(range(1, len(head) - 1)))


def repo_rows(run: Run, specs: dict[str, Spec]) -> str:
    head = ["repository", "shape", "candidates", "requests", "blob reads", "other"]
    head += ["fixed files", "outcome"]
    rows = []
    for rep in run.reports:
        spec = specs[rep.repo]
        read = blobs(run.by_repo.get(rep.repo, []))
        rows.append(
            [
                rep.repo,
                spec.shape,
                str(spec.candidates),
                str(rep.calls),
                str(read),
                str(rep.calls - read),
                str(rep.files_changed),
                str(rep.outcome),
            ]
        )
    return table(head, rows, {2, 3, 4, 5, 6})


def sequence(requests: Sequence[LoggedRequest], repo: str) -> str:
    """The requests in order; runs of the same operation folded into one line."""
    lines: list[tuple[str, int]] = []
    for r in requests:
        where = r.path.removeprefix(f"/repos/{repo}") or "/"
        if r.operation_id == BLOB:
            where = "/git/blobs/..."
        text = f"{r.method:<5} {r.operation_id or '?':<22} {where}  {r.status}"
        if lines and lines[-1][0] == text:
            lines[-1] = (text, lines[-1][1] + 1)
        else:
            lines.append((text, 1))
    return "\n".join(f"  {text}" + (f"  x{n}" if n > 1 else "") for text, n in lines)


def listing_summary(run: Run) -> str:
    ops = Counter(f"{r.method} {r.operation_id}" for r in run.listing)
    return ", ".join(f"{op} x{n}" for op, n in ops.items())


def blob_sha(content: bytes) -> str:
    """The git object id of a file, as the blob URL carries it."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def extra_reads(requests: Sequence[LoggedRequest], files: dict[str, bytes]) -> list[str]:
    """Files read that are not candidates (scripts and programs a Dockerfile runs)."""
    path_of = {blob_sha(content): path for path, content in files.items()}
    read = [path_of.get(r.path.rsplit("/", 1)[-1], "?") for r in requests if r.operation_id == BLOB]
    return sorted(p for p in read if kind_of(p) is None)


def repeated_blobs(runs: list[Run]) -> list[str]:
    """A blob read more than once in one visit of one repository."""
    out = []
    for run in runs:
        for repo, requests in run.by_repo.items():
            twice = Counter(r.path for r in requests if r.operation_id == BLOB)
            out += [f"{run.label}: {repo} {p} x{n}" for p, n in twice.items() if n > 1]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--repos",
        type=int,
        default=20,
        help="repositories in the org, the archived one included (>= 6)",
    )
    args = parser.parse_args(argv)
    if args.repos < 6:
        parser.error("--repos must be at least 6")
    specs = org_specs(args.repos)
    by_name = {f"{ORG}/{s.name}": s for s in specs}
    changed = next(s for s in specs if s.shape == "demo copy")
    settings = Settings()

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as scratch:
        double = GitHubDouble(root=Path(scratch) / "double").start()
        try:
            built = time.perf_counter()
            for s in specs:
                double.create_repo(
                    ORG, s.name, s.files, owner_type="Organization", archived=s.archived
                )
            built = time.perf_counter() - built
            state = Path(scratch) / "state.json"
            cap = len(specs)
            runs = [run_sweep("1 first sweep (writes state)", double, settings, Memory(state), cap)]
            runs.append(run_sweep("2 re-run, no memory", double, settings, None, cap))
            runs.append(run_sweep("3 re-run, state file", double, settings, Memory(state), cap))
            double.commit_files(ORG, changed.name, "main", dict(NEW_SERVICE))
            runs.append(
                run_sweep("4 one base changed, state", double, settings, Memory(state), cap)
            )
        finally:
            double.stop()

    print(GOAL)
    print()
    print(f"date:    {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(
        f"machine: {platform.system()} {platform.release()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    shapes = Counter(s.shape for s in specs)
    print(
        f"org:     {len(specs)} repositories in the GitHub double, created in {built:.2f} s: "
        + ", ".join(f"{n} {k}" for k, n in shapes.items())
    )
    print(f"run 4:   a commit adds {', '.join(NEW_SERVICE)} to {ORG}/{changed.name} first")
    print("each run: list_repositories() and select(), then sweep() with an offline")
    print("          RegistryResolver; figures from the double's request log (304s are free)")
    print(f"listing: {listing_summary(runs[0])} (in every run)")
    print("per repo: sweep()'s requests for one repository, listing excluded")
    print()
    print(run_rows(runs))
    print()
    first = runs[0]
    print("run 1 per repository (candidates: Dockerfiles and YAML files the engine discovers)")
    print()
    print(repo_rows(first, by_name))
    print()
    demo_name = f"{ORG}/{changed.name}"
    print(f"run 1, {demo_name} ({by_name[demo_name].shape}), requests in order:")
    print(sequence(first.by_repo.get(demo_name, []), demo_name))
    extra = extra_reads(first.by_repo.get(demo_name, []), changed.files)
    print(f"  blobs read that are not candidates: {', '.join(extra) or 'none'}")
    print()
    last = runs[-1]
    print(f"run 4, {demo_name} (base changed), requests in order:")
    print(sequence(last.by_repo.get(demo_name, []), demo_name))
    extra = extra_reads(last.by_repo.get(demo_name, []), {**changed.files, **NEW_SERVICE})
    print(f"  blobs read that are not candidates: {', '.join(extra) or 'none'}")
    others = [rep.calls for rep in last.reports if rep.repo != demo_name]
    print(f"run 4, the other {len(others)} repositories: {sum(others)} requests, ", end="")
    print(f"{sum(q.status == 304 for q in last.requests)} answered 304")
    print()
    twice = repeated_blobs(runs)
    print(f"blobs read twice in one repository visit: {len(twice)}")
    for line in twice:
        print(f"  {line}")

    problems = [f"{r.label}: {repo}: {why}" for r in runs for repo, why in r.failures]
    problems += [f"double: {e}" for e in double.errors]
    for line in problems:
        print(f"sweep_api_calls: {line}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
