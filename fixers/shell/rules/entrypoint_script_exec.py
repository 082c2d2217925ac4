"""CBP190: an entrypoint script ``exec``s the service it starts last."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import bashlex

from fixers.dockerfile.commands import Command
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.shell.kind import ShellScript

OPENERS = frozenset({"if", "while", "until", "for", "select", "case", "{"})
CLOSERS = frozenset({"fi", "done", "esac", "}"})
# Words that begin a command inside a compound command: the command proper follows them.
CONTINUERS = frozenset({"then", "do", "else", "elif", "!"})
# Shell keywords in front of a command: `exec time server` would look for a `time` program.
KEYWORD_PREFIXES = frozenset({"time", "!", "coproc"})
# Builtins: nothing to exec, or the script is not starting a service with them.
BUILTINS = frozenset(
    {".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare",
     "echo", "eval", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "let",
     "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "shopt", "source",
     "test", "[", "[[", "times", "trap", "true", "type", "typeset", "ulimit", "umask",
     "unalias", "unset", "wait"}
)  # fmt: skip


# Programs that are no service: a script ending with them is not starting one (keep-alives
# like `sleep infinity` or `tail -f` follow daemonized services, which `exec` does not help).
NOT_SERVICES = frozenset(
    {"cat", "ls", "printenv", "date", "chmod", "chown", "mkdir", "rm", "cp", "mv", "ln",
     "touch", "sed", "grep", "awk", "sleep", "tail", "id", "whoami", "hostname", "uname"}
)  # fmt: skip


@dataclass(frozen=True)
class _Entry:
    command: Command
    depth: int  # nesting (compound commands, functions, subshells) where it starts
    role: str  # "simple", "open", "close"


def _is_assignment(word: str) -> bool:
    return "=" in word and word.split("=", 1)[0].isidentifier()


def _parens(gap: str) -> int:
    """Net ``(`` minus ``)`` operators in text between commands (comments skipped)."""
    net = 0
    in_comment = False
    for c in gap:
        if in_comment:
            in_comment = c != "\n"
        elif c == "#":
            in_comment = True
        elif c == "(":
            net += 1
        elif c == ")":
            net -= 1
    return net


def structure(doc: ShellScript) -> tuple[list[_Entry], set[str]]:
    """Each command with its nesting depth, and the names of the functions the script defines."""
    entries: list[_Entry] = []
    functions: set[str] = set()
    depth = 0
    in_case = 0
    previous_end = 0
    commands = doc.commands
    for index, command in enumerate(commands):
        gap = doc.masked[previous_end : command.start]
        if not in_case:
            depth = max(depth + _parens(gap), 0)
        previous_end = command.end
        words = [w.raw for w in command.words]
        first = words[0]
        following = (
            doc.masked[command.end : commands[index + 1].start]
            if index + 1 < len(commands)
            else doc.masked[command.end :]
        )
        if len(words) == 1 and following.lstrip(" \t").startswith("("):
            functions.add(first)  # name() { ...; }
        if first == "function" and len(words) > 1:
            functions.add(words[1])
            entries.append(_Entry(command, depth, "open"))
            depth += 1
            continue
        if first in CLOSERS:
            depth = max(depth - 1, 0)
            if first == "esac":
                in_case = max(in_case - 1, 0)
            entries.append(_Entry(command, depth, "close"))
            continue
        if first in OPENERS:
            entries.append(_Entry(command, depth, "open"))
            depth += 1
            if first == "case":
                in_case += 1
            # `{ cmd` or `if cmd`: the rest is inside.
            continue
        role = "simple"
        if first in CONTINUERS:
            role = "open"  # part of a compound command
        entries.append(_Entry(command, depth, role))
    return entries, functions


def _starts_program(entry: _Entry) -> bool:
    """A command in a block's body (not its condition) that runs a program that may serve."""
    words = [w.text for w in entry.command.words]
    if entry.role == "open":
        if not words or words[0] not in CONTINUERS:
            return False  # `if cond`, `while cond`, `case x in`: not the body
        words = words[1:]
    elif entry.role != "simple":
        return False
    words = [w for w in words if not _is_assignment(w)]
    if not words:
        return False
    name = words[0].rsplit("/", 1)[-1]
    return words[0] not in BUILTINS and name not in NOT_SERVICES


def _bashlex_top_level_starts(text: str) -> set[int] | None:
    """Start offsets of the top-level simple commands as bashlex sees them; None if it fails."""
    try:
        parts = bashlex.parse(text)
    except Exception:  # bashlex raises many kinds of errors on shell it does not know
        return None
    starts: set[int] = set()
    for part in parts:
        nodes = part.parts if part.kind == "list" else [part]
        for node in nodes:
            if node.kind == "command":
                starts.add(node.pos[0])
    return starts


def _bashlex_text(text: str) -> str:
    # Same length and offsets of commands: bashlex reads a carriage return as part of a word.
    return text.replace("\r\n", "\n ").replace("\r", " ")


class EntrypointScriptExec(Rule[ShellScript]):
    doc = RuleDoc(
        code="CBP190",
        name="entrypoint-script-exec",
        kind="shell",
        title="`exec` the service at the end of an entrypoint script",
        what=(
            "Checks the scripts a Dockerfile's final stage starts with (its ENTRYPOINT or CMD, "
            "mapped back through `COPY` to the repository, the build context taken to be the "
            "Dockerfile's directory). Flags the script's last top-level command when it starts "
            "a program without `exec` (a trailing `exit` does not count). Not flagged: an "
            "already `exec`ed command, builtins (`echo`, `set`, `export`, `true`, ...), "
            "programs that start no service (`cat`, `cp`, keep-alives like `sleep` and "
            "`tail -f`, ...), a last command run in the background, and a script ending in "
            "`if`/`case`/a loop that `exec`s inside it. Reported without a fix: a script that "
            "ends inside such a block with no `exec`, ends in a subshell `( ... )` (an `exec` "
            "in there replaces only the subshell), runs its last command behind the shell "
            "keywords `time` or `!`, calls one of its functions last, `wait`s for background "
            "jobs without a `trap`, or sets a `trap`. Scripts whose "
            "`#!` names another interpreter (python, node, ...) are skipped."
        ),
        why=(
            "Without `exec` the shell stays PID 1 and the service runs as its child. "
            "`docker stop` and Kubernetes send SIGTERM to PID 1 only; the shell does not pass "
            "it on, so the service never shuts down gracefully and is SIGKILLed after the "
            "grace period (10 s by default), dropping requests in flight. With `exec` the "
            "service replaces the shell, receives the signals itself and its exit status "
            "becomes the container's."
        ),
        before="#!/bin/sh\nset -e\npython manage.py migrate\ngunicorn app:app\n",
        after="#!/bin/sh\nset -e\npython manage.py migrate\nexec gunicorn app:app\n",
        fix=FixSafety.SAFE,
        fix_notes=(
            'Inserts `exec ` before the last command (`"$@"` becomes `exec "$@"`) when it '
            "is at the top level, starts a program (not a builtin or a function of the "
            "script), has no `VAR=value` prefix (`exec` must come first; write `exec env "
            "VAR=value cmd`), is not in a pipeline or an `&&`/`||` list that goes on, and "
            "the script sets no `trap` (an `exec`ed program drops the shell's handlers). A "
            "trailing "
            "`exit` is left in place (it can no longer run). When bashlex can parse the "
            "script it must agree on the last command and parse the result too."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/best-practices/#entrypoint",
            "https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#exec",
            "https://github.com/krallin/tini#why-tini",
        ),
    )

    def check(self, ctx: Context[ShellScript]) -> Iterator[Finding]:
        doc = ctx.doc
        entries, functions = structure(doc)
        if not entries:
            return
        # The last command, past trailing `exit`s.
        tail = list(entries)
        while (
            len(tail) > 1
            and tail[-1].role == "simple"
            and tail[-1].depth == 0
            and tail[-1].command.words[0].text == "exit"
            and tail[-1].command.before in (None, "\n", ";")
        ):
            tail.pop()
        last = tail[-1]
        command = last.command
        line = doc.line_of(command.start)
        if last.depth == 0 and command.words[0].text in KEYWORD_PREFIXES:
            yield from self._keyword_end(ctx, command)
            return
        if last.role != "simple" or last.depth > 0:
            yield from self._compound_end(ctx, tail)
            return
        word = command.words[0]
        if word.text == "exec":
            return
        if command.after == "&":
            return  # the script ends by backgrounding it: a different problem
        trapped = any(e.command.program == "trap" for e in entries)
        index = next((i for i, w in enumerate(command.words) if not _is_assignment(w.text)), 0)
        shown = command.words[index].raw
        message = (
            f"the script's last command `{shown}` runs as a child of the shell: the shell stays "
            "PID 1 and does not pass SIGTERM on"
        )
        if word.text == "wait":
            if not trapped:
                yield self.finding(
                    ctx,
                    line,
                    "the script starts its services in the background and `wait`s: the shell "
                    "is PID 1 and passes no signal on",
                    suggestion="run one service per container and `exec` it, or `trap` "
                    "SIGTERM and forward it to the background jobs",
                )
            return
        if word.text in BUILTINS or command.program in NOT_SERVICES:
            return
        suggestion = None
        if word.text in functions:
            suggestion = f"`{shown}` is a function of the script: `exec` its last command"
        elif _is_assignment(word.text):
            prefix = " ".join(w.raw for w in command.words[:index])
            suggestion = (
                f"`exec` must come first: `exec env {prefix} {shown} ...` (or export the "
                "variables before it)"
            )
        elif command.before == "|" or command.after in ("|", "&&", "||"):
            suggestion = (
                f"`{shown}` is part of a pipeline or an `&&`/`||` list that goes on: start the "
                "service on its own line with `exec`"
            )
        elif trapped:
            suggestion = (
                "the script sets a `trap`, whose handlers an `exec`ed program drops: keep the "
                f"shell and forward signals to `{shown}`, or `exec` it and drop the trap"
            )
        else:
            problem = self._bashlex_disagrees(doc.text, command)
            if problem is not None:
                suggestion = f"{problem}: put `exec` before `{shown}` by hand"
        if suggestion is not None:
            yield self.finding(ctx, line, message, suggestion=suggestion)
            return
        yield self.finding(
            ctx,
            line,
            message,
            edits=[Edit(word.start, word.start, "exec ")],
            fix_description=f"`exec {shown}` so that it replaces the shell as PID 1",
        )

    def _keyword_end(self, ctx: Context[ShellScript], command: Command) -> Iterator[Finding]:
        """The last command runs behind ``time``, ``!`` or ``coproc``: report, never fix."""
        keyword = command.words[0].text
        rest = [w for w in command.words[1:] if not (keyword == "time" and w.text == "-p")]
        words = [w.text for w in rest if not _is_assignment(w.text)]
        if not words or words[0] == "exec":
            return
        if words[0] in BUILTINS or words[0].rsplit("/", 1)[-1] in NOT_SERVICES:
            return
        shown = f"{keyword} {words[0]}"
        yield self.finding(
            ctx,
            ctx.doc.line_of(command.start),
            f"the script's last command `{shown}` runs as a child of the shell: the shell "
            "stays PID 1 and does not pass SIGTERM on",
            suggestion=(
                f"`{keyword}` is a shell keyword, not a program `exec` can run: drop it and "
                f"start the service with `exec {words[0]} ...`"
            ),
        )

    def _compound_end(self, ctx: Context[ShellScript], tail: Sequence[_Entry]) -> Iterator[Finding]:
        """The script ends inside a compound command: fine when it `exec`s in there, unless
        that is a subshell, whose `exec` replaces only the subshell."""
        # The entries inside the construct that ends the script (all nested deeper than 0).
        first = len(tail) - 1
        while first > 0 and tail[first - 1].depth > 0:
            first -= 1
        before = tail[first - 1] if first > 0 else None
        if tail[-1].depth > 0 and (before is None or before.role != "open"):
            # Nothing at the top level opens it: a subshell, `( ... )`.
            block = tail[first:]
            if not any(_starts_program(e) for e in block):
                return
            yield self.finding(
                ctx,
                ctx.doc.line_of(block[0].command.start),
                "the script ends in a subshell (`( ... )`) that starts its program: the shell "
                "stays PID 1 and does not pass SIGTERM on",
                suggestion=(
                    "run the commands without the parentheses and put `exec` before the one "
                    "that starts the service (an `exec` inside `( ... )` replaces only the "
                    "subshell)"
                ),
            )
            return
        # The compound command that ends the script: back to the opener at depth 0.
        start = len(tail) - 1
        while start > 0 and not (tail[start].depth == 0 and tail[start].role == "open"):
            start -= 1
        block = tail[start:]
        if any(w.text == "exec" for e in block for w in e.command.words[:2]):
            return
        if not any(_starts_program(e) for e in block[1:]):
            return  # only builtins and conditions: the block starts no service
        opener = tail[start].command.words[0].raw
        yield self.finding(
            ctx,
            ctx.doc.line_of(tail[start].command.start),
            f"the script ends in a block (`{opener} ...`) that starts its program without "
            "`exec`: the shell stays PID 1 and does not pass SIGTERM on",
            suggestion="put `exec` before the command that starts the service",
        )

    @staticmethod
    def _bashlex_disagrees(text: str, command: Command) -> str | None:
        original = _bashlex_text(text)
        starts = _bashlex_top_level_starts(original)
        if starts is None:
            return None  # bashlex cannot read it; our reading stands
        if command.start not in starts:
            return "bashlex reads the script's structure differently"
        at = command.start
        fixed = original[:at] + "exec " + original[at:]
        if _bashlex_top_level_starts(fixed) is None:
            return "the script would no longer parse"
        return None
