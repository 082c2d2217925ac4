"""New lines next to an instruction, as text edits: the one way Dockerfile rules add lines.

The layout rules of ``docs/writing-rules.md`` hold for every insertion made here:

- new lines end with the file's own line ending; after a last line without a final newline
  the line break goes first, and the file still ends without one;
- lines copy the indentation of the instruction they go next to (none after ``FROM``);
- right after a heredoc terminator a blank line goes first: BuildKit does not need it, but
  hadolint (2.x) cannot parse an instruction that directly follows a terminator (DL1000);
- nothing is appended after an instruction whose last line continues (``RUN echo hi \\`` at
  the end of the file): BuildKit would read the new lines as more of its arguments. Such an
  insertion is refused (None); the rule reports without a fix.

Several insertions of one fix at the same place become one edit (``edits``), so that they
keep their order and share one heredoc gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fixers.dockerfile.parser import Dockerfile, Instruction
from fixers.model import Edit


@dataclass(frozen=True)
class Insertion:
    offset: int  # where the lines go: the start of a line, or the end of the file
    lines: tuple[str, ...]  # complete lines, indentation included, without line endings


def indent_of(doc: Dockerfile, ins: Instruction) -> str:
    """The blanks in front of an instruction's keyword."""
    end = ins.start
    while end < len(doc.text) and doc.text[end] in " \t":
        end += 1
    return doc.text[ins.start : end]


def dangling(doc: Dockerfile, ins: Instruction) -> bool:
    """The instruction's last line ends in a line continuation (only possible at the end of
    the file, or before nothing but comment and blank lines): whatever follows joins it."""
    if ins.heredocs:
        return False
    lines = doc.text[ins.start : ins.end].split("\n")
    content = [line.rstrip("\r") for line in lines if line.strip()]
    content = content[:1] + [line for line in content[1:] if not line.lstrip().startswith("#")]
    return bool(content) and content[-1].rstrip(" \t").endswith(doc.escape)


def after(
    doc: Dockerfile, ins: Instruction, lines: Sequence[str], *, indent: str | None = None
) -> Insertion | None:
    """``lines`` right after ``ins`` (its heredoc bodies included), indented like it unless
    ``indent`` is given; None when ``ins`` ends in a dangling continuation."""
    if dangling(doc, ins):
        return None
    if indent is None:
        indent = "" if ins.keyword == "FROM" else indent_of(doc, ins)
    return Insertion(ins.end, tuple(f"{indent}{line}" for line in lines))


def before(
    doc: Dockerfile, ins: Instruction, lines: Sequence[str], *, indent: str | None = None
) -> Insertion:
    """``lines`` above ``ins`` and the block of comment lines directly above it (its ignore
    comments stay with it), indented like it unless ``indent`` is given."""
    block = doc.comments_before(ins)
    offset = block[0].start if block else ins.start
    if indent is None:
        indent = indent_of(doc, ins)
    return Insertion(offset, tuple(f"{indent}{line}" for line in lines))


def edits(doc: Dockerfile, insertions: Iterable[Insertion]) -> list[Edit]:
    """One edit per offset, the insertions at one offset in the order given."""
    grouped: dict[int, list[str]] = {}
    for insertion in insertions:
        grouped.setdefault(insertion.offset, []).extend(insertion.lines)
    return [_edit(doc, offset, lines) for offset, lines in grouped.items()]


def _edit(doc: Dockerfile, offset: int, lines: Sequence[str]) -> Edit:
    text, nl = doc.text, doc.newline
    gap = nl if any(i.heredocs and i.end == offset for i in doc.instructions) else ""
    if offset == len(text) and text and not text.endswith("\n"):
        # End the last line first; the file keeps its missing final newline.
        return Edit(offset, offset, nl + gap + nl.join(lines))
    return Edit(offset, offset, gap + "".join(line + nl for line in lines))


def insert_after(
    doc: Dockerfile, ins: Instruction, lines: Sequence[str], *, indent: str | None = None
) -> Edit | None:
    """The edit adding ``lines`` after ``ins`` (see ``after``); None when refused."""
    insertion = after(doc, ins, lines, indent=indent)
    return edits(doc, [insertion])[0] if insertion is not None else None


def insert_before(
    doc: Dockerfile, ins: Instruction, lines: Sequence[str], *, indent: str | None = None
) -> Edit:
    """The edit adding ``lines`` above ``ins`` and its comment block (see ``before``)."""
    return edits(doc, [before(doc, ins, lines, indent=indent)])[0]
