"""Shell commands inside RUN/CMD/ENTRYPOINT, split into words that know their file offsets.

Real Dockerfiles hold shell that full parsers (bashlex) often reject: unbalanced quotes across
continuations, ``[[ ]]``, arrays. Rules only need simple commands, their words and the operators
between them, so this tokenizer is small and never raises; fixers edit single words in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fixers.dockerfile.parser import Instruction

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
OPERATORS = ("&&", "||", ";;", ";", "|", "&", "\n", "(", ")")


@dataclass(frozen=True)
class Word:
    text: str  # the value, quotes removed
    raw: str  # as written
    start: int  # file offset of its first character
    end: int  # file offset just past its last character


@dataclass(frozen=True)
class Command:
    words: tuple[Word, ...]
    before: str | None  # the operator in front of it ("&&", ";", "|", ...), None at the start
    after: str | None  # the operator after it; "&" means it runs in the background

    @property
    def argv(self) -> list[str]:
        return [w.text for w in self.words]

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def end(self) -> int:
        return self.words[-1].end

    def program_index(self) -> int | None:
        """Index of the program word, past ``VAR=value`` prefixes and wrappers like sudo."""
        i = 0
        while i < len(self.words):
            text = self.words[i].text
            if "=" in text and text.split("=", 1)[0].isidentifier():
                i += 1
                continue
            if text in ("sudo", "command", "builtin", "env", "time", "nice", "ionice"):
                i += 1
                while i < len(self.words) and self.words[i].text.startswith("-"):
                    i += 1
                continue
            return i
        return None

    @property
    def program(self) -> str | None:
        i = self.program_index()
        return self.words[i].text.rsplit("/", 1)[-1] if i is not None else None

    @property
    def args(self) -> list[Word]:
        i = self.program_index()
        return list(self.words[i + 1 :]) if i is not None else []


def tokenize(text: str, positions: Sequence[int]) -> list[Command]:
    """Split shell text into simple commands; ``positions[i]`` is the file offset of text[i]."""
    commands: list[Command] = []
    words: list[Word] = []
    before: str | None = None
    i, n = 0, len(text)

    def close(op: str | None) -> None:
        nonlocal words, before
        if words:
            commands.append(Command(tuple(words), before, op))
        before = op
        words = []

    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n;&|("):
            while i < n and text[i] != "\n":
                i += 1
            continue
        # `&>file` redirects both streams; it is a word, not a background job.
        op = (
            None
            if text.startswith("&>", i)
            else next((o for o in OPERATORS if text.startswith(o, i)), None)
        )
        if op is not None:
            close(op)
            i += len(op)
            continue
        # A word: runs to unquoted whitespace or operator.
        start = i
        value: list[str] = []
        depth = 0  # inside $( ... ) or ${ ... }
        quote: str | None = None
        while i < n:
            c = text[i]
            if quote:
                if c == quote:
                    quote = None
                elif c == "\\" and quote == '"' and i + 1 < n:
                    i += 1
                    value.append(text[i])
                else:
                    value.append(c)
                i += 1
                continue
            if c in "'\"":
                quote = c
                i += 1
                continue
            if c == "\\" and i + 1 < n:
                value.append(text[i + 1])
                i += 2
                continue
            if (c in "<>" and text.startswith("&", i + 1)) or text.startswith("&>", i):
                # `2>&1`, `>&2`, `&>file`: redirections, not the background operator.
                value.append(c)
                value.append(text[i + 1])
                i += 2
                continue
            if c == "$" and i + 1 < n and text[i + 1] in "({":
                depth += 1
                value.append(c)
                value.append(text[i + 1])
                i += 2
                continue
            if depth and c in ")}":
                depth -= 1
                value.append(c)
                i += 1
                continue
            if not depth and (c in " \t\r\n;&|()" or (c == "<" and text.startswith("<(", i))):
                break
            value.append(c)
            i += 1
        if i == start:  # a lone character no rule above consumed
            i += 1
            continue
        words.append(Word("".join(value), text[start:i], positions[start], positions[i - 1] + 1))
    close(None)
    return commands


def instruction_commands(ins: Instruction) -> list[Command]:
    """Commands of a shell-form RUN/CMD/ENTRYPOINT, heredoc bodies included."""
    if ins.json_args is not None:
        return []
    start = ins.args_index
    commands = tokenize(ins.logical[start:], ins.positions[start:])
    if ins.keyword == "RUN" and ins.heredocs:
        # A heredoc body is shell when it is the whole command or fed to a shell;
        # `RUN python3 <<EOF` feeds it to Python instead.
        opener = next((c for c in commands if any(w.text.startswith("<<") for w in c.words)), None)
        program = opener.program if opener is not None else None
        if program is None or program.startswith("<<") or program in SHELLS:
            for heredoc in ins.heredocs:
                body = heredoc.body
                positions = range(heredoc.body_start, heredoc.body_start + len(body))
                commands.extend(tokenize(body, positions))
    # The words that open heredocs (<<EOF) are not commands of their own.
    return [c for c in commands if not c.words[0].text.startswith("<<")]


def stage_commands(instructions: Sequence[Instruction]) -> list[tuple[Instruction, Command]]:
    return [
        (ins, cmd)
        for ins in instructions
        if ins.keyword == "RUN"
        for cmd in instruction_commands(ins)
    ]
