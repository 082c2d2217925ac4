"""Scan throughput: our engine in-process, the container-bp CLI, hadolint and checkov.

Usage (from the repository root, with the dev venv)::

    .venv/bin/python bench/scan_throughput.py [DIR] [--repeat N] [--runs N] [--checkov PATH]

DIR defaults to ``../shared/corpus/dockerfiles`` (relative to the repository root) when it
exists, else ``fixtures/``. Every file under DIR that container-bp would treat as a Dockerfile
is used; flattened corpus names such as ``owner__repo__Dockerfile`` are judged by the part
after the last ``__``. The files are copied into a temporary directory as ``NNNN/Dockerfile``
so that every tool discovers exactly the same set.

This is a benchmark, not a test: it asserts nothing and always exits 0 unless misused.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tables import table  # noqa: E402

from fixers.discover import kind_of  # noqa: E402
from fixers.engine import Selection, scan_text  # noqa: E402

MIB = 1024 * 1024


@dataclass
class Row:
    tool: str
    files: int
    unparsed: int | None = None
    findings: int | None = None
    wall: float | None = None
    peak_rss_mib: float | None = None
    note: str = ""

    def cells(self) -> list[str]:
        def num(value: float | int | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        rate = self.files / self.wall if self.wall else None
        return [
            self.tool,
            str(self.files),
            num(self.unparsed, "d"),
            num(self.findings, "d"),
            num(self.wall, ".3f"),
            num(rate, ".1f"),
            num(self.peak_rss_mib, ".1f"),
            self.note,
        ]


def default_dir() -> Path:
    corpus = (ROOT / ".." / "shared" / "corpus" / "dockerfiles").resolve()
    return corpus if corpus.is_dir() else ROOT / "fixtures"


def is_dockerfile(path: Path) -> bool:
    name = path.name
    return kind_of(name) == "dockerfile" or kind_of(name.rsplit("__", 1)[-1]) == "dockerfile"


def collect(directory: Path) -> list[Path]:
    skip = {".git", ".venv", "node_modules", "__pycache__"}
    found = []
    for path in sorted(directory.rglob("*")):
        if skip.intersection(path.relative_to(directory).parts):
            continue
        if path.is_file() and is_dockerfile(path):
            found.append(path)
    return found


def stage(files: list[Path], into: Path) -> list[Path]:
    staged = []
    for index, path in enumerate(files):
        target = into / f"{index:04d}" / "Dockerfile"
        target.parent.mkdir(parents=True)
        shutil.copyfile(path, target)
        staged.append(target)
    return staged


def bench_engine(files: list[Path], repeat: int) -> tuple[Row, float]:
    texts: list[tuple[str, str | None]] = []
    for path in files:
        try:
            texts.append((path.name, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            texts.append((path.name, None))

    def one_pass() -> tuple[int, int]:
        unparsed = findings = 0
        for name, text in texts:
            if text is None:
                unparsed += 1
                continue
            try:
                findings += len(scan_text(name, "dockerfile", text, Selection()))
            except ValueError:
                unparsed += 1
        return unparsed, findings

    one_pass()  # warm-up: lazy imports, compiled patterns, rule registry
    times = []
    unparsed = findings = 0
    for _ in range(repeat):
        start = time.perf_counter()
        unparsed, findings = one_pass()
        times.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB
    # A separate pass under tracemalloc (which slows allocation down) for the Python-heap peak.
    tracemalloc.start()
    one_pass()
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = Row(
        "container-bp engine (in-process)",
        len(files),
        unparsed,
        findings,
        statistics.median(times),
        rss,
        f"median of {repeat} passes; whole-process RSS",
    )
    return row, heap_peak / MIB


@dataclass
class Run:
    status: int
    wall: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_measured(argv: list[str], cwd: Path) -> Run:
    """Run argv; wall time and the peak RSS of this child (and what it waited for)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, wait_status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        out.seek(0)
        err.seek(0)
        return Run(
            proc.returncode,
            wall,
            usage.ru_maxrss * 1024 / MIB,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def run_many(argv: list[str], cwd: Path, runs: int) -> tuple[Run, float, float]:
    """The last run, the median wall time and the largest peak RSS over ``runs`` runs."""
    done = [run_measured(argv, cwd) for _ in range(runs)]
    return done[-1], statistics.median(r.wall for r in done), max(r.peak_rss_mib for r in done)


def first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:80] if lines else ""


def bench_cli(exe: str, stage_dir: Path, files: int, runs: int) -> Row:
    argv = [exe, "scan", str(stage_dir), "--format", "json", "--no-progress"]
    last, wall, rss = run_many(argv, stage_dir, runs)
    row = Row("container-bp scan (subprocess)", files, wall=wall, peak_rss_mib=rss)
    row.note = f"median of {runs} runs; includes start-up"
    if last.status not in (0, 1):
        row.note = f"exit {last.status}: {first_line(last.stderr)}"
        return row
    try:
        report: dict[str, Any] = json.loads(last.stdout)
        row.files = int(report.get("files_scanned", 0)) + len(report.get("files_skipped", []))
        row.unparsed = len(report.get("files_skipped", []))
        row.findings = len(report.get("findings", []))
    except (ValueError, TypeError, AttributeError) as exc:
        row.note = f"unreadable JSON report: {exc}"
    return row


def bench_hadolint(exe: str, staged: list[Path], stage_dir: Path, runs: int) -> Row:
    argv = [exe, "-f", "json", "--no-fail", *map(str, staged)]
    last, wall, rss = run_many(argv, stage_dir, runs)
    row = Row("hadolint", len(staged), wall=wall, peak_rss_mib=rss)
    row.note = f"median of {runs} runs; one invocation for all files"
    try:
        results = json.loads(last.stdout or "[]")
    except ValueError:
        row.note = f"exit {last.status}: {first_line(last.stderr or last.stdout)}"
        return row
    # Hadolint reports a file it cannot parse as a single DL1000 result.
    row.unparsed = len({r.get("file") for r in results if r.get("code") == "DL1000"})
    row.findings = sum(1 for r in results if r.get("code") != "DL1000")
    return row


def bench_checkov(exe: str, stage_dir: Path, files: int, runs: int) -> Row:
    argv = [exe, "--framework", "dockerfile", "-d", str(stage_dir), "--quiet", "-o", "json"]
    last, wall, rss = run_many(argv, stage_dir, runs)
    row = Row("checkov", files, wall=wall, peak_rss_mib=rss)
    row.note = f"median of {runs} runs"
    try:
        data = json.loads(last.stdout)
    except ValueError:
        row.note = f"exit {last.status}: {first_line(last.stderr or last.stdout)}"
        return row
    reports = data if isinstance(data, list) else [data]
    summaries = [r.get("summary", {}) for r in reports if isinstance(r, dict)]
    row.unparsed = sum(int(s.get("parsing_errors", 0)) for s in summaries)
    row.findings = sum(int(s.get("failed", 0)) for s in summaries)
    return row


def find_tool(name: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit if Path(explicit).is_file() or shutil.which(explicit) else None
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def rows_table(rows: list[Row]) -> str:
    head = ["tool", "files", "unparsed", "findings", "wall s", "files/s", "peak RSS MiB", "note"]
    return table(head, [r.cells() for r in rows], {1, 2, 3, 4, 5, 6})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directory", nargs="?", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5, help="in-process passes (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per subprocess tool (default 3)")
    parser.add_argument("--hadolint", metavar="PATH", help="hadolint executable")
    parser.add_argument("--checkov", metavar="PATH", help="checkov executable")
    parser.add_argument(
        "--container-bp", metavar="PATH", dest="cbp", help="container-bp executable"
    )
    args = parser.parse_args(argv)

    directory: Path = (args.directory or default_dir()).resolve()
    if not directory.is_dir():
        parser.error(f"{directory}: not a directory")
    files = collect(directory)
    if not files:
        parser.error(f"{directory}: no Dockerfiles found")

    print(f"date:    {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {machine()}")
    try:
        shown = directory.relative_to(ROOT.parent)
        where = f"../{shown}" if not directory.is_relative_to(ROOT) else str(shown)
    except ValueError:
        where = str(directory)
    print(
        f"input:   {where} ({len(files)} Dockerfiles, {sum(f.stat().st_size for f in files)} bytes)"
    )
    print()

    rows: list[Row] = []
    engine_row, heap_peak = bench_engine(files, max(1, args.repeat))
    rows.append(engine_row)
    notes = [f"engine Python-heap peak (tracemalloc, one pass): {heap_peak:.1f} MiB"]

    with tempfile.TemporaryDirectory(prefix="cbp-bench-") as tmp:
        stage_dir = Path(tmp)
        staged = stage(files, stage_dir)
        runs = max(1, args.runs)

        cbp = find_tool("container-bp", args.cbp)
        if cbp:
            rows.append(bench_cli(cbp, stage_dir, len(staged), runs))
        else:
            notes.append("container-bp: not installed")
        hadolint = find_tool("hadolint", args.hadolint)
        if hadolint:
            rows.append(bench_hadolint(hadolint, staged, stage_dir, runs))
        else:
            notes.append("hadolint: not installed")
        checkov = find_tool("checkov", args.checkov)
        if checkov:
            rows.append(bench_checkov(checkov, stage_dir, len(staged), runs))
        else:
            notes.append("checkov: not installed")

    print(rows_table(rows))
    print()
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
