"""A check the engine runs on every Dockerfile fix: instructions it does not edit survive.

A fix's edits may only change the instructions they touch. Text inserted in the wrong place
can change others without touching them: lines appended after a dangling line continuation
(``RUN echo hi \\`` at the end of the file) become arguments of that RUN, and the rule that
asked for them may still count as satisfied. After a fix, every instruction none of its
edits touches must still be there with the same keyword, arguments and heredoc bodies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from fixers.dockerfile.parser import Dockerfile, Instruction
from fixers.model import Edit


def _key(ins: Instruction) -> tuple[str, str, tuple[str, ...]]:
    return ins.keyword, ins.logical, tuple(h.body for h in ins.heredocs)


def _touched(text: str, ins: Instruction, edit: Edit) -> bool:
    """The edit changes the instruction's own text: it replaces part of it, or inserts inside
    it, on its last line (no final newline) or in front of its keyword. Whole lines added
    above or below it do not touch it."""
    if edit.start < edit.end:
        return edit.start < ins.end and ins.start < edit.end
    at = edit.start
    if ins.start < at < ins.end:
        return True
    if at == ins.end and text[at - 1 : at] != "\n":
        return not edit.new.startswith(("\n", "\r\n"))
    return at == ins.start and not edit.new.endswith("\n")


def instructions_kept(before: Dockerfile, after: Dockerfile, edits: Sequence[Edit]) -> str | None:
    """Why the fix changed an instruction it does not edit, or None when it did not."""
    kept = Counter(_key(ins) for ins in after.instructions)
    for ins in before.instructions:
        if any(_touched(before.text, ins, edit) for edit in edits):
            continue
        key = _key(ins)
        if kept[key] == 0:
            return f"the fix changes the {ins.keyword} on line {ins.line}, which it does not edit"
        kept[key] -= 1
    return None
