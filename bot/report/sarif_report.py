"""The report for GitHub code scanning (and any SARIF viewer): SARIF 2.1.0, one run.

Choices a SARIF consumer may want to know:

- ``rules[].id`` is the stable code (``CBP101``); ``rules[].name`` is the kebab name turned
  into PascalCase (``UnpinnedBaseImage``), the SARIF spec's convention for names.
- Rule text comes only from the ``RuleDoc`` via ``bot.report.ruledoc`` (``help.text`` and
  ``help.markdown`` are exactly what ``container-bp explain`` prints).
- A rule is tagged ``security`` when its default severity is ``error`` or when Checkov (a
  security-policy scanner) has the same check; ``error`` rules also get a GitHub
  ``security-severity`` so code scanning ranks them as high.
- ``partialFingerprints["containerBp/v1"]`` hashes the rule, the path and the trimmed text of
  the finding's first line, plus an occurrence count for identical lines: an alert survives
  lines being added above it, and is new when the offending line itself changes.
- Columns count Unicode code points (``run.columnKind``), as the engine does.
- After ``fix``, results are what is left, located in the fixed text. ``fixes`` (the
  engine's text edits as SARIF replacements) are given only where their offsets match the
  file on disk, so not after ``fix --diff``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from bot import __version__
from bot.report.ruledoc import explain_markdown, explain_text
from fixers.model import FileResult, Finding, Severity
from fixers.registry import find_rule
from fixers.rule import RuleDoc
from fixers.run import RunResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "container-bp"
# The project's public home; the package page until the repository has a public address.
INFORMATION_URI = "https://pypi.org/project/container-bp-action/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "containerBp/v1"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# GitHub ranks security-severity >= 7.0 as "high"; only error rules carry one.
SECURITY_SEVERITY = {Severity.ERROR: "7.5"}
# Peer tools whose checks are security policies, so sharing a check means security relevance.
SECURITY_PEERS = frozenset({"checkov"})


def pascal_case(kebab: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in kebab.split("-") if part)


def is_security(doc: RuleDoc) -> bool:
    return doc.severity == Severity.ERROR or any(tool in SECURITY_PEERS for tool in doc.peers)


def rule_descriptor(doc: RuleDoc) -> dict[str, Any]:
    tags = [doc.kind, "container"]
    if is_security(doc):
        tags.append("security")
    properties: dict[str, Any] = {"tags": tags, "precision": "high"}
    if doc.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[doc.severity]
    descriptor: dict[str, Any] = {
        "id": doc.code,
        "name": pascal_case(doc.name),
        "shortDescription": {"text": doc.title},
        "fullDescription": {"text": doc.what},
        "help": {"text": explain_text(doc), "markdown": explain_markdown(doc)},
        "defaultConfiguration": {"level": LEVELS[doc.severity]},
        "properties": properties,
    }
    if doc.references:
        descriptor["helpUri"] = doc.references[0]
    return descriptor


def artifact_location(path: str) -> dict[str, Any]:
    """A relative path resolves against %SRCROOT% (the checkout); an absolute one is a file URI."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


_VALUE = re.compile(r"(=|:\s|^(?:ENV|ARG)\s+\S+\s).*$", re.IGNORECASE)


def fingerprint(f: Finding, lines: list[str], seen: Counter[str]) -> str:
    """Stable across line moves: rule, path and the trimmed first line, never the line number.

    The line is cut where a value starts (``=``, ``: ``, the legacy ``ENV NAME value``): it
    may be a secret, and a hash of a short secret can be reversed by guessing. Identical
    shapes stay apart by count.
    """
    text = lines[f.line - 1].strip() if 0 < f.line <= len(lines) else f.message
    text = _VALUE.sub("", text)
    base = "\0".join((f.rule, f.path, text))
    seen[base] += 1  # two identical offending lines in one file stay two alerts
    return f"{hashlib.sha256(base.encode('utf-8')).hexdigest()[:32]}:{seen[base]}"


def _fixes(f: Finding) -> list[dict[str, Any]]:
    if f.fix is None:
        return []
    replacements = [
        {
            "deletedRegion": {"charOffset": e.start, "charLength": e.end - e.start},
            "insertedContent": {"text": e.new},
        }
        for e in f.fix.edits
    ]
    return [
        {
            "description": {"text": f.fix.description},
            "artifactChanges": [
                {"artifactLocation": artifact_location(f.path), "replacements": replacements}
            ],
        }
    ]


def _result(
    f: Finding, rule_index: int, lines: list[str], seen: Counter[str], with_fixes: bool
) -> dict[str, Any]:
    text = f.message
    if f.suggestion and not f.fix:
        text += f"\n\nhint: {f.suggestion}"
    region = {"startLine": f.line, "endLine": max(f.end_line, f.line), "startColumn": f.column}
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": [
            {"physicalLocation": {"artifactLocation": artifact_location(f.path), "region": region}}
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, lines, seen)},
        "properties": {"fix": f.fix_safety.value},
    }
    fixes = _fixes(f) if with_fixes else []
    if fixes:
        out["fixes"] = fixes
    return out


def _file_text(file_result: FileResult, fixing: bool, diff: bool = False) -> str:
    # After fixing (written), findings are located in the fixed text; with --diff nothing was
    # written and they are located in the original.
    if fixing and not diff and file_result.fixed is not None:
        return file_result.fixed
    return file_result.original or ""


def report(result: RunResult, *, fixing: bool = False, diff: bool = False) -> dict[str, Any]:
    """The SARIF log as plain data (what ``render`` serialises)."""
    per_file = [(r, r.remaining if fixing else r.findings) for r in result.files]
    codes = sorted({f.rule for _, findings in per_file for f in findings})
    rule_index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = find_rule(code)
        rules.append(rule_descriptor(rule.doc) if rule is not None else {"id": code})

    with_fixes = not (fixing and diff)  # after --diff the file on disk is still the original
    results = []
    for file_result, findings in per_file:
        lines = _file_text(file_result, fixing, diff).splitlines()
        seen: Counter[str] = Counter()
        for f in findings:
            results.append(_result(f, rule_index[f.rule], lines, seen, with_fixes))

    notifications: list[dict[str, Any]] = [
        {
            "level": "warning",
            "message": {"text": f"skipped: {s.reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(s.path)}}],
        }
        for s in result.skipped
    ]
    notifications += [
        {
            "level": "note",
            "message": {"text": f"fix not applied: {why}"},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(r.path)}}],
        }
        for r in result.files
        for why in r.rejected
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "informationUri": INFORMATION_URI,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render(result: RunResult, *, explain: bool, fixing: bool, diff: bool, unsafe: bool) -> str:
    # ``explain`` adds nothing: every rule's full documentation is already in ``help``.
    data = report(result, fixing=fixing, diff=diff)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
