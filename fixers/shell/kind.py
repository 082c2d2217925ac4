"""The shell-script kind: entrypoint scripts found through a Dockerfile's ENTRYPOINT/CMD.

Scripts are not discovered on their own (most shell scripts in a repository are build or dev
tooling); ``DockerfileKind.related`` names the ones an image starts with. The model is small:
the text, its line ending, its simple commands (``fixers.dockerfile.commands.tokenize`` with
file offsets) and its comment lines, for ignore comments:

- ``# container-bp ignore=CBP190 reason`` in the comment block directly above a line;
- ``# container-bp ignore-file=CBP190`` anywhere: the whole file.

shellcheck's ``# shellcheck disable=`` comments name shellcheck's checks, not ours, and are
not read.
"""

from __future__ import annotations

import posixpath
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from fixers.dockerfile.commands import Command, tokenize
from fixers.ignorecomments import file_ids, line_ids, normalise
from fixers.textedit import detect_newline, line_starts

# Interpreters (``#!`` lines) whose scripts are read as POSIX-like shell.
SHELL_INTERPRETERS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"})
# `<<EOF`, `<<-EOF`, `<< 'EOF'`, `<<"EOF"` (not the here-string `<<<`).
_HEREDOC = re.compile(r"(?<!<)<<(-?)[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass(frozen=True)
class ShellComment:
    line: int
    start: int
    text: str  # without the leading '#', stripped


@dataclass
class ShellScript:
    text: str
    newline: str
    commands: list[Command]
    comments: list[ShellComment]
    interpreter: str | None  # basename from the `#!` line, None without one
    # (start, end) offsets of heredoc bodies and their terminators: not commands or comments.
    heredoc_bodies: list[tuple[int, int]] = field(default_factory=list)
    # The text the commands were read from: heredoc bodies blanked, continuations joined.
    masked: str = ""
    _starts: list[int] = field(default_factory=list, repr=False)

    def line_of(self, offset: int) -> int:
        return bisect_right(self._starts, offset)

    def comments_above(self, line: int) -> list[ShellComment]:
        """The block of comment lines directly above ``line`` (no blank line between)."""
        by_line = {c.line: c for c in self.comments}
        block: list[ShellComment] = []
        current = line - 1
        while current in by_line:
            block.append(by_line[current])
            current -= 1
        block.reverse()
        return block


def _interpreter(first_line: str) -> str | None:
    if not first_line.startswith("#!"):
        return None
    words = first_line[2:].split()
    if not words:
        return None
    name = posixpath.basename(words[0])
    if name == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        name = posixpath.basename(rest[0]) if rest else "env"
    return name


def _heredoc_bodies(text: str, starts: list[int]) -> list[tuple[int, int]]:
    """Bodies of ``<<EOF`` heredocs, line-based; an unterminated one is not treated as one."""
    bodies: list[tuple[int, int]] = []
    lines = [text[s : (starts[i + 1] if i + 1 < len(starts) else len(text))]
             for i, s in enumerate(starts)]  # fmt: skip
    i = 0
    while i < len(lines):
        content = lines[i].rstrip("\r\n")
        if content.lstrip().startswith("#"):
            i += 1
            continue
        pending = [(m.group(1) == "-", m.group(3)) for m in _HEREDOC.finditer(content)]
        i += 1
        for strip_tabs, word in pending:
            j = i
            while j < len(lines):
                body_line = lines[j].rstrip("\r\n")
                if (body_line.lstrip("\t") if strip_tabs else body_line) == word:
                    break
                j += 1
            if j >= len(lines):
                break  # no terminator: probably not a heredoc (a quoted "<<"), leave it
            start = starts[i] if i < len(starts) else len(text)
            end = starts[j + 1] if j + 1 < len(starts) else len(text)
            bodies.append((start, end))  # the terminator line included
            i = j + 1
    return bodies


def _mask(text: str, bodies: list[tuple[int, int]]) -> str:
    """Same length as ``text``: heredoc bodies blanked, ``\\``-newline continuations blanked."""
    chars = list(text)
    for start, end in bodies:
        for k in range(start, end):
            if chars[k] not in "\r\n":
                chars[k] = " "
    k = 0
    n = len(chars)
    while k < n:
        if chars[k] == "\\":
            # An odd run of backslashes before a line break continues the line.
            run = k
            while run < n and chars[run] == "\\":
                run += 1
            nl = run + 1 if run < n and chars[run] == "\r" else run
            if (run - k) % 2 == 1 and nl < n and chars[nl] == "\n":
                for m in range(run - 1, nl + 1):
                    chars[m] = " "
            k = run
            continue
        k += 1
    return "".join(chars)


def parse(text: str) -> ShellScript:
    """Read a script; raises ValueError when its ``#!`` names a non-shell interpreter."""
    first = text.split("\n", 1)[0].rstrip("\r")
    interpreter = _interpreter(first.lstrip("\ufeff"))
    if interpreter is not None and interpreter not in SHELL_INTERPRETERS:
        raise ValueError(f"line 1: not a shell script (#!{first[2:].strip()})")
    starts = line_starts(text)
    bodies = _heredoc_bodies(text, starts)
    masked = _mask(text, bodies)
    commands = [c for c in tokenize(masked, range(len(masked))) if c.words]
    comments: list[ShellComment] = []
    in_body = [False] * len(starts)
    for start, end in bodies:
        for line_index in range(bisect_right(starts, start) - 1, bisect_right(starts, end - 1)):
            in_body[line_index] = True
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        stripped = text[start:end].strip()
        if stripped.startswith("#") and not in_body[index] and not stripped.startswith("#!"):
            comments.append(ShellComment(index + 1, start, stripped[1:].strip()))
    return ShellScript(
        text=text,
        newline=detect_newline(text),
        commands=commands,
        comments=comments,
        interpreter=interpreter,
        heredoc_bodies=bodies,
        masked=masked,
        _starts=starts,
    )


def ignored_ids(doc: ShellScript, line: int) -> frozenset[str]:
    found: set[str] = set()
    for comment in doc.comments:
        found |= file_ids(comment.text)
    for comment in doc.comments_above(line):
        found |= line_ids(comment.text)
    return normalise(found)


class ShellKind:
    name = "shell"

    def parse(self, text: str) -> ShellScript:
        return parse(text)

    def ignored_ids(self, doc: Any, line: int) -> frozenset[str]:
        return ignored_ids(doc, line)
