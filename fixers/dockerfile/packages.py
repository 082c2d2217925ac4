"""Package-manager commands, parsed once for every rule, and RUN shapes they may append to.

``package_command`` finds the manager, its verb and its operands (the packages) wherever they
stand: every manager's value-taking options are skipped with their values
(``apt-get -o Foo=bar install``, ``apk add --virtual .deps gcc``), and ``--`` ends the options.
``fixers.dockerfile.distro.package_install`` is the same parse, kept when the verb installs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fixers.dockerfile.commands import SHELLS, Command, Word, tokenize
from fixers.dockerfile.parser import Dockerfile, Heredoc, Instruction, Stage, lineage

# Program name -> package manager family.
PROGRAMS = {
    "apt-get": "apt", "apt": "apt", "apk": "apk", "dnf": "dnf", "microdnf": "microdnf",
    "yum": "yum", "zypper": "zypper", "tdnf": "tdnf",
}  # fmt: skip
# The verbs that install packages, per family.
INSTALL_VERBS = {
    "apt": ("install",), "apk": ("add",), "dnf": ("install",), "microdnf": ("install",),
    "yum": ("install",), "zypper": ("install", "in"), "tdnf": ("install",),
}  # fmt: skip
_RHEL_VALUE_OPTIONS = frozenset(
    {"-x", "--exclude", "-c", "--config", "--setopt", "--enablerepo", "--disablerepo", "--repo",
     "--repoid", "--repofrompath", "--releasever", "--installroot", "--forcearch", "-d",
     "--debuglevel", "-e", "--errorlevel", "--rpmverbosity", "--destdir", "--downloaddir"}
)  # fmt: skip
# Options that take the next word as their value, per package manager family.
VALUE_OPTIONS: dict[str, frozenset[str]] = {
    "apt": frozenset(
        {"-o", "--option", "-c", "--config-file", "-t", "--target-release", "--default-release",
         "-a", "--host-architecture", "-P", "--build-profiles"}
    ),
    "apk": frozenset(
        {"-X", "--repository", "-p", "--root", "--arch", "-t", "--virtual", "--cache-dir",
         "--keys-dir", "--repositories-file", "--cache-max-age"}
    ),
    "dnf": _RHEL_VALUE_OPTIONS,
    "yum": _RHEL_VALUE_OPTIONS,
    "microdnf": _RHEL_VALUE_OPTIONS,
    "tdnf": _RHEL_VALUE_OPTIONS,
    "zypper": frozenset(
        {"-R", "--root", "-r", "--repo", "-t", "--type", "--from", "-c", "--config"}
    ),
}  # fmt: skip

APT_LISTS_CLEANUP = "rm -rf /var/lib/apt/lists/*"
_LISTS_PATHS = frozenset(
    {"/var/lib/apt/lists", "/var/lib/apt/lists/*", "/var/lib/apt", "/var/lib/apt/*"}
)
# apt verbs that read the package lists (they fail or go stale without them).
_APT_NEEDS_LISTS = frozenset(
    {"install", "reinstall", "build-dep", "source", "download", "satisfy", "upgrade",
     "dist-upgrade", "full-upgrade", "policy", "show", "search", "madison", "depends", "rdepends"}
)  # fmt: skip
_MOUNT = re.compile(r"--mount=(\S+)")
_COMPOUND_OPENERS = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "for", "case", "in", "!"}
)


@dataclass(frozen=True)
class PackageCommand:
    """A package-manager call: ``apt-get -y install --no-install-recommends curl``."""

    manager: str  # apt, apk, dnf, yum, microdnf, zypper, tdnf
    command: Command
    verb: Word | None  # install, add, update, upgrade, ... (None: options only)
    options: tuple[Word, ...]  # option words and the values of value-taking options
    operands: tuple[Word, ...]  # words after the verb that are neither

    @property
    def verb_text(self) -> str | None:
        return self.verb.text if self.verb is not None else None

    @property
    def installs(self) -> bool:
        """The verb installs packages (``apt-get install``, ``apk add``, ``zypper in``...)."""
        return self.verb_text in INSTALL_VERBS.get(self.manager, ())

    def packages(self) -> list[str]:
        return [w.text for w in self.operands]

    def operand_indexes(self) -> list[int]:
        """Where the operands stand in ``command.words``."""
        index = {id(word): i for i, word in enumerate(self.command.words)}
        return [index[id(word)] for word in self.operands]


def package_command(command: Command) -> PackageCommand | None:
    """The command as a package-manager call (``apt``/``apt-get`` count as apt), or None."""
    manager = PROGRAMS.get(command.program or "")
    start = command.program_index()
    if manager is None or start is None:
        return None
    value_options = VALUE_OPTIONS.get(manager, frozenset())
    words = command.words
    verb: Word | None = None
    options: list[Word] = []
    operands: list[Word] = []
    i = start + 1
    while i < len(words):
        text = words[i].text
        if text == "--":
            operands.extend(words[i + 1 :] if verb is not None else ())
            break
        if not text.strip():
            pass  # an empty quoted word ("") names nothing
        elif text.startswith("-") and len(text) > 1:
            options.append(words[i])
            if text in value_options and i + 1 < len(words):
                options.append(words[i + 1])
                i += 1
        elif verb is None:
            verb = words[i]
        else:
            operands.append(words[i])
        i += 1
    return PackageCommand(manager, command, verb, tuple(options), tuple(operands))


def apt_command(command: Command) -> PackageCommand | None:
    call = package_command(command)
    return call if call is not None and call.manager == "apt" else None


def removes_apt_lists(command: Command) -> bool:
    """``rm -rf /var/lib/apt/lists/*`` in any spelling, ``find ... -delete``, ``dist-clean``."""
    program = command.program
    args = [w.text for w in command.args]
    if program == "rm":
        return any(_norm_path(a) in _LISTS_PATHS for a in args if not a.startswith("-"))
    if program == "find":
        return (
            bool(args)
            and _norm_path(args[0]) in _LISTS_PATHS
            and any(a in ("-delete", "-exec", "-execdir") for a in args)
        )
    call = apt_command(command)
    return call is not None and call.verb_text in ("dist-clean", "distclean")


def _norm_path(path: str) -> str:
    if path.endswith("/*"):
        return path[:-2].rstrip("/") + "/*"
    return path.rstrip("/") or path


def needs_apt_lists(command: Command) -> bool:
    """The command reads apt's package lists (installs, upgrades, queries)."""
    if command.program == "apt-cache":
        return True
    call = apt_command(command)
    return call is not None and call.verb_text in _APT_NEEDS_LISTS


def is_apt_update(command: Command) -> bool:
    call = apt_command(command)
    return call is not None and call.verb_text == "update"


def mounts(ins: Instruction) -> list[dict[str, str]]:
    """The ``--mount=`` options of a RUN, as key/value maps."""
    out: list[dict[str, str]] = []
    for m in _MOUNT.finditer(ins.logical[: ins.args_index]):
        opts: dict[str, str] = {}
        for part in m.group(1).split(","):
            key, _, value = part.partition("=")
            opts[key.strip().lower()] = value.strip().strip("\"'")
        out.append(opts)
    return out


def caches_apt_lists(ins: Instruction) -> bool:
    """A cache (or tmpfs) mount over /var/lib/apt[/lists]: the lists never reach the layer."""
    for opts in mounts(ins):
        if opts.get("type", "bind") not in ("cache", "tmpfs"):
            continue
        target = opts.get("target") or opts.get("dst") or opts.get("destination") or ""
        if target.rstrip("/") in ("/var/lib/apt", "/var/lib/apt/lists"):
            return True
    return False


def descendants(doc: Dockerfile, stage: Stage) -> list[Stage]:
    """Stages that build on ``stage`` (directly or through others)."""
    return [s for s in doc.stages if s is not stage and stage in lineage(s)]


def runs(instructions: list[Instruction]) -> Iterator[Instruction]:
    return (ins for ins in instructions if ins.keyword == "RUN")


def line_of(doc: Dockerfile, offset: int) -> int:
    return doc.text.count("\n", 0, offset) + 1


def column_of(doc: Dockerfile, offset: int) -> int:
    return offset - doc.line_start(offset) + 1


# --- Appending a command to a RUN -------------------------------------------------------------


@dataclass(frozen=True)
class RunShape:
    """What a RUN runs: the commands on its own lines, and its heredoc script if it has one."""

    line_commands: list[Command]  # commands of the instruction's own lines (opener excluded)
    opener: Command | None  # the command holding ``<<EOF``
    heredoc: Heredoc | None  # the heredoc the shell runs as a script (one heredoc only)
    body_commands: list[Command]


def run_shape(ins: Instruction) -> RunShape | None:
    """None for the exec form, or heredocs that are not a shell script (``python3 <<EOF``)."""
    if ins.json_args is not None:
        return None
    start = ins.args_index
    commands = tokenize(ins.logical[start:], ins.positions[start:])
    opener = next((c for c in commands if any(w.text.startswith("<<") for w in c.words)), None)
    if not ins.heredocs:
        return RunShape(commands, None, None, [])
    if opener is None or len(ins.heredocs) != 1:
        return None
    program = opener.program
    if not (program is None or program.startswith("<<") or program in SHELLS):
        return None
    heredoc = ins.heredocs[0]
    body = tokenize(heredoc.body, range(heredoc.body_start, heredoc.body_start + len(heredoc.body)))
    line_commands = [c for c in commands if c is not opener]
    return RunShape(line_commands, opener, heredoc, [c for c in body if c.words])


def _errexit_flags(words: list[str]) -> bool:
    for i, text in enumerate(words):
        if re.fullmatch(r"-[a-zA-Z]*e[a-zA-Z]*", text):
            return True
        if text == "-o" and i + 1 < len(words) and words[i + 1] == "errexit":
            return True
    return False


def heredoc_errexit(shape: RunShape) -> bool:
    """The heredoc script stops at the first failing command (``set -e``, ``bash -e``, shebang)."""
    assert shape.heredoc is not None
    if shape.opener is not None:
        words = [w.text for w in shape.opener.words if not w.text.startswith("<<")]
        if words and words[0].rsplit("/", 1)[-1] in SHELLS and _errexit_flags(words[1:]):
            return True
    errexit = False
    first_line = shape.heredoc.body.lstrip("\t ").split("\n", 1)[0].rstrip("\r")
    if first_line.startswith("#!") and _errexit_flags(first_line.split()[1:]):
        errexit = True
    for command in shape.body_commands:
        if command.program != "set":
            continue
        args = [w.text for w in command.args]
        if _errexit_flags(args):
            errexit = True
        if any(re.fullmatch(r"\+[a-zA-Z]*e[a-zA-Z]*", a) for a in args) or (
            "+o" in args and "errexit" in args
        ):
            errexit = False
    return errexit


def _chain_end(commands: list[Command]) -> Command | None:
    """The last command when appending ``&& cmd`` after it keeps the exit status and meaning.

    ``a && b`` then ``&& c`` runs c only when the list succeeded, and c's success leaves the
    status unchanged. Not offered after ``||`` or a pipe (hard to read), for subshells,
    background jobs, ``exit``/``exec`` (the appended command would never run) or a dangling
    operator.
    """
    if not commands:
        return None
    ops = {c.before for c in commands} | {c.after for c in commands}
    if ops & {"(", ")", "&", "|&"}:
        return None
    if any(c.program in ("exit", "exec", "return") for c in commands):
        return None
    last = commands[-1]
    if last.before in ("||", "|") or last.after not in (None, ";", "\n"):
        return None
    if last.words[0].text in _COMPOUND_OPENERS:
        return None
    return last


def append_command_edits(doc: Dockerfile, ins: Instruction, shell: str) -> tuple[int, str] | None:
    """Where and what to insert so that ``shell`` runs last in the RUN, or None when unclear.

    A plain RUN gets `` && <shell>`` after its last word (before any trailing comment, on the
    last argument's line). A heredoc script with ``set -e`` gets a new line before its
    terminator with the indentation of its last command; without ``set -e`` the script's
    status is its last command's, so the command is chained to that one with ``&&``.
    """
    shape = run_shape(ins)
    if shape is None:
        return None
    if shape.heredoc is None:
        last = _chain_end(shape.line_commands)
        return (last.end, f" && {shell}") if last is not None else None
    if shape.line_commands:
        return None  # commands beside the heredoc opener: order is unclear
    last = _chain_end(shape.body_commands)
    if last is None:
        return None
    terminator = shape.heredoc.body_start + len(shape.heredoc.body)
    if last.words[-1].raw.rstrip("\r\n").endswith("\\"):
        return None  # a continued last line: a new line would join it
    # Only blanks, a `;`, line breaks and comments may follow the last command.
    tail = doc.text[last.end : terminator].split("\n")
    rest = [tail[0].strip(" \t\r;"), *(line.strip() for line in tail[1:])]
    if any(part and not part.startswith("#") for part in rest):
        return None
    if not heredoc_errexit(shape):
        return (last.end, f" && {shell}")
    line_start = doc.line_start(last.start)
    line = doc.text[line_start : last.start]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return (terminator, f"{indent}{shell}{doc.newline}")
