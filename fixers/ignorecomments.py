"""``container-bp ignore=RULE[, RULE] reason`` and ``container-bp ignore-file=RULE``: the one
grammar every kind of file uses (the comment marker differs; the text after it does not)."""

from __future__ import annotations

import re

# Ids are separated by commas (spaces around them allowed); the first bare space starts the
# reason, so `ignore=CBP103, CBP102 we use --init` names two rules.
_IDS = r"([\w-]+(?:[ \t]*,[ \t]*[\w-]+)*)"
_LINE = re.compile(rf"^container-bp\s+ignore\s*=\s*{_IDS}", re.IGNORECASE)
_FILE = re.compile(rf"^container-bp\s+ignore-file\s*=\s*{_IDS}", re.IGNORECASE)


def split_ids(group: str) -> set[str]:
    return {part.strip() for part in group.split(",") if part.strip()}


def normalise(ids: set[str]) -> frozenset[str]:
    """Codes compare upper-case, names lower-case: keep both spellings."""
    return frozenset({i.upper() for i in ids} | {i.lower() for i in ids})


def line_ids(comment: str) -> set[str]:
    """Ids of ``container-bp ignore=...`` in a comment's text (after the marker)."""
    m = _LINE.match(comment.strip())
    return split_ids(m.group(1)) if m else set()


def file_ids(comment: str) -> set[str]:
    """Ids of ``container-bp ignore-file=...`` in a comment's text (after the marker)."""
    m = _FILE.match(comment.strip())
    return split_ids(m.group(1)) if m else set()
