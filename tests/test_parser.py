"""The Dockerfile parser: positions, directives, continuations, heredocs, stages."""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from fixers.dockerfile.parser import ParseError, expand_args, parse

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dockerfiles"


def test_positions_map_every_logical_character_back() -> None:
    text = "FROM alpine\r\nRUN apk add \\\r\n  # inner comment\r\n\r\n  curl \\\r\n  git\r\nCMD x"
    doc = parse(text)
    run = doc.instructions[1]
    assert run.logical == "apk add   curl   git"
    for i, ch in enumerate(run.logical):
        assert text[run.offset(i)] == ch
    assert (run.line, run.end_line) == (2, 6)
    assert text[run.start : run.end].endswith("git\r\n")
    assert doc.newline == "\r\n"
    cmd = doc.instructions[2]
    assert cmd.end == len(text) and cmd.args_end == len(text)


def test_directives_and_backtick_escape() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n# escape=`\n"
        "FROM mcr.microsoft.com/windows\nRUN dir `\n  C:\\\n"
    )
    doc = parse(text)
    assert doc.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert doc.escape == "`"
    assert doc.instructions[1].logical == "dir   C:\\"


def test_directive_after_comment_is_a_comment() -> None:
    doc = parse("# hello\n# escape=`\nFROM x\n")
    assert doc.escape == "\\" and doc.directives == {}


def test_heredocs() -> None:
    text = (
        "FROM debian\n"
        "RUN <<EOF bash -ex\napt-get update\nEOF\n"
        "COPY <<-'A' /a <<B /b\n\tline\n\tA\nb\nB\n"
        'CMD ["x"]\n'
    )
    doc = parse(text)
    run, copy, cmd = doc.instructions[1:]
    assert [h.name for h in run.heredocs] == ["EOF"] and run.heredocs[0].body == "apt-get update\n"
    assert (run.line, run.end_line) == (2, 4)
    assert [(h.name, h.strip_tabs, h.quoted) for h in copy.heredocs] == [
        ("A", True, True),
        ("B", False, False),
    ]
    body = copy.heredocs[1]
    assert text[body.body_start : body.body_start + len(body.body)] == "b\n"
    assert cmd.json_args == ["x"] and cmd.line == 10


def test_unterminated_heredoc_is_an_error() -> None:
    with pytest.raises(ParseError, match="heredoc"):
        parse("FROM x\nRUN <<EOF\necho\n")


def test_unknown_instruction_is_an_error_with_a_line() -> None:
    with pytest.raises(ParseError) as info:
        parse("FROM x\nFORM y\n")
    assert info.value.line == 2


def test_flags_json_and_shell_forms() -> None:
    doc = parse(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        "RUN --mount=type=cache,target=/root/.cache go build\n"
        'CMD ["a", "b"]\nENTRYPOINT [not json\n'
    )
    frm, run, cmd, ep = doc.instructions
    assert frm.flags == {"platform": "$BUILDPLATFORM"} and frm.args == "golang:1.22 AS build"
    assert run.flags == {"mount": "type=cache,target=/root/.cache"} and run.args == "go build"
    assert cmd.json_args == ["a", "b"] and ep.json_args is None


def test_stages_args_and_references() -> None:
    doc = parse(
        "ARG REG=localhost:5000\nARG TAG\n"
        "FROM $REG/app:${VERSION:-1.0} AS base\n"
        "FROM base AS test\n"
        "FROM app:${TAG}\n"
        "FROM scratch\n"
    )
    base, test, unknown, scratch = doc.stages
    assert base.base == "localhost:5000/app:1.0" and base.name == "base" and base.base_known
    assert test.parent is base
    assert not unknown.base_known
    assert scratch.is_scratch


def test_expand_args() -> None:
    args: dict[str, str | None] = {"A": "1", "E": "", "N": None}
    assert expand_args("$A-${A}", args) == "1-1"
    assert expand_args("${E:-d}${N:-x}${A:+set}", args) == "dxset"
    assert expand_args("${N}", args) is None


def test_bom_and_missing_final_newline() -> None:
    doc = parse("\ufeffFROM x\nCMD y")
    assert [i.keyword for i in doc.instructions] == ["FROM", "CMD"]
    assert doc.text.startswith("\ufeff")


def _continuation_then_blank(text: str) -> bool:
    # BuildKit drops blank lines inside a continuation; dockerfile-parse ends the instruction.
    lines = text.splitlines()
    if lines and lines[-1].rstrip().endswith("\\"):
        return True  # and drops a continuation at the end of the file
    # It also ends one at a line that holds only the escape character.
    return any(
        a.rstrip().endswith("\\") and b.strip() in ("", "\\") for a, b in itertools.pairwise(lines)
    )


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not beside the checkout")
def test_instructions_agree_with_dockerfile_parse_on_the_corpus() -> None:
    compared = 0
    for path in sorted(CORPUS.iterdir()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        try:
            doc = parse(text)
        except ParseError:
            continue
        if doc.escape != "\\" or any(i.heredocs for i in doc.instructions):
            continue  # dockerfile-parse does not know these
        if _continuation_then_blank(text):
            continue
        theirs = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
        expected = [
            (s["instruction"], s["startline"] + 1, s["endline"] + 1)
            for s in theirs.structure
            if s["instruction"] != "COMMENT"
        ]
        ours = [(i.keyword, i.line, i.end_line) for i in doc.instructions]
        assert ours == expected, path.name
        compared += 1
    assert compared > 100, os.fspath(CORPUS)
