"""The report for machines: a stable JSON document, described by ``bot/schemas/report.schema.json``.

Within ``"version": 1`` fields are only ever added, never renamed, retyped or removed
(docs/json-report.md), so consumers must ignore keys they do not know.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bot import __version__
from bot.report.text_report import unified_diff
from fixers.engine import allowed
from fixers.model import Finding, FixSafety, Severity
from fixers.registry import find_rule
from fixers.run import RunResult

SCHEMA_VERSION = 1
TOOL_NAME = "container-bp"


def rule_name(code: str) -> str:
    """The kebab-case name of a rule; the code itself if the rule is unknown (never fails)."""
    rule = find_rule(code)
    return rule.doc.name if rule is not None else code


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "name": rule_name(f.rule),
        "path": f.path,
        "line": f.line,
        "end_line": f.end_line,
        "column": f.column,
        "severity": f.severity.value,
        "message": f.message,
        "fix": f.fix_safety.value,
        "suggestion": f.suggestion,
    }


def report(
    result: RunResult, *, fixing: bool = False, diff: bool = False, unsafe: bool = False
) -> dict[str, Any]:
    """The report as plain data (what ``render`` serialises)."""
    # After fixing, what matters is what is left, as in the text report and the exit code.
    findings = [f for r in result.files for f in (r.remaining if fixing else r.findings)]
    by_severity = Counter(f.severity.value for f in findings)
    summary: dict[str, Any] = {
        "findings": len(findings),
        "fixable": sum(1 for f in findings if f.fix_safety != FixSafety.NONE),
        "by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
    }
    out: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "mode": "fix" if fixing else "scan",
        "findings": [finding_json(f) for f in findings],
        "files_scanned": len(result.files),
        "files_skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
        "summary": summary,
    }
    if fixing:
        out["fixed"] = [finding_json(f) for r in result.files for f in r.applied]
        # The engine's reasons do not name the file; prefix it, as the text report does.
        out["rejected"] = [f"{r.path}: {why}" for r in result.files for why in r.rejected]
        summary["fixed"] = len(out["fixed"])
        summary["files_changed"] = sum(1 for r in result.files if r.changed)
        summary["fixable_with_unsafe"] = sum(
            1 for f in findings if f.fix is not None and not allowed(f.fix.safety, unsafe)
        )
        out["dry_run"] = diff
        if diff:
            out["diffs"] = {r.path: unified_diff(r) for r in result.files if r.changed}
    return out


def render(result: RunResult, *, explain: bool, fixing: bool, diff: bool, unsafe: bool) -> str:
    # ``explain`` adds nothing: rule docs are one `container-bp rules --format json` away.
    data = report(result, fixing=fixing, diff=diff, unsafe=unsafe)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
