"""Review comments with ```suggestion blocks, built from real engine runs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.review.fingerprint import MARKER, fingerprint, fingerprints_in, marker
from bot.review.hunks import Hunk, hunk_of, parse_patch
from bot.review.suggestions import (
    MAX_BODY,
    NO_DIFF,
    NOT_CHANGED,
    ReviewComment,
    cap,
    review_comments,
    split_lines,
)
from fixers.config import Config
from fixers.engine import Selection
from fixers.model import Edit, FileResult, Finding, Fix, FixSafety, Severity
from fixers.run import discover, run


class MemorySource:
    """Files held in a dict: the shape ``run`` reads from."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def walk(self, under: str = "") -> Iterator[str]:
        yield from sorted(p for p in self.files if p.startswith(under))

    def read_text(self, path: str) -> str:
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]


def engine_result(
    text: str, *, only: tuple[str, ...] = (), unsafe: bool = False, fix: bool = True
) -> FileResult:
    source = MemorySource({"Dockerfile": text})
    selection = Selection(config=Config(), only=frozenset(only))
    result = run(source, discover(source), selection, fix=fix, unsafe=unsafe)
    assert not result.errors
    [file_result] = result.files
    return file_result


def patch_between(old: str, new: str, context: int = 3) -> str:
    """The ``patch`` GitHub would send: a unified diff without its file headers."""
    before = [line.removesuffix("\n") for line in split_lines(old)]
    after = [line.removesuffix("\n") for line in split_lines(new)]
    diff = difflib.unified_diff(before, after, n=context, lineterm="")
    return "\n".join(line for line in diff if not line.startswith(("---", "+++")))


def new_file_patch(text: str) -> str:
    return patch_between("", text)


def suggested(body: str) -> list[str] | None:
    """The lines of a comment's suggestion block, or None without one."""
    found = re.search(r"^(`{3,})suggestion\n(.*?)^\1$", body, re.S | re.M)
    if found is None:
        return None
    return found.group(2).split("\n")[:-1]


def apply_suggestions(original: str, comments: list[ReviewComment]) -> str:
    """What committing every suggestion does, bottom up, in the file's own line endings."""
    newline = "\r\n" if "\r\n" in original else "\n"
    lines = split_lines(original)
    with_suggestion = [(c, s) for c in comments if (s := suggested(c.body)) is not None]
    for comment, new in sorted(with_suggestion, key=lambda pair: -pair[0].line):
        start = comment.start_line or comment.line
        lines[start - 1 : comment.line] = [line + newline for line in new]
    return "".join(lines)


def by_rule(comments: list[ReviewComment]) -> dict[str, ReviewComment]:
    return {c.rule: c for c in comments}


SHELL_CMD = "FROM python:3.12\nCMD python app.py\n"


# --- suggestions from real fixes ---------------------------------------------------------


def test_shell_form_cmd_is_a_one_line_suggestion() -> None:
    result = engine_result(SHELL_CMD, only=("CBP103",))
    comments, outside = review_comments(result, parse_patch(new_file_patch(SHELL_CMD)))
    assert outside == []
    [comment] = comments
    assert (comment.path, comment.line, comment.start_line, comment.rule) == (
        "Dockerfile", 2, None, "CBP103",
    )  # fmt: skip
    assert suggested(comment.body) == ['CMD ["python", "app.py"]']
    assert comment.body.startswith("**CBP103 shell-form-command** — `CMD` uses the shell form")
    assert "Fix safety: safe" in comment.body
    assert comment.body.endswith(marker(comment.fingerprint))
    assert apply_suggestions(SHELL_CMD, comments) == result.fixed


def test_findings_sharing_a_change_share_one_suggestion() -> None:
    result = engine_result(SHELL_CMD, unsafe=True)
    comments, _ = review_comments(result, parse_patch(new_file_patch(SHELL_CMD)))
    rules = by_rule(comments)
    assert set(rules) == {"CBP101", "CBP102", "CBP103", "CBP105"}
    with_block = [c for c in comments if suggested(c.body) is not None]
    assert [c.rule for c in with_block] == ["CBP102"]
    assert "also fixes CBP103 (shell-form-command) and CBP105 (root-user)" in with_block[0].body
    assert "Fix safety: unsafe" in with_block[0].body  # the USER part is unsafe
    assert "The suggestion on line 2 (CBP102) includes the fix" in rules["CBP103"].body
    # Offline, the base image is not pinned: a hint, not a suggestion.
    assert "Hint: pin a version tag" in rules["CBP101"].body
    assert "Fix safety" not in rules["CBP101"].body
    assert apply_suggestions(SHELL_CMD, comments) == result.fixed


def test_init_insertion_is_anchored_on_the_line_before() -> None:
    old = 'FROM python:3.12\nCMD ["python", "old.py"]\n'
    new = 'FROM python:3.12\nCMD ["python", "app.py"]\n'
    result = engine_result(new, only=("CBP102",))
    hunks = parse_patch(patch_between(old, new))
    assert hunks == [Hunk(1, 2, frozenset({2}))]
    comments, outside = review_comments(result, hunks)
    assert outside == []
    [comment] = comments
    # The finding is on the CMD (line 2); the insertion goes between lines 1 and 2, so the
    # suggestion replaces line 1 (a context line of the hunk) with itself and the new lines.
    assert (comment.line, comment.start_line) == (1, None)
    lines = suggested(comment.body)
    assert lines is not None and len(lines) == 4
    assert lines[0] == "FROM python:3.12"
    assert lines[-1] == 'ENTRYPOINT ["dumb-init", "--"]'
    assert "dumb-init" in lines[2]
    assert apply_suggestions(new, comments) == result.fixed


def test_unchanged_lines_are_outside() -> None:
    old = SHELL_CMD
    new = SHELL_CMD + "EXPOSE 8000\n"
    result = engine_result(new, unsafe=True)
    hunks = parse_patch(patch_between(old, new))
    comments, outside = review_comments(result, hunks)
    assert comments == []
    assert {o.finding.rule for o in outside} == {"CBP101", "CBP102", "CBP103", "CBP105"}
    assert {o.reason for o in outside} == {NOT_CHANGED}
    # Context lines of the hunk may carry comments when asked for.
    comments, outside = review_comments(result, hunks, only_added=False)
    assert outside == []
    assert apply_suggestions(new, comments) == result.fixed


def test_no_patch_means_no_comments() -> None:
    result = engine_result(SHELL_CMD, only=("CBP103",))
    comments, outside = review_comments(result, parse_patch(None))
    assert comments == []
    assert [(o.finding.rule, o.reason) for o in outside] == [("CBP103", NO_DIFF)]


MIDDLE = "".join(f"ENV V{i}={i}\n" for i in range(10))
TWO_PLACES_OLD = "FROM python:3.12-slim\nRUN apt-get update\n" + MIDDLE + 'CMD ["old"]\n'
TWO_PLACES = (
    "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl\n"
    + MIDDLE
    + "CMD python app.py\n"
)


def test_a_change_across_two_hunks_is_not_suggested() -> None:
    result = engine_result(TWO_PLACES, unsafe=True)
    hunks = parse_patch(patch_between(TWO_PLACES_OLD, TWO_PLACES))
    assert len(hunks) == 2
    comments, _ = review_comments(result, hunks)
    rules = by_rule(comments)
    assert {"CBP102", "CBP103", "CBP109", "CBP110"} <= set(rules)
    # CBP102 edits both the apt-get line and the lines before CMD: one change, two hunks.
    assert all(suggested(c.body) is None for c in comments)
    assert "`container-bp fix` makes this change" in rules["CBP102"].body
    assert "outside this pull request's diff" in rules["CBP102"].body


def test_separate_fixes_in_separate_hunks_each_get_a_suggestion() -> None:
    result = engine_result(TWO_PLACES, only=("CBP103", "CBP110"))
    hunks = parse_patch(patch_between(TWO_PLACES_OLD, TWO_PLACES))
    comments, _ = review_comments(result, hunks)
    assert [(c.rule, c.line, suggested(c.body) is not None) for c in comments] == [
        ("CBP110", 2, True),
        ("CBP103", 13, True),
    ]
    for comment in comments:
        hunk = hunk_of(hunks, comment.line)
        assert hunk is not None and hunk.covers(comment.start_line or comment.line)
    assert apply_suggestions(TWO_PLACES, comments) == result.fixed


def test_unapplied_fixes_say_how_to_get_them() -> None:
    patch = parse_patch(new_file_patch(SHELL_CMD))
    safe_only = by_rule(review_comments(engine_result(SHELL_CMD), patch)[0])
    assert suggested(safe_only["CBP105"].body) is None
    assert "`container-bp fix --unsafe` makes this change" in safe_only["CBP105"].body
    assert "Fix safety: unsafe" in safe_only["CBP105"].body
    scanned = by_rule(review_comments(engine_result(SHELL_CMD, fix=False), patch)[0])
    assert all(suggested(c.body) is None for c in scanned.values())
    assert "`container-bp fix` makes this change" in scanned["CBP103"].body


def test_crlf_file_suggestions_have_no_carriage_returns() -> None:
    text = SHELL_CMD.replace("\n", "\r\n")
    result = engine_result(text, only=("CBP103",))
    assert result.fixed is not None and "\r\n" in result.fixed
    patch = "@@ -0,0 +1,2 @@\r\n+FROM python:3.12\r\n+CMD python app.py\r\n"
    comments, _ = review_comments(result, parse_patch(patch))
    [comment] = comments
    assert "\r" not in comment.body
    assert suggested(comment.body) == ['CMD ["python", "app.py"]']
    assert apply_suggestions(text, comments) == result.fixed


# --- suggestion shapes the built-in rules do not make -------------------------------------


def made_up(original: str, edit: Edit, line: int = 1, message: str = "m") -> FileResult:
    """A file fixed by one edit of one finding (rule CBP103, for its documentation)."""
    lines = split_lines(original)
    fixed = original[: edit.start] + edit.new + original[edit.end :]
    finding = Finding(
        rule="CBP103", path="Dockerfile", line=line, end_line=line, message=message,
        severity=Severity.WARNING, fix=Fix((edit,), FixSafety.SAFE, "d"),
    )  # fmt: skip
    assert 1 <= line <= len(lines)
    return FileResult(
        path="Dockerfile", kind="dockerfile", findings=[finding], original=original,
        fixed=fixed, applied=[finding],
    )  # fmt: skip


ALL_ADDED = "@@ -0,0 +1,3 @@\n+a\n+b\n+c\n"


def test_insertion_at_the_top_is_anchored_on_the_first_line() -> None:
    result = made_up("a\nb\nc\n", Edit(0, 0, "# syntax=docker/dockerfile:1\n"))
    [comment], _ = review_comments(result, parse_patch(ALL_ADDED))
    assert (comment.line, comment.start_line) == (1, None)
    assert suggested(comment.body) == ["# syntax=docker/dockerfile:1", "a"]
    assert apply_suggestions("a\nb\nc\n", [comment]) == result.fixed


def test_deleting_lines_is_an_empty_suggestion() -> None:
    result = made_up("a\nb\nc\n", Edit(2, 6, ""), line=2)
    [comment], _ = review_comments(result, parse_patch(ALL_ADDED))
    assert (comment.start_line, comment.line) == (2, 3)
    assert "```suggestion\n```" in comment.body
    assert apply_suggestions("a\nb\nc\n", [comment]) == "a\n"


def test_backticks_in_the_replacement_get_a_longer_fence() -> None:
    result = made_up("a\nb\nc\n", Edit(2, 3, "```"), line=2)
    [comment], _ = review_comments(result, parse_patch(ALL_ADDED))
    assert "````suggestion\n```\n````" in comment.body
    assert suggested(comment.body) == ["```"]


def test_too_large_a_suggestion_is_left_out() -> None:
    result = made_up("a\nb\nc\n", Edit(2, 3, "x" * 70_000), line=2)
    [comment], _ = review_comments(result, parse_patch(ALL_ADDED))
    assert suggested(comment.body) is None
    assert "too large to suggest" in comment.body
    assert len(comment.body) < MAX_BODY
    long_message = made_up("a\nb\nc\n", Edit(2, 3, "B"), line=2, message="y" * 70_000)
    [comment], _ = review_comments(long_message, parse_patch(ALL_ADDED))
    assert len(comment.body) <= MAX_BODY
    assert fingerprints_in(comment.body) == {comment.fingerprint}


# --- patches -------------------------------------------------------------------------------


def test_parse_patch_edge_cases() -> None:
    assert parse_patch(None) == []
    assert parse_patch("") == []
    assert parse_patch("@@ -1 +1 @@\n-a\n+b") == [Hunk(1, 1, frozenset({1}))]
    assert parse_patch("@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n") == [
        Hunk(1, 1, frozenset({1}))
    ]
    assert parse_patch("@@ -0,0 +1,3 @@\n+a\n+b\n+c\n") == [Hunk(1, 3, frozenset({1, 2, 3}))]
    # Deletion only: the hunk covers no line of the new side.
    [gone] = parse_patch("@@ -3,2 +2,0 @@\n-x\n-y\n")
    assert gone.new_end < gone.new_start and hunk_of([gone], 2) is None
    [emptied] = parse_patch("@@ -1,2 +0,0 @@\n-a\n-b\n")
    assert hunk_of([emptied], 0) is None and hunk_of([emptied], 1) is None
    # CRLF lines, a section heading after the header, and a context line whose space was
    # stripped.
    crlf = "@@ -10,3 +10,4 @@ def f():\r\n a\r\n-b\r\n+c\r\n+d\r\n\r\n"
    assert parse_patch(crlf) == [Hunk(10, 13, frozenset({11, 12}))]
    # A lone CR inside a line is content, not a line break.
    assert parse_patch("@@ -1 +1,2 @@\n a\r\n+b\rc\n") == [Hunk(1, 2, frozenset({2}))]
    # The header's count stands when the last (empty) context line lost its space.
    assert parse_patch("@@ -1,2 +1,2 @@\n-a\n+b\n") == [Hunk(1, 2, frozenset({1}))]
    two = parse_patch("@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -20,2 +20,3 @@\n x\n+y\n z\n")
    assert two == [Hunk(1, 2, frozenset({2})), Hunk(20, 22, frozenset({21}))]
    assert hunk_of(two, 21) == two[1] and hunk_of(two, 10) is None


# --- fingerprints --------------------------------------------------------------------------


def test_fingerprints_survive_shifted_lines() -> None:
    shifted = "# a comment\n\n" + SHELL_CMD
    before, _ = review_comments(
        engine_result(SHELL_CMD, only=("CBP103",)), parse_patch(new_file_patch(SHELL_CMD))
    )
    after, _ = review_comments(
        engine_result(shifted, only=("CBP103",)), parse_patch(new_file_patch(shifted))
    )
    assert [c.line for c in before] == [2] and [c.line for c in after] == [4]
    assert [c.fingerprint for c in before] == [c.fingerprint for c in after]
    assert fingerprints_in(after[0].body) == {after[0].fingerprint}


def test_fingerprint_and_marker() -> None:
    fp = fingerprint("CBP103", "Dockerfile", "  CMD   python app.py\n", "m")
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert fp == fingerprint("CBP103", "Dockerfile", "CMD python app.py", "m")
    assert fp != fingerprint("CBP102", "Dockerfile", "CMD python app.py", "m")
    assert fp != fingerprint("CBP103", "sub/Dockerfile", "CMD python app.py", "m")
    assert fp != fingerprint("CBP103", "Dockerfile", "CMD python app2.py", "m")
    assert marker(fp) == f"<!-- {MARKER}{fp} -->"
    body = f"text\n\n{marker(fp)}\nmore {marker('0123456789abcdef')}"
    assert fingerprints_in(body) == {fp, "0123456789abcdef"}
    assert fingerprints_in("no marker here") == set()


# --- the cap -------------------------------------------------------------------------------


def test_cap_keeps_the_most_severe_first() -> None:
    def comment(path: str, line: int, severity: Severity) -> ReviewComment:
        return ReviewComment(path, line, None, "b", f"{path}{line}", "CBP103", severity)

    comments = [
        comment("b", 1, Severity.INFO),
        comment("b", 5, Severity.WARNING),
        comment("a", 9, Severity.WARNING),
        comment("z", 3, Severity.ERROR),
    ]
    kept, overflow = cap(comments, limit=2)
    assert [(c.path, c.line) for c in kept] == [("z", 3), ("a", 9)]
    assert [(c.path, c.line) for c in overflow] == [("b", 5), ("b", 1)]
    assert cap(comments, limit=10) == (kept + overflow, [])


# --- property: every suggestion together makes the fixed file ----------------------------

INSTRUCTIONS = [
    "RUN apt-get update && apt-get install -y curl",
    "RUN apt-get update\nRUN apt-get install -y git",
    "RUN apt-get upgrade -y",
    "RUN pip install flask",
    "WORKDIR /app",
    "COPY . /app",
    "ENV A=1",
    "EXPOSE 8000",
    "USER app",
    "RUN nginx &",
    "CMD python app.py",
    'CMD ["python", "app.py"]',
    "ENTRYPOINT /start.sh",
    'ENTRYPOINT ["/start.sh"]',
]
dockerfiles = st.tuples(
    st.sampled_from(["python:3.12", "debian:12", "ubuntu", "nginx:1.27"]),
    st.lists(st.sampled_from(INSTRUCTIONS), max_size=7),
).map(lambda t: "\n".join([f"FROM {t[0]}", *t[1]]) + "\n")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles, st.booleans())
def test_all_suggestions_together_make_the_fixed_file(text: str, unsafe: bool) -> None:
    result = engine_result(text, unsafe=unsafe)
    comments, outside = review_comments(result, parse_patch(new_file_patch(text)))
    assert outside == []
    ranges = sorted(
        (c.start_line or c.line, c.line) for c in comments if suggested(c.body) is not None
    )
    assert all(a[1] < b[0] for a, b in pairwise(ranges))
    assert apply_suggestions(text, comments) == result.fixed
