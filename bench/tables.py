"""Plain-text tables for the bench scripts (run as `python bench/NAME.py`, so this folder is on
the import path)."""

from __future__ import annotations


def table(head: list[str], rows: list[list[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; the columns in ``right`` aligned right."""
    body = [head, *rows]
    widths = [max(len(line[i]) for line in body) for i in range(len(head))]

    def fmt(line: list[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(line) for line in rows)])
