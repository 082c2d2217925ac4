"""Every rule's golden cases: failure -> expected, success unchanged, fixes idempotent."""

from __future__ import annotations

import pytest

from fixers.config import Config
from fixers.engine import Selection, fix_text, scan_text
from fixers.facts import Facts
from fixers.pinning.model import Resolution
from fixers.registry import all_rules, find_rule
from tests.golden import Case, cases

CASES = cases()


def _selection(case: Case) -> Selection:
    rule = find_rule(case.rule)
    assert rule is not None, f"fixtures/{case.rule}: no rule of that name"
    options = {rule.doc.code: case.meta.get("options", {})}
    return Selection(
        config=Config(options=options),
        only=frozenset({rule.doc.code}),
        facts=_facts(case),
    )


def _facts(case: Case) -> Facts:
    """Registry answers a case states in case.json (the rules never ask a registry)."""
    table = case.meta.get("resolutions")
    if table is None:
        return Facts(pin_digests=case.meta.get("pin_digests", True))
    resolutions = {key: Resolution(key=key, **value) for key, value in table.items()}
    return Facts(
        resolutions=resolutions,
        resolved=True,
        pin_digests=case.meta.get("pin_digests", True),
        pin_ignore=tuple(case.meta.get("pin_ignore", ())),
    )


def _kind(case: Case) -> str:
    rule = find_rule(case.rule)
    assert rule is not None
    return str(case.meta.get("kind", rule.doc.kind))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: Case) -> None:
    selection = _selection(case)
    kind = _kind(case)
    unsafe = bool(case.meta.get("unsafe", False))
    text = case.input
    findings = scan_text("input", kind, text, selection)
    fixed = fix_text("input", kind, text, selection, unsafe=unsafe)

    if not case.failing:
        assert findings == [], f"expected no finding, got {findings}"
        assert fixed.text == text
        return

    assert findings, "expected the rule to fire"
    if "lines" in case.meta:
        assert [f.line for f in findings] == case.meta["lines"]
    expected = case.expected
    if expected is None:
        assert fixed.text == text, "detect-only case changed the file"
        return
    assert fixed.rejected == [], fixed.rejected
    assert fixed.text == expected
    # Idempotent, and the rule is satisfied by its own fix.
    again = fix_text("input", kind, expected, selection, unsafe=unsafe)
    assert again.text == expected
    fixable_left = [
        f for f in scan_text("input", kind, expected, selection)
        if f.fix is not None and (unsafe or f.fix.safety.value == "safe")
    ]  # fmt: skip
    assert fixable_left == []


def test_every_rule_has_golden_cases() -> None:
    covered = {c.rule for c in CASES}
    for rule in all_rules():
        assert rule.doc.name in covered, f"{rule.doc.code} {rule.doc.name} has no fixtures"
        names = {c.name for c in CASES if c.rule == rule.doc.name}
        assert any(n.startswith("fail-") for n in names), f"{rule.doc.name}: no fail-* case"
        assert any(n.startswith("pass-") for n in names), f"{rule.doc.name}: no pass-* case"
