"""Ignore comments in YAML files: ``# container-bp ignore=RULE[,RULE] reason`` at the end of
the finding's line, on the lines directly above it, or above the list item (``- name: x``)
that holds it; ``# container-bp ignore-file=RULE`` anywhere for the whole file."""

from __future__ import annotations

import re

from fixers.ignorecomments import file_ids, line_ids, normalise

_COMMENT = re.compile(r"(?:^|\s)#(.*)$")


def _comment(line: str) -> str:
    """The text after a line's comment marker ("" when it has none)."""
    m = _COMMENT.search(line)
    return m.group(1) if m else ""


def comment_ignores(lines: list[str], line: int) -> frozenset[str]:
    """Ids switched off at 1-based ``line`` by comments (``lines`` without line endings)."""
    found: set[str] = set()
    for text in lines:
        found |= file_ids(_comment(text))
    for text in _nearby_comments(lines, line):
        found |= line_ids(_comment(text))
    return normalise(found)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _nearby_comments(lines: list[str], line: int) -> list[str]:
    if not 1 <= line <= len(lines):
        return []
    found = [lines[line - 1]]
    own = _indent(lines[line - 1])
    i = line - 2
    while i >= 0:
        text = lines[i]
        stripped = text.strip()
        if stripped.startswith("#"):
            if _indent(text) <= own:  # not a comment inside a sibling's nested block
                found.append(text)
        elif not stripped or (_indent(text) < own and not stripped.startswith("- ")):
            break  # a blank line or a parent key ends the search
        elif _indent(text) < own:
            # The list item holding the finding: its own comment lines count too.
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("#"):
                found.append(lines[j])
                j -= 1
            break
        i -= 1
    return found
