"""The engine: scan a document, and fix it to a fixed point with every fix verified.

Fixes apply one at a time. After each, the text is re-parsed and re-scanned; a fix whose
result does not parse, after which its rule fires as often as before, or that fails its
kind's own check (``VERIFIERS``: a Dockerfile fix must leave every instruction it does not
edit as it was) is dropped and reported, so a file is never left worse. Edits of a fix are
computed on the text they apply to, so fixes of two rules can never corrupt each other's
offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fixers.compose.kind import ComposeKind
from fixers.config import Config
from fixers.dockerfile.kind import DockerfileKind
from fixers.dockerfile.verify import instructions_kept
from fixers.facts import Facts
from fixers.k8s.kind import K8sKind
from fixers.kinds import Kind, object_at
from fixers.model import Edit, Finding, Fix, FixSafety
from fixers.python.kind import PythonKind
from fixers.registry import all_rules
from fixers.rule import Context, Rule
from fixers.shell.kind import ShellKind
from fixers.textedit import apply_edits, line_starts, offset_to_line

KINDS: dict[str, Kind] = {
    "dockerfile": DockerfileKind(),
    "shell": ShellKind(),
    "k8s": K8sKind(),
    "compose": ComposeKind(),
    "python": PythonKind(),
}
MAX_ROUNDS = 64  # batches of independent fixes; each round re-parses and re-scans
# Per kind, a check of each fix beyond "parses, and its rule fires less": (document before,
# document after, the edits) -> why the fix is refused, or None.
VERIFIERS: dict[str, Callable[[Any, Any, Sequence[Edit]], str | None]] = {
    "dockerfile": instructions_kept,
}


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


def scan_doc(
    path: str, kind: Kind, doc: Any, selection: Selection, *, rel: str | None = None
) -> list[Finding]:
    """Findings for a parsed document. ``path`` is shown in findings; ``rel`` (default
    ``path``) is the path inside the repository, which config patterns match."""
    findings: list[Finding] = []
    rel = path if rel is None else rel
    config = selection.config
    for rule in selection.rules(kind.name):
        ctx: Context[Any] = Context(
            path=path, doc=doc, options=config.options_for(rule.doc), facts=selection.facts
        )
        for finding in rule.check(ctx):
            if _is_ignored(finding, rule, kind.ignored_ids(doc, finding.line)):
                continue
            if config.ignore and config.ignores(rel, rule.doc, object_at(kind, doc, finding.line)):
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
    remaining: list[Finding]  # lines of the fixed text
    remaining_at_original: list[Finding] = field(default_factory=list)  # lines of the input


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
    doc: Any = None,
    rel: str | None = None,
) -> FixOutcome:
    """Apply fixes until none is left (or the bound is hit). Raises ValueError if unparsable.

    Each round applies every fix whose edits stay clear of the others' as one batch, then
    re-parses and re-scans; a batch that does not verify is retried one fix at a time, and a
    single fix that does not verify is dropped and reported. ``findings`` and ``doc``: the
    scan and parse of ``text`` when the caller already has them. Lines of applied findings
    are lines of ``text``.
    """
    kind = KINDS[kind_name]
    current = text
    current_doc = doc if doc is not None else kind.parse(text)
    if findings is None:
        findings = scan_doc(path, kind, current_doc, selection, rel=rel)
    applied: list[Finding] = []
    rejected: list[tuple[Finding, str]] = []
    refused: set[tuple[Any, ...]] = set()
    history: list[tuple[Edit, ...]] = []
    original = line_starts(text)
    first = {rule.doc.code for rule in selection.rules(kind_name) if rule.fix_first}

    for _ in range(MAX_ROUNDS):
        candidates = _candidates(current, findings, refused, unsafe)
        candidates.sort(key=lambda f: f.rule not in first)  # stable: finding order kept
        if not candidates:
            break
        batch = _disjoint(candidates)
        result = _attempt(path, kind, current, current_doc, findings, batch, selection, rel)
        if isinstance(result, str) and len(batch) > 1:
            batch = batch[:1]
            result = _attempt(path, kind, current, current_doc, findings, batch, selection, rel)
        if isinstance(result, str):
            fix = batch[0].fix
            assert fix is not None
            refused.add(_fix_key(current, fix, batch[0].rule))
            rejected.append((_at_original(batch[0], current, history, original), result))
            continue
        applied.extend(_at_original(f, current, history, original) for f in batch)
        history.append(tuple(e for f in batch if f.fix for e in f.fix.edits))
        current, current_doc, findings = result
    else:
        for finding in _candidates(current, findings, refused, unsafe):
            reason = "not applied: the limit of fix rounds was reached; run fix again"
            rejected.append((_at_original(finding, current, history, original), reason))

    return FixOutcome(
        text=current,
        applied=applied,
        rejected=rejected,
        remaining=findings,
        remaining_at_original=[_at_original(f, current, history, original) for f in findings],
    )


def _attempt(
    path: str,
    kind: Kind,
    text: str,
    doc: Any,
    findings: list[Finding],
    batch: list[Finding],
    selection: Selection,
    rel: str | None,
) -> tuple[str, Any, list[Finding]] | str:
    """The new text, document and findings, or why the batch is refused."""
    edits = [e for f in batch if f.fix for e in f.fix.edits]
    try:
        new_text = apply_edits(text, edits)
        new_doc = kind.parse(new_text)
        new_findings = scan_doc(path, kind, new_doc, selection, rel=rel)
    except ValueError as exc:
        return f"the fixed file does not parse ({exc})"
    if new_text == text:
        return "the fix changes nothing"
    verify = VERIFIERS.get(kind.name)
    problem = verify(doc, new_doc, edits) if verify is not None else None
    if problem is not None:
        return problem
    for rule in {f.rule for f in batch}:
        fixed = sum(1 for f in batch if f.rule == rule)
        if _count(new_findings, rule) > _count(findings, rule) - fixed:
            return "the rule still fires after the fix"
    return new_text, new_doc, new_findings


def _disjoint(candidates: list[Finding]) -> list[Finding]:
    """Fixes whose edits neither overlap nor touch any earlier one's (in finding order)."""
    taken: list[Edit] = []
    batch: list[Finding] = []
    for finding in candidates:
        assert finding.fix is not None
        edits = finding.fix.edits
        if any(a.start <= b.end and b.start <= a.end for a in edits for b in taken):
            continue
        batch.append(finding)
        taken.extend(edits)
    return batch


def _to_original(offset: int, history: list[tuple[Edit, ...]]) -> int:
    """Map an offset in the current text back through the edits applied so far."""
    for edits in reversed(history):
        shift = 0
        mapped = None
        for edit in sorted(edits):
            start = edit.start + shift
            if offset < start:
                break
            if offset < start + len(edit.new):
                mapped = edit.start  # inside text a fix wrote: its place in the older text
                break
            shift += len(edit.new) - (edit.end - edit.start)
        offset = mapped if mapped is not None else offset - shift
    return offset


def _at_original(
    finding: Finding, text: str, history: list[tuple[Edit, ...]], original: list[int]
) -> Finding:
    """The finding with its line in the original text (``original``: its line starts)."""
    if not history:
        return finding
    starts = line_starts(text)
    offset = starts[max(1, min(finding.line, len(starts))) - 1]
    line = offset_to_line(original, _to_original(offset, history))
    return replace(finding, line=line, end_line=line + (finding.end_line - finding.line))


def _count(findings: Sequence[Finding], rule: str) -> int:
    return sum(1 for f in findings if f.rule == rule)


def _candidates(
    text: str, findings: Sequence[Finding], refused: set[tuple[Any, ...]], unsafe: bool
) -> list[Finding]:
    """Fixable findings, in order, whose fix was not refused before."""
    return [
        finding
        for finding in findings
        if finding.fix is not None
        and allowed(finding.fix.safety, unsafe)
        and _fix_key(text, finding.fix, finding.rule) not in refused
    ]
