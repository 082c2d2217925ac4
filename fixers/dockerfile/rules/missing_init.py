"""CBP102: the final image runs its process under an init (dumb-init or tini) as PID 1."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fixers.dockerfile import insert
from fixers.dockerfile.baseimages import (
    official_image,
    pass_through_entrypoint,
    sets_no_entrypoint,
)
from fixers.dockerfile.commands import instruction_commands
from fixers.dockerfile.distro import (
    has_no_package_manager,
    is_windows,
    package_install,
    package_manager,
)
from fixers.dockerfile.entrypoints import (
    argv,
    effective_shell,
    final_stage,
    is_posix_shell,
    start_command,
)
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage, lineage
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

# Programs that are an init or a process supervisor as PID 1: they reap and forward signals.
INIT_PROGRAMS = frozenset(
    {"tini", "tini-static", "dumb-init", "catatonit", "docker-init", "init", "s6-svscan",
     "s6-overlay-suexec", "my_init", "runsvdir", "supervisord", "systemd", "pid1"}
)  # fmt: skip
# Packages (or downloaded files) that bring one; the image wires it up its own way.
INIT_PACKAGES = frozenset({"tini", "tini-static", "dumb-init", "catatonit"})
_INIT_FILES = re.compile(r"tini|dumb-init|dumb_init|s6-overlay|catatonit", re.IGNORECASE)

# (package, path) of each init per package manager. Debian's and Ubuntu's `tini` package
# installs /usr/bin/tini, Alpine's /sbin/tini; both distributions put dumb-init in /usr/bin.
_INIT_BINARIES = {
    ("dumb-init", "apt"): "dumb-init",
    ("dumb-init", "apk"): "dumb-init",
    ("tini", "apt"): "/usr/bin/tini",
    ("tini", "apk"): "/sbin/tini",
}
_PIN_CODES = {"apt": "DL3008", "apk": "DL3018"}
_REMOVE_VERBS = frozenset({"remove", "purge", "autoremove", "del"})
_APK_VIRTUAL = frozenset({"-t", "--virtual"})
_HADOLINT_IGNORE = re.compile(r"^hadolint\s+ignore\s*=\s*([\w,\s]+)$", re.IGNORECASE)
_HADOLINT_GLOBAL = re.compile(r"^hadolint\s+global\s+ignore\s*=\s*([\w,\s]+)$", re.IGNORECASE)


def _base(word: str) -> str:
    return posixpath.basename(word)


def _first_program(words: Sequence[str]) -> str | None:
    for word in words:
        if word == "exec" or ("=" in word and word.split("=", 1)[0].isidentifier()):
            continue
        return word
    return None


def _runs_as_root(user: str | None) -> bool:
    """None (the base image's default, root for the images we fix) or root/0."""
    if user is None:
        return True
    if "$" in user:
        return False
    return user.split(":", 1)[0].strip() in ("root", "0")


def _installs_init(stage: Stage) -> bool:
    for s in lineage(stage):
        for ins in s.instructions:
            if ins.keyword in ("COPY", "ADD") and _INIT_FILES.search(ins.logical):
                return True
            if ins.keyword != "RUN":
                continue
            for command in instruction_commands(ins):
                install = package_install(command)
                if install and INIT_PACKAGES & {p.split("=", 1)[0] for p in install.packages()}:
                    return True
    return False


def _hadolint_ignores(doc: Dockerfile, ins: Instruction | None) -> set[str]:
    codes: set[str] = set()
    for comment in doc.comments:
        m = _HADOLINT_GLOBAL.match(comment.text)
        if m:
            codes |= {c.strip().upper() for c in re.split(r"[,\s]+", m.group(1)) if c.strip()}
    if ins is not None:
        for comment in doc.comments_before(ins):
            m = _HADOLINT_IGNORE.match(comment.text)
            if m:
                codes |= {c.strip().upper() for c in re.split(r"[,\s]+", m.group(1)) if c.strip()}
    return codes


def _unpinned(manager: str, package: str) -> bool:
    if "=" in package:
        return False
    return not package.endswith(".deb" if manager == "apt" else ".apk")


def _hadolint_flags_unpinned(doc: Dockerfile, manager: str) -> bool:
    """hadolint already reports DL3008/DL3018 somewhere in the file (or ignores it globally)."""
    code = _PIN_CODES[manager]
    if code in _hadolint_ignores(doc, None):
        return True
    program = "apt-get" if manager == "apt" else "apk"
    for ins in doc.instructions:
        if ins.keyword != "RUN" or code in _hadolint_ignores(doc, ins):
            continue
        for command in instruction_commands(ins):
            install = package_install(command)
            if install is None or install.manager != manager or command.program != program:
                continue
            if any(_unpinned(manager, package) for package in install.packages()):
                return True
    return False


def _single_command_run(ins: Instruction | None) -> bool:
    """A RUN hadolint's DL3059 pairs up: no flags, one command (a heredoc script's count)."""
    if ins is None or ins.keyword != "RUN" or ins.flags:
        return False
    if ins.json_args is not None:
        return True
    return len(instruction_commands(ins)) == 1


@dataclass(frozen=True)
class _Plan:
    edits: list[Edit]
    description: str


def _edits(doc: Dockerfile, parts: Sequence[Edit | insert.Insertion]) -> list[Edit]:
    """Edits in place, then the new lines (those at one place as one edit, in order)."""
    own = [p for p in parts if isinstance(p, Edit)]
    return own + insert.edits(doc, [p for p in parts if isinstance(p, insert.Insertion)])


class MissingInit(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP102",
        name="missing-init",
        kind="dockerfile",
        title="Run the container's process under an init such as dumb-init or tini",
        what=(
            "Flags the final stage when its ENTRYPOINT/CMD starts the application directly as "
            "PID 1, or sets none (the base image's command then runs as PID 1). Images "
            "whose ENTRYPOINT (or CMD) already starts with tini, dumb-init, catatonit, "
            "docker-init, s6 (`/init`, `s6-svscan`), runit, supervisord or systemd, or that "
            "install or copy in tini/dumb-init themselves, are left alone; "
            "so are earlier stages (only the final stage ships) and Windows images (a Windows "
            "base image, or a `cmd`/`powershell` `SHELL`). An init "
            "added at run time (`docker run --init`, Compose `init: true`) cannot be seen "
            "from the Dockerfile: ignore the rule with `# container-bp ignore=missing-init` "
            "above the ENTRYPOINT (or CMD, or the final FROM when there is neither)."
        ),
        why=(
            "The kernel gives PID 1 no default signal handlers: unless the application "
            "installs its own, SIGTERM from `docker stop` or Kubernetes is ignored, the "
            "runtime waits out its grace period (10 s by default) and SIGKILLs it, so "
            "requests in flight are dropped and nothing is flushed or closed. PID 1 must "
            "also reap orphaned children; most applications do not, and zombie processes "
            "pile up. A tiny init (dumb-init, tini) runs as PID 1, forwards signals to the "
            "application and reaps zombies."
        ),
        before='FROM python:3.12-slim\nCOPY . /app\nUSER 10001\nCMD ["gunicorn", "app:app"]\n',
        after=(
            "FROM python:3.12-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends dumb-init "
            "&& rm -rf /var/lib/apt/lists/*\n"
            'COPY . /app\nUSER 10001\nENTRYPOINT ["dumb-init", "--"]\n'
            'CMD ["gunicorn", "app:app"]\n'
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "Safe on apt (Debian, Ubuntu) and apk (Alpine) stages: the process and its "
            "arguments stay the same, only PID 1 changes. The init (option `init`: "
            "`dumb-init` or `tini`) is added to the last `apt-get install`/`apk add` of the "
            "final stage when that one installs unpinned packages, else installed by a new "
            "RUN after the stage's last package install (or right after FROM), always before "
            "a USER drops root (after a heredoc terminator a blank line goes first: hadolint "
            "cannot parse an instruction right after one). hadolint's version pinning checks "
            "(DL3008/DL3018) are silenced on that RUN when the file does not trip them "
            "already, as the init's version follows the distribution release. An exec-form "
            "ENTRYPOINT gets "
            '`"dumb-init", "--"` in front; with no ENTRYPOINT, `ENTRYPOINT '
            '["dumb-init", "--"]` goes right before the CMD, so `docker run image '
            "other-command` still works. Reported without a fix: a shell-form ENTRYPOINT "
            "(make it exec form first, CBP103), a start command inherited from an earlier "
            "stage, a base image that may set its own ENTRYPOINT (only official images known "
            "to set none are fixed, and `node`/`php`, whose entrypoint script is kept behind "
            "the init), a final stage that already dropped root or whose base image's user "
            "is not known to be root, a non-POSIX `SHELL`, `init: tini` with a shell-form CMD "
            "(tini signals only its child, the shell), dnf/yum/microdnf images (dumb-init "
            "and tini need EPEL on RHEL), distroless or scratch images (copy a static "
            "init from another stage, or use `docker run --init`), and a new RUN that would "
            "follow a dangling line continuation (a `\\` on the file's last line, which would "
            "swallow it)."
        ),
        severity=Severity.WARNING,
        references=(
            "https://github.com/Yelp/dumb-init",
            "https://github.com/krallin/tini",
            "https://docs.docker.com/reference/cli/docker/container/run/#init",
            "https://docs.docker.com/compose/compose-file/05-services/#init",
        ),
        options={"init": "dumb-init"},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        stage = final_stage(doc)
        if stage is None or is_windows(stage):
            return
        start = start_command(stage)
        ep, cmd = start.entrypoint, start.cmd
        # `ENTRYPOINT []` clears the base's: CMD is what runs then.
        shown = ep if ep is not None and ep.json_args != [] else cmd
        words = argv(shown) if shown is not None else []
        first = _first_program(words)
        if first is not None and _base(first) in INIT_PROGRAMS:
            return
        if _installs_init(stage):
            return
        ins = shown or ep or stage.from_
        if shown is None:
            message = "the final stage sets no ENTRYPOINT or CMD: the base image's runs as PID 1"
        else:
            name = f"`{_base(first or shown.keyword)}`"
            if shown.json_args is None:
                name = f"`sh -c '{first or ''} ...'` (a shell-form {shown.keyword})"
            message = (
                f"{name} runs as PID 1 without an init: SIGTERM is ignored unless it handles "
                "it, and orphaned zombies are never reaped"
            )
        init = str(self.option(ctx, "init"))
        plan = self._plan(doc, stage, init)
        if isinstance(plan, str):
            yield self.finding(ctx, ins.line, message, end_line=ins.end_line, suggestion=plan)
            return
        yield self.finding(
            ctx,
            ins.line,
            message,
            end_line=ins.end_line,
            edits=plan.edits,
            safety=FixSafety.SAFE,
            fix_description=plan.description,
        )

    def _plan(self, doc: Dockerfile, stage: Stage, init: str) -> _Plan | str:
        """The fix, or a suggestion saying why there is none."""
        start = start_command(stage)
        ep, cmd = start.entrypoint, start.cmd
        generic = (
            f'install {init} and start it first: `ENTRYPOINT ["{init}", "--", ...]` '
            "(or run the container with `docker run --init` / Compose `init: true`)"
        )
        if init not in ("dumb-init", "tini"):
            return f"option `init` must be `dumb-init` or `tini`, not `{init}`; {generic}"
        if has_no_package_manager(stage):
            return (
                "this image has no shell or package manager: copy a statically linked init "
                "into it from another stage (tini-static from https://github.com/krallin/tini/"
                'releases, for the target architecture), then `ENTRYPOINT ["/tini", "--", ...]`'
                ", or run it with `docker run --init`"
            )
        manager = package_manager(stage)
        if manager in ("dnf", "yum", "microdnf"):
            return (
                f"{init} is not in the base RHEL repositories: enable EPEL (or copy a static "
                f'binary in), then `ENTRYPOINT ["{init}", "--", ...]`; or use `--init`'
            )
        if manager not in ("apt", "apk"):
            return f"the stage's package manager is not known; {generic}"
        if cmd is None and (ep is None or ep.json_args == []):
            return f"nothing in the file says what runs: {generic}"
        owner = start.entrypoint_stage if ep is not None else start.cmd_stage
        if owner is not stage:
            return f"the start command is inherited from an earlier stage; {generic}"
        binary = _INIT_BINARIES[(init, manager)]
        prefix = [binary, "--"]
        start_edit: Edit | insert.Insertion
        if ep is not None:
            if ep.json_args is None:
                return (
                    "the ENTRYPOINT uses the shell form: write it in exec form first "
                    f'(CBP103), then put `"{binary}", "--"` in front'
                )
            start_edit = self._prefix_entrypoint(ep, prefix)
        else:
            assert cmd is not None
            chained = pass_through_entrypoint(stage)
            if chained is not None:
                prefix = [*prefix, chained]
            elif not sets_no_entrypoint(stage):
                return (
                    "the base image may set its own ENTRYPOINT, which a new one would replace: "
                    f'`ENTRYPOINT ["{binary}", "--", <the base ENTRYPOINT>]` (see `docker '
                    "inspect`)"
                )
            if init == "tini" and cmd.json_args is None:
                return (
                    "tini signals only its child, here `/bin/sh -c`: write the CMD in exec "
                    "form first (CBP103)"
                )
            quoted = ", ".join(f'"{p}"' for p in prefix)
            start_edit = insert.before(doc, cmd, [f"ENTRYPOINT [{quoted}]"])
        install = self._install(doc, stage, manager, init)
        if isinstance(install, str):
            return install
        return _Plan(_edits(doc, [install, start_edit]), f"run the process under {init} as PID 1")

    @staticmethod
    def _prefix_entrypoint(ep: Instruction, prefix: Sequence[str]) -> Edit:
        quoted = ", ".join(f'"{p}"' for p in prefix)
        text = ep.logical
        open_at = text.index("[")
        k = open_at + 1
        while k < len(text) and text[k] in " \t":
            k += 1
        if not ep.json_args:  # ENTRYPOINT []: fill the empty list
            close_at = text.index("]", open_at)
            return Edit(ep.offset(open_at + 1), ep.offset(close_at), quoted)
        return Edit(ep.offset(k), ep.offset(k), quoted + ", ")

    def _install(
        self, doc: Dockerfile, stage: Stage, manager: str, init: str
    ) -> Edit | insert.Insertion | str:
        """An edit (or new lines) that installs the init as root in the final stage, or why
        it cannot."""
        instructions = stage.instructions
        parents = lineage(stage)[:-1]
        parent_users = [i.args for s in parents for i in s.instructions if i.keyword == "USER"]
        inherited: str | None = parent_users[-1] if parent_users else None
        if (
            inherited is None
            and official_image(stage) is None
            and not self._installs_as_base_user(stage, manager)
        ):
            return "the base image's default user is not known to be root; install the init as root"
        # Indexes of the stage's instructions that run as root, up to a USER that drops it.
        user = inherited
        as_root: list[int] = []
        for index, ins in enumerate(instructions):
            if ins.keyword == "USER":
                user = ins.args
                if not _runs_as_root(user):
                    break
            if _runs_as_root(user):
                as_root.append(index)
        if not _runs_as_root(inherited) and not as_root:
            return "the final stage already runs as a non-root user; install the init as root"
        installs = [i for i in as_root if self._installs(instructions[i], manager)]
        # 1. Add the package to the last install, when that one takes unpinned packages.
        if installs:
            merged = self._merge(instructions[installs[-1]], manager, init)
            if merged is not None:
                return merged
        # 2. A new RUN after the last install, else right after FROM (or the USER root).
        after_index: int | None
        if installs:
            after_index = installs[-1]
        elif _runs_as_root(inherited) or not as_root:
            after_index = None
        else:
            after_index = as_root[0]
        following = 0 if after_index is None else after_index + 1
        shell = effective_shell(
            stage, instructions[following] if following < len(instructions) else None
        )
        if not is_posix_shell(shell):
            return f"the stage's SHELL is `{shell[0] if shell else ''}`; install {init} by hand"
        if manager == "apt":
            run = (
                f"RUN apt-get update && apt-get install -y --no-install-recommends {init} "
                "&& rm -rf /var/lib/apt/lists/*"
            )
        else:
            run = f"RUN apk add --no-cache {init}"
        codes: list[str] = []
        if not _hadolint_flags_unpinned(doc, manager):
            codes.append(_PIN_CODES[manager])
        if manager == "apk":
            # hadolint asks to merge two one-command RUNs in a row (DL3059): step past the
            # one-command RUNs that follow, and silence it for the one before.
            while self._next_is_single(instructions, after_index, as_root):
                after_index = 0 if after_index is None else after_index + 1
            previous = instructions[after_index] if after_index is not None else None
            if _single_command_run(previous) and "DL3059" not in _hadolint_ignores(doc, None):
                codes.append("DL3059")
        lines = ([f"# hadolint ignore={','.join(codes)}"] if codes else []) + [run]
        anchor = instructions[after_index] if after_index is not None else stage.from_
        new = insert.after(doc, anchor, lines)
        if new is None:
            return (
                f"line {anchor.line} ends in a line continuation that new lines after it would "
                f"join: end it, then install {init} in a RUN after it"
            )
        return new

    @staticmethod
    def _installs_as_base_user(stage: Stage, manager: str) -> bool:
        """A RUN installs packages before any USER: the base image's user must be root."""
        for s in lineage(stage):
            for ins in s.instructions:
                if ins.keyword == "USER":
                    return False
                if MissingInit._installs(ins, manager):
                    return True
        return False

    @staticmethod
    def _next_is_single(
        instructions: list[Instruction], after_index: int | None, as_root: list[int]
    ) -> bool:
        nxt = 0 if after_index is None else after_index + 1
        return nxt < len(instructions) and nxt in as_root and _single_command_run(instructions[nxt])

    @staticmethod
    def _installs(ins: Instruction, manager: str) -> bool:
        if ins.keyword != "RUN":
            return False
        for command in instruction_commands(ins):
            install = package_install(command)
            if install is not None and install.manager == manager:
                return True
        return False

    @staticmethod
    def _merge(ins: Instruction, manager: str, init: str) -> Edit | None:
        """`` init`` after the last package of the RUN's last install, when that is plain."""
        commands = instruction_commands(ins)
        for command in commands:
            words = [w.text for w in command.words]
            program = command.program
            if program in ("apt-get", "apt", "apk", "dpkg") and _REMOVE_VERBS & set(words):
                return None  # packages are removed again in the same RUN
            if program == "dpkg" and any(w in ("-P", "-r", "--purge", "--remove") for w in words):
                return None
        installs = [(c, p) for c in commands
                    if (p := package_install(c)) is not None and p.manager == manager]  # fmt: skip
        if not installs:
            return None
        command, install = installs[-1]
        if manager == "apk" and any(w.text in _APK_VIRTUAL or w.text.startswith("--virtual=")
                                    for w in command.words):  # fmt: skip
            return None  # a virtual package is deleted as a whole later
        if not install.operands:
            return None
        if not any(_unpinned(manager, package) for package in install.packages()):
            return None  # the file pins these: an unpinned init would stand out
        last = install.operands[-1]
        return Edit(last.end, last.end, f" {init}")
