"""A Dockerfile parser that keeps exact source positions.

dockerfile-parse (used as a cross-check in the tests) splits instructions by lines but does not
know heredocs or the escape directive's effect on positions; fixers need to edit single tokens
inside continued lines without touching the rest, so every character of an instruction's
logical text maps back to its offset in the original file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property

from fixers.textedit import detect_newline

KEYWORDS = frozenset(
    {
        "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
        "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
        "HEALTHCHECK", "SHELL",
    }
)  # fmt: skip
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})

_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*([a-zA-Z][a-zA-Z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
_HEREDOC_WORD = re.compile(r"^\d*<<(-?)(['\"]?)([^<'\"\s]+)\2$")
_FLAG = re.compile(r"--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?")


class ParseError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Heredoc:
    name: str
    strip_tabs: bool
    quoted: bool
    body: str
    line: int  # first body line
    end_line: int  # the terminator's line
    body_start: int = 0  # file offset of the body's first character


@dataclass(frozen=True)
class Comment:
    line: int
    start: int
    text: str  # without the leading '#', stripped


@dataclass(frozen=True)
class Instruction:
    keyword: str
    start: int  # offset of the first character of the instruction's first line
    end: int  # offset just past its last line's newline (heredoc bodies included)
    line: int
    end_line: int
    logical: str  # arguments with continuations joined and inner comment lines dropped
    positions: tuple[int, ...]  # positions[i] is the file offset of logical[i]
    heredocs: tuple[Heredoc, ...] = ()
    args_end: int = 0  # offset just past the last argument character on the instruction's lines

    @cached_property
    def _split_flags(self) -> tuple[dict[str, str], int]:
        flags: dict[str, str] = {}
        i = 0
        text = self.logical
        while True:
            while i < len(text) and text[i] in " \t":
                i += 1
            m = _FLAG.match(text, i)
            if not m or (m.end() < len(text) and text[m.end()] not in " \t"):
                break
            flags[m.group(1).lower()] = m.group(2) if m.group(2) is not None else ""
            i = m.end()
        return flags, i

    @property
    def flags(self) -> dict[str, str]:
        return self._split_flags[0]

    @property
    def args_index(self) -> int:
        """Index into ``logical`` where the arguments after any ``--flags`` begin."""
        return self._split_flags[1]

    @property
    def args(self) -> str:
        return self.logical[self.args_index :].strip()

    @cached_property
    def json_args(self) -> list[str] | None:
        """The exec-form argument list, or None for the shell form."""
        text = self.args
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None

    def offset(self, index: int) -> int:
        """File offset of ``logical[index]``; the end of the arguments for index == len."""
        if index >= len(self.positions):
            return self.args_end
        return self.positions[index]


@dataclass
class Dockerfile:
    text: str
    newline: str
    escape: str
    directives: dict[str, str]
    instructions: list[Instruction]
    comments: list[Comment]
    stages: list[Stage] = field(default_factory=list)
    global_args: dict[str, str | None] = field(default_factory=dict)

    def comments_before(self, instruction: Instruction) -> list[Comment]:
        """The block of comment lines directly above an instruction (no blank line between)."""
        by_line = {c.line: c for c in self.comments}
        block: list[Comment] = []
        line = instruction.line - 1
        while line in by_line:
            block.append(by_line[line])
            line -= 1
        block.reverse()
        return block

    def line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1


@dataclass
class Stage:
    index: int
    from_: Instruction
    base: str  # the FROM argument with ARGs expanded, or the raw text when they cannot be
    name: str | None
    base_known: bool  # False when an ARG in the image reference has no value
    parent: Stage | None  # when FROM names an earlier stage
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def is_scratch(self) -> bool:
        return self.base.lower() == "scratch"


def lineage(stage: Stage) -> list[Stage]:
    """The stage and the stages it builds on (``FROM <stage>``), the root first: the first
    one's ``base`` is the external image the whole chain starts from."""
    chain = [stage]
    while chain[-1].parent is not None and chain[-1].parent not in chain:
        chain.append(chain[-1].parent)
    chain.reverse()
    return chain


def _physical_lines(text: str) -> list[tuple[int, int, int]]:
    """(start, content_end, next_start) for each line; content excludes the line ending."""
    out: list[tuple[int, int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        if nl == -1:
            out.append((pos, n, n))
            break
        end = nl - 1 if nl > pos and text[nl - 1] == "\r" else nl
        out.append((pos, end, nl + 1))
        pos = nl + 1
    return out


def _continues(content: str, escape: str) -> int | None:
    """Index of a trailing escape character that continues the line, or None."""
    stripped = content.rstrip(" \t")
    if stripped.endswith(escape):
        return len(stripped) - 1
    return None


def _heredoc_specs(logical: str) -> list[tuple[str, bool, bool]]:
    specs: list[tuple[str, bool, bool]] = []
    for word in logical.split():
        m = _HEREDOC_WORD.match(word)
        if m:
            specs.append((m.group(3), m.group(1) == "-", bool(m.group(2))))
    return specs


def parse(text: str) -> Dockerfile:
    """Parse a Dockerfile; raises ParseError for text BuildKit would reject."""
    original = text
    if text.startswith("\ufeff"):
        # A byte-order mark reads as a blank; same length, so every offset still holds.
        text = " " + text[1:]
    lines = _physical_lines(text)
    escape = "\\"
    directives: dict[str, str] = {}
    instructions: list[Instruction] = []
    comments: list[Comment] = []

    i = 0
    # Parser directives: only at the very top, before any blank line, comment or instruction.
    while i < len(lines):
        start, cend, _ = lines[i]
        m = _DIRECTIVE.match(text[start:cend])
        if not m or m.group(1).lower() in directives:
            break
        key, value = m.group(1).lower(), m.group(2)
        directives[key] = value
        if key == "escape":
            if value not in ("\\", "`"):
                raise ParseError(f"invalid escape directive {value!r}", i + 1)
            escape = value
        comments.append(Comment(i + 1, start, text[start:cend].strip()[1:].strip()))
        i += 1

    while i < len(lines):
        start, cend, _ = lines[i]
        content = text[start:cend]
        stripped = content.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("#"):
            comments.append(Comment(i + 1, start, stripped[1:].strip()))
            i += 1
            continue

        lead = len(content) - len(content.lstrip())
        m = re.match(r"[A-Za-z]+", content[lead:])
        if not m:
            raise ParseError(f"expected an instruction, found {stripped[:40]!r}", i + 1)
        keyword = m.group(0).upper()
        if keyword not in KEYWORDS:
            raise ParseError(f"unknown instruction {m.group(0)!r}", i + 1)
        after = lead + m.end()
        if after < len(content) and content[after] not in " \t" + escape:
            raise ParseError(f"unknown instruction {content[lead:].split()[0]!r}", i + 1)

        logical: list[str] = []
        positions: list[int] = []
        first_line = i
        col = after
        args_end = start + after
        while True:
            start, cend, _ = lines[i]
            content = text[start:cend]
            cont = _continues(content, escape)
            piece_end = cont if cont is not None else len(content)
            for k in range(col, piece_end):
                logical.append(content[k])
                positions.append(start + k)
            if piece_end > col:
                args_end = start + len(content[:piece_end].rstrip(" \t"))
            i += 1
            if cont is None:
                break
            # Inside a continuation, comment lines and blank lines are dropped (as BuildKit does).
            while i < len(lines):
                s2, e2, _ = lines[i]
                inner = text[s2:e2].strip()
                if inner and not inner.startswith("#"):
                    break
                i += 1
            if i >= len(lines):
                break
            col = 0

        logical_text = "".join(logical)
        # Leading blanks after the keyword are not part of the arguments.
        skip = len(logical_text) - len(logical_text.lstrip(" \t"))
        logical_text = logical_text[skip:]
        positions = positions[skip:]
        end = lines[i - 1][2]
        end_line = i

        heredocs: list[Heredoc] = []
        if keyword in HEREDOC_KEYWORDS:
            for name, strip_tabs, quoted in _heredoc_specs(logical_text):
                body_first = i
                while True:
                    if i >= len(lines):
                        raise ParseError(f"heredoc {name!r} is not terminated", body_first + 1)
                    s3, e3, _ = lines[i]
                    line_text = text[s3:e3]
                    if (line_text.lstrip("\t") if strip_tabs else line_text) == name:
                        break
                    i += 1
                body = text[lines[body_first][0] : lines[i][0]] if i > body_first else ""
                heredocs.append(
                    Heredoc(
                        name,
                        strip_tabs,
                        quoted,
                        body,
                        body_first + 1,
                        i + 1,
                        lines[body_first][0] if body_first < len(lines) else len(text),
                    )
                )
                i += 1
                end = lines[i - 1][2]
                end_line = i

        instructions.append(
            Instruction(
                keyword=keyword,
                start=lines[first_line][0],
                end=end,
                line=first_line + 1,
                end_line=end_line,
                logical=logical_text,
                positions=tuple(positions),
                heredocs=tuple(heredocs),
                args_end=args_end,
            )
        )

    doc = Dockerfile(
        text=original,
        newline=detect_newline(text),
        escape=escape,
        directives=directives,
        instructions=instructions,
        comments=comments,
    )
    _build_stages(doc)
    return doc


_VAR = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def expand_args(value: str, args: dict[str, str | None]) -> str | None:
    """Expand ``$X``/``${X}``/``${X:-d}``/``${X:+v}``; None when a variable has no value."""
    unknown = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unknown
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        val = args.get(name)
        if op in (":-", "-"):
            if val is None or (op == ":-" and val == ""):
                return word
            return val
        if op in (":+", "+"):
            return word if val else ""
        if val is None:
            unknown = True
            return m.group(0)
        return val

    out = _VAR.sub(sub, value)
    return None if unknown else out


def _split_arg(text: str) -> tuple[str, str | None]:
    name, sep, default = text.partition("=")
    value = default.strip().strip("\"'") if sep else None
    return name.strip(), value


def _build_stages(doc: Dockerfile) -> None:
    stages: list[Stage] = []
    by_name: dict[str, Stage] = {}
    for ins in doc.instructions:
        if ins.keyword == "ARG" and not stages:
            for part in ins.args.split():
                name, value = _split_arg(part)
                doc.global_args[name] = value
            continue
        if ins.keyword == "FROM":
            words = ins.args.split()
            raw = words[0] if words else ""
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            expanded = expand_args(raw, doc.global_args)
            parent = by_name.get((expanded or raw).lower())
            stage = Stage(
                index=len(stages),
                from_=ins,
                base=expanded if expanded is not None else raw,
                name=alias,
                base_known=expanded is not None,
                parent=parent,
            )
            stages.append(stage)
            if alias:
                by_name[alias.lower()] = stage
            by_name[str(stage.index)] = stage
            continue
        if stages:
            stages[-1].instructions.append(ins)
    doc.stages = stages
