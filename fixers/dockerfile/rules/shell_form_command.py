"""CBP103: the final image's CMD and ENTRYPOINT use the exec (JSON) form."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator

from fixers.dockerfile.baseimages import pass_through_entrypoint, sets_no_entrypoint
from fixers.dockerfile.commands import tokenize
from fixers.dockerfile.distro import has_no_package_manager, is_windows
from fixers.dockerfile.entrypoints import (
    StartCommand,
    effective_shell,
    final_stage,
    is_posix_shell,
    program,
    start_command,
)
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

# Shell keywords and builtins: no file to exec (`exec cd` fails), or they change the shell.
BUILTINS = frozenset(
    {".", ":", "alias", "bg", "break", "builtin", "case", "cd", "command", "continue", "declare",
     "do", "done", "elif", "else", "esac", "eval", "exec", "exit", "export", "fg", "fi", "for",
     "function", "getopts", "hash", "if", "jobs", "let", "local", "read", "readonly", "return",
     "select", "set", "shift", "source", "then", "time", "times", "trap", "type", "typeset",
     "ulimit", "umask", "unalias", "unset", "until", "wait", "while", "{", "}", "!", "[[", "]]"}
)  # fmt: skip
# Builtins that may come before the last command of a chain.
_CHAINABLE = frozenset({"exec", "cd", "export", "set", "umask", "ulimit", ".", ":"})
# Characters that mean something to the shell outside quotes (conservatively).
_SHELL_CHARS = frozenset("$`\\;&|<>()*?[]{}~#!\n")
# Inside double quotes the shell still expands these.
_DQ_CHARS = frozenset("$`\\!")


def plain_argv(text: str) -> list[str] | None:
    """The argv of a command with no shell syntax at all, or None when it needs a shell."""
    quote: str | None = None
    for c in text:
        if quote == "'":
            if c == "'":
                quote = None
        elif quote == '"':
            if c == '"':
                quote = None
            elif c in _DQ_CHARS:
                return None
        elif c in "'\"":
            quote = c
        elif c in _SHELL_CHARS:
            return None
    if quote is not None:
        return None
    commands = tokenize(text, range(len(text)))
    if len(commands) != 1 or commands[0].before is not None or commands[0].after is not None:
        return None
    words = commands[0].argv
    if words and words[0] == "exec":
        words = words[1:]
    if not words or words[0] in BUILTINS or words[0].startswith("-"):
        return None
    first = words[0]
    if "=" in first and first.split("=", 1)[0].isidentifier():
        return None  # VAR=value cmd: the shell sets the variable
    return words


def exec_last(text: str) -> str | None:
    """``a && b && server`` as ``a && b && exec server``; None unless it is such a chain.

    Only ``&&`` and ``;`` may join the commands; pipes, ``||``, background jobs, subshells,
    compound commands, ``trap`` (its handlers would be lost), heredocs, backticks and
    ``VAR=value`` prefixes on the last command are left alone.
    """
    if any(s in text for s in ("`", "<<", "<(", ">(")):
        return None
    commands = tokenize(text, range(len(text)))
    if not commands:
        return None
    for c in commands:
        if c.before not in (None, "&&", ";") or c.after not in (None, "&&", ";"):
            return None
        if c.words[0].text in BUILTINS - _CHAINABLE:
            return None
        if c.program == "trap":
            return None
    last = commands[-1]
    if last.after == "&&":
        return None  # a dangling operator
    word = last.words[0]
    if word.text == "exec":
        return text
    if word.text in BUILTINS or ("=" in word.text and word.text.split("=", 1)[0].isidentifier()):
        return None
    return text[: word.start] + "exec " + text[word.start :]


def _python_list(text: str) -> str | None:
    """``['a', 'b']`` (single quotes, not JSON) as the JSON list it was meant to be."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return json.dumps(value, ensure_ascii=False)
    return None


def _has_inner_comments(doc: Dockerfile, ins: Instruction) -> bool:
    """Comment lines inside a continued instruction (the parser leaves them out of it)."""
    lines = doc.text[ins.start : ins.end].split("\n")[1:]
    return any(line.strip().startswith("#") for line in lines)


def _init_only(ins: Instruction | None) -> bool:
    """An exec-form ENTRYPOINT that is only an init (``["tini", "--"]``): it runs CMD as given."""
    return ins is not None and bool(ins.json_args) and not program(ins.json_args or [])


def _base_entrypoint_changes(stage: Stage, argv: list[str]) -> str | None:
    """Under the base image's own ENTRYPOINT (the file sets none), what it receives differently
    once ``CMD argv`` is in exec form; None when it is known to run the CMD the same.

    The shell form hands it ``/bin/sh -c "..."``; the exec form hands it ``argv``. Images known
    to set no ENTRYPOINT run the CMD itself; node's and php's entrypoint scripts ``exec "$@"``,
    unless the first word is an option (or, for node, a script file), which they run with
    ``node``/``php``.
    """
    if sets_no_entrypoint(stage):
        return None
    script = pass_through_entrypoint(stage)
    first = argv[0]
    handed_on = first.startswith("-") or (
        script == "docker-entrypoint.sh" and first.endswith((".js", ".mjs", ".cjs"))
    )
    if script is not None and not handed_on:
        return None
    return f"`{first}` instead of `/bin/sh`"


class ShellFormCommand(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP103",
        name="shell-form-command",
        kind="dockerfile",
        title="Write CMD and ENTRYPOINT in exec (JSON) form",
        what=(
            "Flags a shell-form `CMD` or `ENTRYPOINT` (`CMD gunicorn app:app`) that is in "
            "effect in the final image: the last one of the final stage, or one it inherits "
            "through `FROM <stage>`. Earlier stages, overridden instructions, exec-form "
            'instructions (including `["sh", "-c", "..."]`) and Windows images (a Windows '
            "base image, or a `cmd`/`powershell` `SHELL`) are left alone."
        ),
        why=(
            'The shell form runs `/bin/sh -c "..."`, so the shell is PID 1 and the '
            "application its child. `docker stop` sends SIGTERM to PID 1; the shell does not "
            "pass it on, so the application never shuts down gracefully and is SIGKILLed "
            "after the 10 s timeout (dropped requests, unflushed data). Debian's and Ubuntu's "
            "`/bin/sh` (dash) keeps itself as PID 1 even for a single command; bash and some "
            "busybox builds replace themselves with a lone last command, but not reliably. "
            "A shell-form ENTRYPOINT also ignores CMD and the arguments of `docker run`."
        ),
        before="FROM python:3.12-slim\nCMD gunicorn app:app -b 0.0.0.0:8000\n",
        after='FROM python:3.12-slim\nCMD ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]\n',
        fix=FixSafety.SAFE,
        fix_notes=(
            "A command with no shell syntax (no `$`, globs, `~`, `;`, `&&`, `|`, redirections, "
            "backticks, subshells or quoting that needs a shell) is rewritten in place as a "
            "JSON list, a leading `exec` dropped. A command that needs the shell because it "
            "chains commands with `&&`/`;` or reads environment variables keeps it, written "
            "out, with `exec` before the last command so the server replaces the shell: "
            '`CMD ["/bin/sh", "-c", "migrate && exec server --port $PORT"]` (the exec '
            "form never expands variables, so no JSON list is made of those); the stage's "
            "`SHELL` is used when it sets one. Both keep what runs, so they are safe, except "
            "three unsafe cases: a shell-form ENTRYPOINT made a JSON list while a CMD is in "
            "effect (the CMD becomes its arguments); a shell-form CMD made a JSON list "
            "under an exec-form ENTRYPOINT that is not just an init (the ENTRYPOINT receives "
            "different arguments); and a shell-form CMD made a JSON list when the file sets no "
            "ENTRYPOINT and the base image may set one (`postgres`, `redis`, any image not "
            "known to set none: its entrypoint script then receives the program, `postgres`, "
            "instead of `/bin/sh`; official images known to set none, and node's and php's "
            'entrypoint scripts, which `exec "$@"`, count as safe). The `/bin/sh -c` '
            "rewrite keeps `/bin/sh` as the first argument and stays safe. Pipes, `||`, "
            "background jobs, `trap`, compound commands, comment lines inside the instruction "
            "and non-POSIX shells are reported without a fix."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/reference/dockerfile/#shell-and-exec-form",
            "https://docs.docker.com/reference/dockerfile/#entrypoint",
            "https://github.com/hadolint/hadolint/wiki/DL3025",
        ),
        peers={"hadolint": ("DL3025",), "buildkit": ("JSONArgsRecommended",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        stage = final_stage(ctx.doc)
        if stage is None or is_windows(stage):
            return
        start = start_command(stage)
        for ins, owner in ((start.entrypoint, start.entrypoint_stage),
                           (start.cmd, start.cmd_stage)):  # fmt: skip
            if ins is None or owner is None or ins.json_args is not None:
                continue
            if not ins.logical.strip():
                continue
            yield self._finding(ctx, stage, owner, start, ins)

    def _finding(
        self,
        ctx: Context[Dockerfile],
        stage: Stage,
        owner: Stage,
        start: StartCommand,
        ins: Instruction,
    ) -> Finding:
        doc = ctx.doc
        keyword = ins.keyword
        shell = effective_shell(owner, ins)
        message = (
            f"`{keyword}` uses the shell form: `{' '.join(shell)}` is PID 1 and does not pass "
            "SIGTERM on"
        )
        if keyword == "ENTRYPOINT":
            message += "; CMD and `docker run` arguments are ignored"
        text = ins.logical.rstrip(" \t\r\n")
        suggestion = (
            f'`{keyword} ["/bin/sh", "-c", "... && exec <server>"]` with `exec` before the '
            'command that keeps running, or an entrypoint script that ends with `exec "$@"`'
        )

        def report(reason: str) -> Finding:
            return self.finding(ctx, ins.line, message, end_line=ins.end_line,
                                suggestion=f"{reason}: {suggestion}")  # fmt: skip

        argv = plain_argv(text)
        if argv is not None:
            suggestion = f"`{keyword} {json.dumps(argv, ensure_ascii=False)}`"
        if _has_inner_comments(doc, ins):
            return report("comment lines inside the instruction would be lost; write it by hand")
        if not is_posix_shell(shell):
            return report(f"the stage's SHELL is `{shell[0] if shell else ''}`")
        if text.startswith("["):
            fixed = _python_list(text)
            hint = f": `{keyword} {fixed}`" if fixed else ""
            return self.finding(ctx, ins.line, message, end_line=ins.end_line,
                                suggestion="it looks like an exec-form list that is not valid "
                                f"JSON, so Docker runs it through the shell{hint}")  # fmt: skip
        span = (ins.offset(0), ins.args_end)
        if argv is not None:
            new = json.dumps(argv, ensure_ascii=False)
            safety = FixSafety.SAFE
            if keyword == "ENTRYPOINT" and start.cmd is not None:
                safety = FixSafety.UNSAFE  # CMD becomes the ENTRYPOINT's arguments
            description = f"write `{keyword}` in exec form"
            if (
                keyword == "CMD"
                and start.entrypoint is not None
                and start.entrypoint.json_args is not None
                and not _init_only(start.entrypoint)
            ):
                safety = FixSafety.UNSAFE  # the ENTRYPOINT receives other arguments
            if keyword == "CMD" and start.entrypoint is None:
                changed = _base_entrypoint_changes(stage, argv)
                if changed is not None:
                    safety = FixSafety.UNSAFE
                    description += (
                        f"; the base image may set an ENTRYPOINT, which then receives {changed}"
                    )
            return self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                edits=[Edit(span[0], span[1], new)],
                safety=safety,
                fix_description=description,
            )
        if has_no_package_manager(stage):
            return report("the image has no shell to run it")
        script = exec_last(text)
        if script is None:
            return report("the command needs the shell and is not a plain `&&` chain")
        new = json.dumps([*shell, script], ensure_ascii=False)
        return self.finding(
            ctx,
            ins.line,
            message,
            end_line=ins.end_line,
            edits=[Edit(span[0], span[1], new)],
            safety=FixSafety.SAFE,
            fix_description=f"write `{keyword}` in exec form, the shell `exec`ing the last command",
        )
