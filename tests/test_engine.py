"""The fix loop: edits apply cleanly, bad fixes are dropped, results are stable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from fixers import engine, registry
from fixers.dockerfile.parser import Dockerfile
from fixers.engine import Selection, fix_text
from fixers.model import Edit, Finding, FixSafety
from fixers.rule import Context, Rule, RuleDoc
from fixers.textedit import apply_edits, detect_newline, line_starts, offset_to_line


def _doc(code: str, name: str, fix: FixSafety = FixSafety.SAFE) -> RuleDoc:
    return RuleDoc(code=code, name=name, kind="dockerfile", title="t", what="w", why="y",
                   before="b", after="a", fix=fix, fix_notes="n")  # fmt: skip


class BreaksTheFile(Rule[Dockerfile]):
    """Its fix makes the file unparsable: the engine must drop it."""

    doc: ClassVar[RuleDoc] = _doc("CBP901", "breaks-the-file")

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        for ins in ctx.doc.instructions:
            if ins.keyword == "CMD":
                yield self.finding(ctx, ins.line, "m", edits=[Edit(ins.start, ins.start, "BOGUS ")])


class NeverSatisfied(Rule[Dockerfile]):
    """Its fix changes the file but it fires again: the engine must drop it, not loop."""

    doc: ClassVar[RuleDoc] = _doc("CBP902", "never-satisfied")

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        yield self.finding(ctx, 1, "m", edits=[Edit(0, 0, "# again\n")])


class AppendsLabel(Rule[Dockerfile]):
    """Two rules that both edit the end of the file must not corrupt each other."""

    doc: ClassVar[RuleDoc] = _doc("CBP903", "appends-label")

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        if not any(i.keyword == "LABEL" for i in ctx.doc.instructions):
            end = len(ctx.doc.text)
            yield self.finding(ctx, 1, "m", edits=[Edit(end, end, "LABEL a=b\n")])


class AppendsExpose(Rule[Dockerfile]):
    doc: ClassVar[RuleDoc] = _doc("CBP904", "appends-expose", FixSafety.UNSAFE)

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        if not any(i.keyword == "EXPOSE" for i in ctx.doc.instructions):
            end = len(ctx.doc.text)
            yield self.finding(ctx, 1, "m", edits=[Edit(end, end, "EXPOSE 80\n")])


class AppendsUserText(Rule[Dockerfile]):
    """Satisfied by the text alone: appended after a dangling continuation, its line becomes
    arguments of the RUN above, and only the engine's instruction check catches it."""

    doc: ClassVar[RuleDoc] = _doc("CBP905", "appends-user-text")

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        if "USER 1" not in ctx.doc.text:
            end = len(ctx.doc.text)
            yield self.finding(ctx, 1, "m", edits=[Edit(end, end, "USER 1\n")])


@pytest.fixture
def fake_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = (BreaksTheFile(), NeverSatisfied(), AppendsLabel(), AppendsExpose(), AppendsUserText())
    monkeypatch.setattr(engine, "all_rules", lambda: rules)


def test_bad_fixes_are_dropped_and_reported(fake_rules: None) -> None:
    only = frozenset({"CBP901", "CBP902"})
    outcome = fix_text("D", "dockerfile", "FROM x\nCMD y\n", Selection(only=only))
    assert outcome.text == "FROM x\nCMD y\n"
    reasons = sorted((f.rule, why.split(" (")[0]) for f, why in outcome.rejected)
    assert reasons == [
        ("CBP901", "the fixed file does not parse"),
        ("CBP902", "the rule still fires after the fix"),
    ]


def test_a_fix_that_changes_an_instruction_it_does_not_edit_is_dropped(fake_rules: None) -> None:
    sel = Selection(only=frozenset({"CBP905"}))
    text = 'FROM x\nCMD ["app"]\nRUN echo hi \\\n'
    outcome = fix_text("D", "dockerfile", text, sel)
    assert outcome.text == text
    assert [why for _, why in outcome.rejected] == [
        "the fix changes the RUN on line 3, which it does not edit"
    ]
    # The same insertion after a complete instruction changes nothing else.
    assert fix_text("D", "dockerfile", "FROM x\nRUN echo hi\n", sel).text.endswith("USER 1\n")


def test_fixes_at_one_offset_both_land_and_unsafe_waits_for_the_flag(fake_rules: None) -> None:
    sel = Selection(only=frozenset({"CBP903", "CBP904"}))
    safe = fix_text("D", "dockerfile", "FROM x\n", sel)
    assert safe.text == "FROM x\nLABEL a=b\n"
    both = fix_text("D", "dockerfile", "FROM x\n", sel, unsafe=True)
    assert both.text in ("FROM x\nLABEL a=b\nEXPOSE 80\n", "FROM x\nEXPOSE 80\nLABEL a=b\n")
    assert fix_text("D", "dockerfile", both.text, sel, unsafe=True).text == both.text


def test_apply_edits_orders_and_rejects_overlaps() -> None:
    assert apply_edits("abcdef", [Edit(4, 5, "E"), Edit(0, 1, "A"), Edit(2, 2, "+")]) == "Ab+cdEf"
    assert apply_edits("ab", [Edit(1, 1, "1"), Edit(1, 1, "2")]) == "a12b"
    with pytest.raises(ValueError):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    assert Edit(1, 1, "x").overlaps(Edit(0, 2, "y"))
    assert not Edit(2, 2, "x").overlaps(Edit(0, 2, "y"))


def test_line_helpers() -> None:
    assert detect_newline("a\r\nb") == "\r\n" and detect_newline("a\nb") == "\n"
    starts = line_starts("ab\ncd\n")
    assert starts == [0, 3, 6]
    assert [offset_to_line(starts, o) for o in (0, 2, 3, 5, 6)] == [1, 1, 2, 2, 3]


def test_registry_codes_are_unique_and_documented() -> None:
    docs = registry.docs()
    assert docs, "no rules registered"
    for d in docs:
        assert d.code.startswith("CBP") and d.name == d.name.lower()
        assert d.title and d.what and d.why and d.before and d.fix_notes
        assert registry.find_rule(d.code) is registry.find_rule(d.name)
        for peer in d.peer_ids:
            assert registry.find_rule(peer) is not None
