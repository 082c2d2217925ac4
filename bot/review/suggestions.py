"""Engine results as pull-request review comments, with a ```suggestion block where the fix
can be shown on lines of the diff.

Pure: it reads one ``FileResult`` (scanned and fixed) and the hunks of the file's patch, and
returns what to post; fetching and posting are the caller's. Text from the scanned files is
escaped with ``bot.markdown``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from bot.markdown import inline
from bot.review.fingerprint import fingerprint, marker
from bot.review.hunks import Hunk, added_lines, hunk_of
from fixers.model import Edit, FileResult, Finding, FixSafety, Severity
from fixers.registry import find_rule
from fixers.textedit import line_starts, offset_to_line

# GitHub refuses bodies over 65,536 characters; stay clear of it.
MAX_BODY = 65_000
SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

NOT_CHANGED = "not changed by this pull request"
NOT_IN_DIFF = "not part of this pull request's diff"
NO_DIFF = "GitHub shows no diff for this file (binary or too large)"
FIX_MAKES_IT = "`container-bp fix` makes this change."


@dataclass(frozen=True)
class ReviewComment:
    """One inline comment: on RIGHT-side lines ``start_line..line`` (``start_line`` None for
    a single line)."""

    path: str
    line: int
    start_line: int | None
    body: str
    fingerprint: str
    rule: str
    severity: Severity = Severity.WARNING


@dataclass(frozen=True)
class Outside:
    """A finding that cannot be commented inline, and why."""

    finding: Finding
    reason: str


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on "\\n" only: git numbers lines that way, while
    ``str.splitlines`` also splits on form feeds, lone CRs and Unicode separators."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# (tag, i1, i2, j1, j2) from difflib: original lines [i1, i2) become fixed lines [j1, j2).
Opcode = tuple[str, int, int, int, int]


@dataclass
class _Group:
    """Change blocks (indices into the opcodes) that one suggestion shows, and the findings
    they fix."""

    blocks: set[int]
    findings: list[int] = field(default_factory=list)  # indices into the commentable findings


@dataclass(frozen=True)
class _Suggestion:
    start: int  # 1-based, inclusive, lines of the original
    end: int
    lines: list[str]  # what replaces them, endings kept


def review_comments(
    result: FileResult, hunks: Sequence[Hunk], *, only_added: bool = True
) -> tuple[list[ReviewComment], list[Outside]]:
    """Comments for the findings of one file on lines of its diff (only on lines the pull
    request added, with ``only_added``), and the findings left out."""
    original = split_lines(result.original or "")
    added = added_lines(hunks)
    inside: list[Finding] = []
    outside: list[Outside] = []
    for finding in sorted(result.findings, key=lambda f: (f.line, f.column, f.rule)):
        if not hunks:
            outside.append(Outside(finding, NO_DIFF))
        elif only_added and finding.line not in added:
            outside.append(Outside(finding, NOT_CHANGED))
        elif hunk_of(hunks, finding.line) is None:
            outside.append(Outside(finding, NOT_IN_DIFF))
        else:
            inside.append(finding)

    fps = [
        fingerprint(f.rule, result.path, _line_text(original, f.line), f.message) for f in inside
    ]
    comments: list[ReviewComment] = []
    done: set[int] = set()
    # Fixed, but no change could be traced to it: the safety of the fix as applied.
    fixed_by: dict[int, FixSafety] = {}
    if result.changed and result.fixed is not None:
        fixed = split_lines(result.fixed)
        matcher = difflib.SequenceMatcher(None, original, fixed, autojunk=False)
        opcodes: Sequence[Opcode] = matcher.get_opcodes()
        applied: dict[tuple[str, int], list[Finding]] = {}
        for done_fix in result.applied:
            applied.setdefault((done_fix.rule, done_fix.line), []).append(done_fix)
        remaining = {(f.rule, f.line) for f in result.remaining_at_original}
        text = result.original or ""
        starts = line_starts(text)
        owned: dict[int, set[int]] = {}
        for index, finding in enumerate(inside):
            key = (finding.rule, finding.line)
            if key not in applied and (finding.fix is None or key in remaining):
                continue  # not fixed: its fix was unsafe, dropped, or never tried
            later = [a for a in applied.get(key, []) if a != finding]
            fixed_by[index] = _worst([f.fix_safety for f in (finding, *later)])
            blocks = _blocks_of(finding, later, opcodes, original, fixed, starts, len(text))
            if blocks:
                owned[index] = blocks
        for group in _groups(owned, opcodes, original, fixed):
            made = _group_comments(
                result, group, owned, inside, fps, opcodes, original, fixed, hunks
            )
            comments += made
            done.update(group.findings)
    for index, finding in enumerate(inside):
        if index not in done:
            if index in fixed_by:
                notes, safety = [FIX_MAKES_IT], fixed_by[index]
            else:
                notes, safety = _unfixed_notes(finding, result), finding.fix_safety
            comments.append(_plain(result.path, finding, hunks, fps[index], notes, safety))
    comments.sort(key=lambda c: (c.line, c.start_line or c.line, c.rule))
    return comments, outside


def cap(
    comments: Sequence[ReviewComment], limit: int = 30
) -> tuple[list[ReviewComment], list[ReviewComment]]:
    """The ``limit`` most important comments (severity, then path and line), and the rest."""
    ordered = sorted(
        comments, key=lambda c: (SEVERITY_ORDER.get(c.severity, 3), c.path, c.line, c.rule)
    )
    keep = max(limit, 0)
    return ordered[:keep], ordered[keep:]


def _line_text(lines: Sequence[str], line: int) -> str:
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def _edit_span(starts: list[int], edit: Edit, size: int) -> tuple[int, int]:
    """The 0-based half-open original lines an edit touches; (a, a) for an insertion at the
    start of line a (between lines a-1 and a)."""
    start = min(max(edit.start, 0), size)
    end = min(max(edit.end, start), size)
    first = offset_to_line(starts, start) - 1
    if end > start:
        return first, offset_to_line(starts, end - 1)
    if start == starts[first]:
        return first, first
    return first, first + 1


def _touches(op: Opcode, span: tuple[int, int]) -> bool:
    _, i1, i2, _, _ = op
    a, b = span
    if a == b:  # an insertion point
        return i1 <= a <= i2
    if i1 == i2:  # a block that only inserts: touching the lines either side counts
        return a <= i1 <= b
    return i1 < b and a < i2


def _blocks_of(
    finding: Finding,
    later: Sequence[Finding],
    opcodes: Sequence[Opcode],
    original: list[str],
    fixed: list[str],
    starts: list[int],
    size: int,
) -> set[int]:
    """The change blocks a finding's fix made.

    Where its own edits fall (its lines may be elsewhere: a USER added before CMD for a
    finding on FROM). A fix applied in a later round (``later``: the finding as it was
    applied, after other fixes changed the file) has edits into a text this cannot see: the
    blocks that wrote its text count. Failing both, the blocks its lines touch.
    """
    changes = [k for k, op in enumerate(opcodes) if op[0] != "equal"]
    found: set[int] = set()
    if finding.fix is not None:
        for edit in finding.fix.edits:
            span = _edit_span(starts, edit, size)
            found.update(k for k in changes if _touches(opcodes[k], span))
    for applied in later:
        for edit in applied.fix.edits if applied.fix is not None else ():
            new = edit.new  # spaces kept: " dumb-init" added to an apt-get line is not the
            if not new.strip():  # "dumb-init" of an ENTRYPOINT
                continue
            wrote = [
                k
                for k in changes
                if new in "".join(fixed[opcodes[k][3] : opcodes[k][4]])
                and new not in "".join(original[opcodes[k][1] : opcodes[k][2]])
            ]
            if wrote:  # the same text may be written in several places: take the nearest
                found.add(min(wrote, key=lambda k: _distance(opcodes[k], finding)))
    if not found:
        span = (finding.line - 1, max(finding.end_line, finding.line))
        found.update(k for k in changes if _touches(opcodes[k], span))
    return found


def _distance(op: Opcode, finding: Finding) -> int:
    """Lines between a block and a finding (0-based original lines either side)."""
    _, i1, i2, _, _ = op
    first, last = finding.line - 1, max(finding.end_line, finding.line) - 1
    return max(i1 - last, first - max(i2 - 1, i1), 0)


def _suggestion(
    blocks: set[int], opcodes: Sequence[Opcode], original: list[str], fixed: list[str]
) -> _Suggestion | None:
    """Original lines to replace and their replacement: the span of the blocks, with any
    other block inside it left as it was."""
    first, last = min(blocks), max(blocks)
    i1, i2 = opcodes[first][1], opcodes[last][2]
    new: list[str] = []
    for k in range(first, last + 1):
        _, a1, a2, b1, b2 = opcodes[k]
        new += fixed[b1:b2] if k in blocks else original[a1:a2]
    if i1 < i2:
        return _Suggestion(i1 + 1, i2, new)
    # A pure insertion: a suggestion replaces lines, so it repeats the line next to it.
    if i1 > 0:
        return _Suggestion(i1, i1, [original[i1 - 1], *new])
    if original:
        return _Suggestion(1, 1, [*new, original[0]])
    return None


def _groups(
    owned: dict[int, set[int]],
    opcodes: Sequence[Opcode],
    original: list[str],
    fixed: list[str],
) -> list[_Group]:
    """Findings whose fixes share a block, or whose suggestions would overlap, share one
    suggestion: GitHub cannot apply two over the same lines."""
    groups: list[_Group] = []
    for index, blocks in sorted(owned.items()):
        joined = [g for g in groups if g.blocks & blocks]
        group = _Group(set(blocks), [index])
        for other in joined:
            group.blocks |= other.blocks
            group.findings += other.findings
            groups.remove(other)
        groups.append(group)
    while True:
        spans = sorted(
            ((s, g) for g in groups if (s := _suggestion(g.blocks, opcodes, original, fixed))),
            key=lambda pair: (pair[0].start, pair[0].end),
        )
        pair = next(((a, b) for (sa, a), (sb, b) in pairwise(spans) if sb.start <= sa.end), None)
        if pair is None:
            break
        keep, gone = pair
        keep.blocks |= gone.blocks
        keep.findings += gone.findings
        groups.remove(gone)
    for group in groups:
        group.findings.sort()
    return groups


def _group_comments(
    result: FileResult,
    group: _Group,
    owned: dict[int, set[int]],
    inside: list[Finding],
    fps: list[str],
    opcodes: Sequence[Opcode],
    original: list[str],
    fixed: list[str],
    hunks: Sequence[Hunk],
) -> list[ReviewComment]:
    path = result.path
    found = _suggestion(group.blocks, opcodes, original, fixed)
    members = [(i, inside[i]) for i in group.findings]
    if found is None or not _in_one_hunk(hunks, found.start, found.end):
        note = (
            "`container-bp fix` makes this change; it touches lines outside this pull "
            "request's diff, so it cannot be suggested here."
        )
        return [_plain(path, f, hunks, fps[i], [note], f.fix_safety) for i, f in members]

    def rank(pair: tuple[int, Finding]) -> tuple[int, int, int, int, str]:
        index, f = pair
        meets = f.line <= found.end and found.start <= f.end_line
        severity = SEVERITY_ORDER.get(f.severity, 3)
        return (0 if meets else 1, severity, -len(owned[index]), f.line, f.rule)

    main_index, main = min(members, key=rank)
    others = [(i, f) for i, f in members if i != main_index]
    safety = _worst([f.fix_safety for _, f in members])
    also = sorted({f.rule for _, f in others if f.rule != main.rule})
    notes = [f"This change also fixes {_rule_list(also)}."] if also else []
    body = _body(main, fps[main_index], suggestion=found.lines, notes=notes, safety=safety)
    if len(body) > MAX_BODY:
        note = "`container-bp fix` makes this change; it is too large to suggest here."
        return [_plain(path, f, hunks, fps[i], [note], f.fix_safety) for i, f in members]
    start = found.start if found.start < found.end else None
    fp = fps[main_index]
    comments = [ReviewComment(path, found.end, start, body, fp, main.rule, main.severity)]
    where = f"line {found.end}" if start is None else f"lines {found.start}-{found.end}"
    for index, f in others:
        note = f"The suggestion on {where} ({main.rule}) includes the fix for this."
        comments.append(_plain(path, f, hunks, fps[index], [note], f.fix_safety))
    return comments


def _in_one_hunk(hunks: Sequence[Hunk], start: int, end: int) -> bool:
    hunk = hunk_of(hunks, start)
    return hunk is not None and hunk.covers(end)


def _worst(safeties: Sequence[FixSafety]) -> FixSafety:
    if FixSafety.UNSAFE in safeties:
        return FixSafety.UNSAFE
    return FixSafety.SAFE if FixSafety.SAFE in safeties else FixSafety.NONE


def _rule_list(codes: Sequence[str]) -> str:
    named = [f"{c} ({rule.doc.name})" if (rule := find_rule(c)) else c for c in codes]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def _unfixed_notes(finding: Finding, result: FileResult) -> list[str]:
    """What a comment without a suggestion says about the fix."""
    notes: list[str] = []
    if finding.fix is not None:
        prefix = f"{finding.rule} line {finding.line}: "
        dropped = [r[len(prefix) :] for r in result.rejected if r.startswith(prefix)]
        if dropped:
            notes.append(f"The automatic fix was not applied: {inline(dropped[0])}.")
        elif finding.fix.safety == FixSafety.UNSAFE:
            notes.append("`container-bp fix --unsafe` makes this change.")
        else:
            notes.append(FIX_MAKES_IT)
    return notes


def _place(finding: Finding, hunks: Sequence[Hunk]) -> tuple[int | None, int]:
    """A finding's own lines, as a range when they all lie in one hunk."""
    if finding.end_line > finding.line and _in_one_hunk(hunks, finding.line, finding.end_line):
        return finding.line, finding.end_line
    return None, finding.line


def _plain(
    path: str,
    finding: Finding,
    hunks: Sequence[Hunk],
    fp: str,
    notes: list[str],
    safety: FixSafety = FixSafety.NONE,
) -> ReviewComment:
    if finding.suggestion:
        notes = [f"Hint: {inline(finding.suggestion)}", *notes]
    body = _body(finding, fp, suggestion=None, notes=notes, safety=safety)
    start, line = _place(finding, hunks)
    return ReviewComment(path, line, start, body, fp, finding.rule, finding.severity)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"])")


def _why(code: str) -> str:
    rule = find_rule(code)
    if rule is None or not rule.doc.why.strip():
        return ""
    return " ".join(_SENTENCE_END.split(rule.doc.why.strip(), maxsplit=1)[0].split())


def _fence(lines: Sequence[str]) -> str:
    """A ```suggestion block; lines without CR (GitHub writes the file's own endings)."""
    text = "".join(_strip_ending(line) + "\n" for line in lines)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}suggestion\n{text}{fence}"


def _strip_ending(line: str) -> str:
    line = line.removesuffix("\n")
    return line.removesuffix("\r")


def _body(
    finding: Finding,
    fp: str,
    *,
    suggestion: Sequence[str] | None,
    notes: Sequence[str],
    safety: FixSafety,
) -> str:
    rule = find_rule(finding.rule)
    name = f" {rule.doc.name}" if rule is not None else ""
    # Messages and hints quote the scanned files (names, paths): only their code spans stay
    # Markdown, so a name cannot mention anyone or add HTML under the bot's name.
    parts = [f"**{finding.rule}{name}** — {inline(finding.message)}"]
    why = _why(finding.rule)
    if why:
        parts.append(why)
    if suggestion is not None:
        parts.append(_fence(suggestion))
    parts += notes
    if safety != FixSafety.NONE:
        parts.append(f"Fix safety: {safety.value}")
    tail = marker(fp)
    text = "\n\n".join(parts)
    room = MAX_BODY - len(tail) - 2
    if suggestion is None and len(text) > room:
        # Cut prose only: a suggestion that does not fit is left out by the caller instead,
        # since a cut one would change the file wrongly.
        text = text[: room - 1] + "…"
    return f"{text}\n\n{tail}"
