"""The engine: scan a document, and fix it to a fixed point with every fix verified.

Fixes apply one at a time. After each, the text is re-parsed and re-scanned; a fix whose
result does not parse, or after which its rule fires as often as before, is dropped and
reported, so a file is never left worse. Edits of a fix are computed on the text they
apply to, so fixes of two rules can never corrupt each other's offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fixers.compose.kind import ComposeKind
from fixers.config import Config
from fixers.dockerfile.kind import DockerfileKind
from fixers.facts import Facts
from fixers.k8s.kind import K8sKind
from fixers.kinds import Kind, object_at
from fixers.model import Finding, Fix, FixSafety
from fixers.registry import all_rules
from fixers.rule import Context, Rule
from fixers.shell.kind import ShellKind
from fixers.textedit import apply_edits

KINDS: dict[str, Kind] = {
    "dockerfile": DockerfileKind(),
    "shell": ShellKind(),
    "k8s": K8sKind(),
    "compose": ComposeKind(),
}
MAX_FIXES_PER_FILE = 64


def register_kind(kind: Kind) -> None:
    KINDS[kind.name] = kind


@dataclass(frozen=True)
class Selection:
    """Which rules run (the config's choice, narrowed by ``--rules``/``--skip``), and the facts
    gathered for them before the run (registry resolutions)."""

    config: Config = field(default_factory=Config)
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    facts: Facts = field(default_factory=Facts)

    def rules(self, kind: str) -> list[Rule[Any]]:
        out = []
        for rule in all_rules():
            d = rule.doc
            if d.kind != kind or not self.config.is_enabled(d):
                continue
            if self.only and not any(d.matches(s) for s in self.only):
                continue
            if any(d.matches(s) for s in self.skip):
                continue
            out.append(rule)
        return out


def _is_ignored(finding: Finding, rule: Rule[Any], ignored: frozenset[str]) -> bool:
    if not ignored:
        return False
    if "*" in ignored:
        return True
    ids = {rule.doc.code.upper(), rule.doc.name.lower()}
    ids |= {p.upper() for p in rule.doc.peer_ids}
    return bool(ids & ignored)


def scan_doc(path: str, kind: Kind, doc: Any, selection: Selection) -> list[Finding]:
    findings: list[Finding] = []
    config = selection.config
    for rule in selection.rules(kind.name):
        ctx: Context[Any] = Context(
            path=path, doc=doc, options=config.options_for(rule.doc), facts=selection.facts
        )
        for finding in rule.check(ctx):
            if _is_ignored(finding, rule, kind.ignored_ids(doc, finding.line)):
                continue
            if config.ignore and config.ignores(path, rule.doc, object_at(kind, doc, finding.line)):
                continue
            severity = config.severity_for(rule.doc)
            if severity is not None and severity != finding.severity:
                finding = replace(finding, severity=severity)
            findings.append(finding)
    findings.sort(key=lambda f: (f.line, f.rule, f.message))
    return findings


def scan_text(path: str, kind_name: str, text: str, selection: Selection) -> list[Finding]:
    """Findings for one file; raises ValueError when the file does not parse."""
    kind = KINDS[kind_name]
    return scan_doc(path, kind, kind.parse(text), selection)


@dataclass
class FixOutcome:
    text: str
    applied: list[Finding]
    rejected: list[tuple[Finding, str]]
    remaining: list[Finding]


def _fix_key(text: str, fix: Fix, rule: str) -> tuple[Any, ...]:
    # Independent of offsets, which move as other fixes land.
    return (rule, fix.description, tuple((text[e.start : e.end], e.new) for e in fix.edits))


def allowed(safety: FixSafety, unsafe: bool) -> bool:
    return safety == FixSafety.SAFE or (unsafe and safety == FixSafety.UNSAFE)


def fix_text(
    path: str,
    kind_name: str,
    text: str,
    selection: Selection,
    *,
    unsafe: bool = False,
    findings: list[Finding] | None = None,
) -> FixOutcome:
    """Apply fixes until none is left (or the bound is hit). Raises ValueError if unparsable.

    ``findings``: the scan of ``text`` when the caller already has it.
    """
    kind = KINDS[kind_name]
    current = text
    if findings is None:
        findings = scan_doc(path, kind, kind.parse(current), selection)
    applied: list[Finding] = []
    rejected: list[tuple[Finding, str]] = []
    refused: set[tuple[Any, ...]] = set()

    for _ in range(MAX_FIXES_PER_FILE):
        candidate = _next_fix(current, findings, refused, unsafe)
        if candidate is None:
            break
        assert candidate.fix is not None
        key = _fix_key(current, candidate.fix, candidate.rule)
        reason = None
        try:
            new_text = apply_edits(current, candidate.fix.edits)
            new_findings = scan_doc(path, kind, kind.parse(new_text), selection)
        except ValueError as exc:
            reason = f"the fixed file does not parse ({exc})"
        else:
            if new_text == current:
                reason = "the fix changes nothing"
            elif _count(new_findings, candidate.rule) >= _count(findings, candidate.rule):
                reason = "the rule still fires after the fix"
        if reason is not None:
            refused.add(key)
            rejected.append((candidate, reason))
            continue
        applied.append(candidate)
        current, findings = new_text, new_findings

    return FixOutcome(text=current, applied=applied, rejected=rejected, remaining=findings)


def _count(findings: Sequence[Finding], rule: str) -> int:
    return sum(1 for f in findings if f.rule == rule)


def _next_fix(
    text: str, findings: Sequence[Finding], refused: set[tuple[Any, ...]], unsafe: bool
) -> Finding | None:
    for finding in findings:
        fix = finding.fix
        if fix is None or not allowed(fix.safety, unsafe):
            continue
        if _fix_key(text, fix, finding.rule) in refused:
            continue
        return finding
    return None
