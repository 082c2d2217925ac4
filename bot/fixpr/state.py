"""The bot's state, kept in a hidden HTML comment in the pull request body.

Re-runs read it back from the open (or last closed) pull request, so no storage is needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MARKER_START = "<!-- container-bp:state"
# Up to the first `}` that ends the comment; encode() escapes `<` and `>`, so the JSON can
# never hold `-->` itself.
_MARKER = re.compile(r"<!--\s*container-bp:state\s*(\{.*?\})\s*-->", re.DOTALL)
_REQUIRED = ("base_sha", "fixes_digest", "version")


@dataclass(frozen=True)
class PrState:
    base_sha: str  # the base branch commit the fixes were made on
    fixes_digest: str  # fixes_digest() of the proposed changes
    version: str  # the container-bp version (and settings) that made them
    head_sha: str = ""  # the commit the bot pushed to its branch
    closed_by_bot: bool = False  # closed because nothing was left, not declined by a person
    blocked_sha: str | None = None  # a foreign branch head the bot already commented on

    def replace(self, **changes: Any) -> PrState:
        return dataclasses.replace(self, **changes)


def encode(state: PrState) -> str:
    """The state as an HTML comment: invisible in the rendered body."""
    data = json.dumps(dataclasses.asdict(state), sort_keys=True, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{MARKER_START} {data} -->"


def decode(body: str | None) -> PrState | None:
    """The state in a pull request body (the last marker wins), or None when there is none or
    it is not one this version understands."""
    if not body:
        return None
    matches = _MARKER.findall(body)
    if not matches:
        return None
    try:
        data = json.loads(matches[-1])
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in _REQUIRED):
        return None
    head, closed, blocked = (data.get(k) for k in ("head_sha", "closed_by_bot", "blocked_sha"))
    if not isinstance(head, str | None) or not isinstance(closed, bool | None):
        return None
    if not isinstance(blocked, str | None):
        return None
    return PrState(
        base_sha=data["base_sha"],
        fixes_digest=data["fixes_digest"],
        version=data["version"],
        head_sha=head or "",
        closed_by_bot=bool(closed),
        blocked_sha=blocked,
    )


def fixes_digest(changes: Mapping[str, str]) -> str:
    """sha256 over the sorted (path, new content) pairs: the same fixes give the same digest,
    whatever order they were made in."""
    canonical = json.dumps(sorted(changes.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
