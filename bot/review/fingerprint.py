"""Stable fingerprints for review comments, so a re-run finds what it already said.

Like reviewdog's, a fingerprint leaves out the line number: a comment keeps its fingerprint
when lines above it are added or removed.
"""

from __future__ import annotations

import hashlib
import re

MARKER = "container-bp:fp="
_FOUND = re.compile(re.escape(MARKER) + r"([0-9a-f]+)")


def fingerprint(rule: str, path: str, line_text: str, message: str) -> str:
    """16 hex digits of sha256 over the rule, path, flagged line (whitespace normalised) and
    message."""
    normalised = " ".join(line_text.split())
    data = "\0".join((rule, path, normalised, message)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def marker(fp: str) -> str:
    """The hidden HTML comment that carries a fingerprint in a comment body."""
    return f"<!-- {MARKER}{fp} -->"


def fingerprints_in(body: str) -> set[str]:
    """Every fingerprint a comment body carries."""
    return set(_FOUND.findall(body))
