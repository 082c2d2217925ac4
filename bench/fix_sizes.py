"""How small are fixes? Changed lines per applied fix, per rule, on real files.

For every rule and every file of the inputs (the demo repository, and ../shared/corpus when
present), fix that file with that rule alone (unsafe fixes included, offline: no registry),
count the lines the diff adds or removes, and divide by the number of fixes applied. Prints
the median and the maximum per rule, side by side.

    .venv/bin/python bench/fix_sizes.py
"""

from __future__ import annotations

import difflib
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixers.discover import kind_of, sniff_yaml  # noqa: E402
from fixers.engine import Selection, fix_text  # noqa: E402
from fixers.registry import all_rules  # noqa: E402
from fixers.source import LocalSource  # noqa: E402


def _changed_lines(before: str, after: str) -> int:
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return sum(1 for line in diff if line[:1] in "+-")


def _inputs() -> list[tuple[str, str, str]]:
    """(label, kind, text) for each file to measure."""
    found: list[tuple[str, str, str]] = []
    demo = ROOT / "fixtures" / "demo-repo"
    source = LocalSource(demo)
    for rel in source.walk():
        kind = kind_of(rel)
        text = (demo / rel).read_text(encoding="utf-8")
        if kind == "yaml":
            kind = sniff_yaml(rel, text)
        if kind in ("dockerfile", "k8s", "compose"):
            found.append((f"demo/{rel}", kind, text))
    corpus = ROOT.parent / "shared" / "corpus"
    for folder, kind in (("dockerfiles", "dockerfile"), ("k8s", "k8s")):
        for path in sorted((corpus / folder).glob("*")) if (corpus / folder).is_dir() else []:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if kind == "k8s" and sniff_yaml(path.name, text) != "k8s":
                continue
            found.append((f"corpus/{path.name}", kind, text))
    return found


def main() -> None:
    sizes: dict[str, list[float]] = defaultdict(list)
    files_changed: dict[str, int] = defaultdict(int)
    inputs = _inputs()
    for rule in all_rules():
        selection = Selection(only=frozenset({rule.doc.code}))
        for _, kind, text in inputs:
            if kind != rule.doc.kind:
                continue
            try:
                outcome = fix_text("f", kind, text, selection, unsafe=True)
            except ValueError:
                continue  # unparsable: reported as skipped by the CLI
            if outcome.applied:
                lines = _changed_lines(text, outcome.text)
                sizes[rule.doc.code].append(lines / len(outcome.applied))
                files_changed[rule.doc.code] += 1

    print(f"inputs: {len(inputs)} files (demo repository + ../shared/corpus when present)")
    print("changed lines per applied fix (added + removed), each rule alone, unsafe on\n")
    print(f"{'rule':<8} {'name':<28} {'files':>5} {'median':>7} {'max':>6}")
    print(f"{'-' * 8} {'-' * 28} {'-' * 5} {'-' * 7} {'-' * 6}")
    everything: list[float] = []
    for rule in all_rules():
        values = sizes.get(rule.doc.code, [])
        everything += values
        if not values:
            print(f"{rule.doc.code:<8} {rule.doc.name:<28} {0:>5} {'-':>7} {'-':>6}")
            continue
        print(
            f"{rule.doc.code:<8} {rule.doc.name:<28} {files_changed[rule.doc.code]:>5} "
            f"{statistics.median(values):>7.1f} {max(values):>6.1f}"
        )
    if everything:
        print(f"\nall fixes: median {statistics.median(everything):.1f}, max {max(everything):.1f}")


if __name__ == "__main__":
    main()
