"""Golden cases under ``fixtures/<rule-name>/<case>/``, in the manner of Polaris's triplets.

- ``fail-*``: ``input`` must raise the rule. With ``expected``, fixing ``input`` (that rule only)
  gives exactly ``expected``; without it the rule is detect-only there and ``input`` comes back
  byte-identical.
- ``pass-*``: ``input`` must not raise the rule and comes back byte-identical.
- optional ``case.json``: ``{"unsafe": true, "kind": "shell", "options": {...},
  "lines": [3, 7]}`` (``lines``: the lines the findings must start on); pinning cases add
  ``"resolutions": {"docker.io/library/python:latest": {"digest": ..., "tag": ...}}`` (what
  the registry answered), ``"pin_digests"`` and ``"pin_ignore"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOT_RULES = {"demo-repo"}


@dataclass
class Case:
    rule: str
    name: str
    folder: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input(self) -> str:
        return (self.folder / "input").read_bytes().decode("utf-8")

    @property
    def expected(self) -> str | None:
        path = self.folder / "expected"
        return path.read_bytes().decode("utf-8") if path.exists() else None

    @property
    def failing(self) -> bool:
        return self.name.startswith("fail-")

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.name}"


def cases() -> list[Case]:
    found = []
    for rule_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        if rule_dir.name in NOT_RULES:
            continue
        for case_dir in sorted(p for p in rule_dir.iterdir() if p.is_dir()):
            meta_file = case_dir / "case.json"
            meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
            found.append(Case(rule_dir.name, case_dir.name, case_dir, meta))
    return found
