"""Ignore comments in YAML files: ``# container-bp ignore=RULE[,RULE] reason`` at the end of
the finding's line, on the lines directly above it, or above the list item (``- name: x``)
that holds it; ``# container-bp ignore-file=RULE`` anywhere for the whole file."""

from __future__ import annotations

import re

_OURS = re.compile(r"#\s*container-bp\s+ignore\s*=\s*([\w,\s-]+?)(?:\s+\S.*)?$", re.IGNORECASE)
_FILE = re.compile(r"#\s*container-bp\s+ignore-file\s*=\s*([\w,\s-]+?)(?:\s+\S.*)?$", re.I)


def _ids(group: str) -> set[str]:
    return {p.strip() for p in re.split(r"[,\s]+", group) if p.strip()}


def normalise(ids: set[str]) -> frozenset[str]:
    return frozenset({i.upper() for i in ids} | {i.lower() for i in ids})


def comment_ignores(lines: list[str], line: int) -> frozenset[str]:
    """Ids switched off at 1-based ``line`` by comments (``lines`` without line endings)."""
    found: set[str] = set()
    for text in lines:
        m = _FILE.search(text)
        if m:
            found |= _ids(m.group(1))
    for text in _nearby_comments(lines, line):
        m = _OURS.search(text)
        if m:
            found |= _ids(m.group(1))
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
