"""Real builds: what ``container-bp fix --unsafe`` changes in images and containers.

Usage (from the repository root, with the dev venv, as root with the Debian packages of
``tests/containers/harness.py``)::

    .venv/bin/python bench/real_builds.py                 # every sample
    .venv/bin/python bench/real_builds.py c-server --diffs

For each sample application in ``tests/containers/samples`` it fixes a copy with
``container-bp fix --unsafe`` (pinning against a local registry that stands in for Docker Hub),
builds the original and the fixed Dockerfile with buildah, runs both with podman, probes the
app, counts zombies, and times ``podman stop -t 5``; then it checks which of the demo
repository's Dockerfiles could be built here. It prints Markdown: the tables of
``docs/benchmarks.md``. It asserts nothing (``pytest -m containers`` does); it exits 2 when
real containers cannot run here.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.containers.harness import ContainerEnv, available  # noqa: E402
from tests.containers.samples import (  # noqa: E402
    SAMPLES,
    Result,
    measure,
    rows,
    unavailable_bases,
    variant_rows,
)

DEMO = ROOT / "fixtures" / "demo-repo"


def markdown(head: list[str], body: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(head), line(["---"] * len(head)), *(line(r) for r in body)])


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "?"
    return out.splitlines()[0].strip() if out else "?"


def machine() -> list[str]:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for text in f:
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    debian = Path("/etc/debian_version")
    return [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: Linux {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"Debian {debian.read_text().strip() if debian.exists() else '?'}, "
        f"Python {platform.python_version()}",
        f"tools: {_version(['buildah', '--version'])}; {_version(['podman', '--version'])}; "
        f"{_version(['runc', '--version'])}",
    ]


def report(result: Result, diffs: bool) -> str:
    name, fix = result.sample.name, result.fix
    out = [f"### {name}", ""]
    out.append(markdown(["", "original", "fixed"], [list(r) for r in rows(result)]))
    out.append("")
    out.append(f"- rules fixed: {', '.join(fix.rules)}")
    if fix.left or fix.rejected:
        out.append(f"- left: {fix.left or 'none'}; rejected: {fix.rejected or 'none'}")
    for image, digest in result.pins:
        pinned = image.endswith(f"@{digest}")
        used = result.fixed.image is not None and f"FROM {image}" in result.fixed.image.log
        out.append(
            f"- `FROM {image}`: digest {'=' if pinned else '!='} the local registry's for the "
            f"tag; {'pulled by the build' if used else 'NOT in the build log'}"
        )
    for label, text in variant_rows(result):
        out.append(f"- {label}: {text}")
    for built, label in ((result.original, "original"), (result.fixed, "fixed")):
        if built.error is not None:
            out.append(f"- the {label} build FAILED:\n\n```\n{built.error.output[-1500:]}\n```")
    out.append(f"- measured in {result.seconds:.0f} s (builds of both files side by side)")
    if diffs:
        diff = difflib.unified_diff(
            fix.before.splitlines(keepends=True),
            fix.after.splitlines(keepends=True),
            f"{name}/Dockerfile",
            f"{name}/Dockerfile (fixed)",
        )
        out += ["", "```diff", "".join(diff).rstrip("\n"), "```"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="*", help="sample names (default: all)")
    parser.add_argument("--diffs", action="store_true", help="print each fix as a diff")
    args = parser.parse_args(argv)
    reason = available()
    if reason:
        print(f"real_builds: {reason}", file=sys.stderr)
        return 2
    chosen = [s for s in SAMPLES if not args.samples or s.name in args.samples]
    unknown = set(args.samples) - {s.name for s in SAMPLES}
    if unknown:
        print(f"real_builds: unknown samples {sorted(unknown)}", file=sys.stderr)
        return 2

    started = time.monotonic()
    print("\n".join(machine()), end="\n\n")
    with ContainerEnv.start() as env, tempfile.TemporaryDirectory(prefix="cbp-bench-") as tmp:
        for base in ("debian", "python"):
            env.base(base)
        bases = ", ".join(f"{k} {v:.1f} s" for k, v in env.timings.items())
        print(f"session set-up and base images: {bases}\n")
        for sample in chosen:
            result = measure(env, sample, Path(tmp) / sample.name)
            print(report(result, args.diffs), end="\n\n", flush=True)

        print("### Demo repository\n")
        demo = []
        for path in sorted(DEMO.rglob("*")):
            if path.is_file() and (
                path.name in ("Dockerfile", "Containerfile") or ".legacy" in path.name
            ):
                missing = unavailable_bases(env, path)
                state = f"not built: no local {', '.join(missing)}" if missing else "buildable"
                demo.append([str(path.relative_to(DEMO)), state])
        print(markdown(["file", "here"], demo), end="\n\n")
    print(f"total: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
