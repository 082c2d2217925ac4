"""The hunks of a pull-request file's ``patch`` (as ``GET /pulls/{n}/files`` returns it).

GitHub accepts review comments only on lines a hunk covers, on the new (RIGHT) side.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_HEADER = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    """RIGHT-side lines ``new_start..new_end`` (inclusive, context lines too; empty when
    ``new_end < new_start``) and which of them the pull request added."""

    new_start: int
    new_end: int
    added: frozenset[int]

    def covers(self, line: int) -> bool:
        return self.new_start <= line <= self.new_end


def parse_patch(patch: str | None) -> list[Hunk]:
    """The hunks of a patch; none when GitHub sent no patch (binary or too large a file)."""
    if not patch:
        return []
    hunks: list[Hunk] = []
    start = end = line = old_left = new_left = 0
    added: set[int] = set()
    in_hunk = False
    # Split on "\n" only: a lone "\r" inside a line is content, and CRLF lines keep their
    # first character, which is all that is read.
    for raw in patch.split("\n"):
        header = _HEADER.match(raw)
        if header is not None:
            if in_hunk:
                hunks.append(Hunk(start, end, frozenset(added)))
            # A count left out ("@@ -1 +1 @@") is 1.
            old_left = int(header.group(2)) if header.group(2) is not None else 1
            new_left = int(header.group(4)) if header.group(4) is not None else 1
            start = line = int(header.group(3))
            if new_left == 0:
                # "+0,0" (the file is now empty) or "+5,0" (lines deleted after line 5): the
                # start names the line before the gap, and the hunk covers no new line.
                start = line = start + 1
            # From the header's count, not the lines seen: a trailing context line that is
            # empty may have lost its space.
            end = start + new_left - 1
            added = set()
            in_hunk = True
            continue
        if not in_hunk or raw.startswith("\\") or (old_left <= 0 and new_left <= 0):
            continue  # "\ No newline at end of file", or text past the hunk's counts
        marker = raw[:1]
        if marker == "+":
            added.add(line)
            line += 1
            new_left -= 1
        elif marker == "-":
            old_left -= 1
        else:  # context; an empty line is a context line whose space was stripped
            line += 1
            old_left -= 1
            new_left -= 1
    if in_hunk:
        hunks.append(Hunk(start, end, frozenset(added)))
    return hunks


def hunk_of(hunks: Sequence[Hunk], line: int) -> Hunk | None:
    """The hunk that covers a RIGHT-side line, if any."""
    for hunk in hunks:
        if hunk.covers(line):
            return hunk
    return None


def added_lines(hunks: Sequence[Hunk]) -> frozenset[int]:
    """Every line the pull request added."""
    return frozenset(n for hunk in hunks for n in hunk.added)
