"""What the final image runs, and which repository files its ENTRYPOINT/CMD scripts come from.

Pure functions over a parsed Dockerfile, shared by the PID 1 rules (CBP102, CBP103) and by the
Dockerfile kind, which reports the entrypoint scripts it finds so that the shell rules
(CBP190) check them too.

Mapping an in-image path back to a repository file assumes that **the build context is the
Dockerfile's own directory** (``docker build path/to/dir``, Compose's default ``context: .``
next to the file). Sources are therefore resolved relative to the Dockerfile's directory; a
build run with another context (``docker build -f sub/Dockerfile .``) maps to paths that may
not exist, and those are skipped quietly (related files are optional).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fixers.dockerfile.commands import SHELLS, tokenize
from fixers.dockerfile.distro import is_windows as is_windows  # re-exported
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage
from fixers.dockerfile.parser import lineage as lineage  # re-exported

DEFAULT_SHELL: tuple[str, ...] = ("/bin/sh", "-c")
# The PATH of an image that does not set one (Docker's default), searched for bare names.
DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# Init processes that run their arguments as their one child: `tini -- cmd`.
INIT_WRAPPERS = frozenset({"tini", "tini-static", "dumb-init", "catatonit", "docker-init"})
# Script files worth reading as shell: `.sh`/`.bash`, or no extension (`docker-entrypoint`).
SCRIPT_SUFFIXES = (".sh", ".bash")
_PATH_ENV = re.compile(r"(?:^|\s)PATH[=\s]\s*(\S+)")


@dataclass(frozen=True)
class StartCommand:
    """The ENTRYPOINT and CMD in effect in the final image, as far as the file shows them.

    Setting ENTRYPOINT resets a CMD inherited from the base (a ``FROM <stage>`` parent here);
    a CMD of the same stage survives, as in BuildKit.
    """

    entrypoint: Instruction | None
    entrypoint_stage: Stage | None
    cmd: Instruction | None
    cmd_stage: Stage | None


def final_stage(doc: Dockerfile) -> Stage | None:
    return doc.stages[-1] if doc.stages else None


def start_command(stage: Stage) -> StartCommand:
    entrypoint: Instruction | None = None
    entrypoint_stage: Stage | None = None
    cmd: Instruction | None = None
    cmd_stage: Stage | None = None
    for s in lineage(stage):
        for ins in s.instructions:
            if ins.keyword == "CMD":
                cmd, cmd_stage = ins, s
            elif ins.keyword == "ENTRYPOINT":
                entrypoint, entrypoint_stage = ins, s
                if cmd_stage is not s:
                    cmd, cmd_stage = None, None
    return StartCommand(entrypoint, entrypoint_stage, cmd, cmd_stage)


def effective_shell(stage: Stage, before: Instruction | None = None) -> tuple[str, ...]:
    """The SHELL a shell-form instruction of ``stage`` runs with (``before`` that instruction)."""
    shell = DEFAULT_SHELL
    for s in lineage(stage):
        for ins in s.instructions:
            if ins is before:
                return shell
            if ins.keyword == "SHELL" and ins.json_args:
                shell = tuple(ins.json_args)
    return shell


def is_posix_shell(shell: Sequence[str]) -> bool:
    return bool(shell) and posixpath.basename(shell[0]) in SHELLS


def argv(ins: Instruction) -> list[str]:
    """The words of a CMD/ENTRYPOINT: the JSON list, or the first shell command's words."""
    if ins.json_args is not None:
        return list(ins.json_args)
    commands = tokenize(ins.logical, range(len(ins.logical)))
    return commands[0].argv if commands else []


def program(words: Sequence[str]) -> list[str]:
    """The argv that really runs: past ``exec``, ``VAR=value`` and init wrappers (``tini --``).

    ``sh script.sh`` gives ``[script.sh, ...]``; ``sh -c '...'`` gives ``[]`` (no file).
    """
    rest = list(words)
    while rest:
        first = rest[0]
        name = posixpath.basename(first)
        if first == "exec" or ("=" in first and first.split("=", 1)[0].isidentifier()):
            rest = rest[1:]
        elif name in INIT_WRAPPERS:
            rest = rest[1:]
            while rest and rest[0].startswith("-"):
                if rest[0] == "--":
                    rest = rest[1:]
                    break
                rest = rest[1:]
        elif name in SHELLS and len(rest) > 1:
            i = 1
            while i < len(rest) and rest[i].startswith("-"):
                if "c" in rest[i][1:] and not rest[i].startswith("--"):
                    return []  # sh -c '...': no script file
                i += 1
            return rest[i:]
        else:
            break
    return rest


# --- From an in-image path to a repository file -----------------------------------------------


@dataclass(frozen=True)
class _Copy:
    sources: tuple[str, ...]
    dest: str  # absolute, normalised; a trailing "/" kept as a directory marker
    into_dir: bool  # the sources land inside dest (dest/, ".", several sources, globs)


def join_workdir(workdir: str | None, path: str) -> str | None:
    if path.startswith("/"):
        return posixpath.normpath(path)
    if workdir is None:
        return None
    return posixpath.normpath(posixpath.join(workdir, path))


def copy_map(stage: Stage) -> tuple[list[_Copy], str | None, list[str]]:
    """COPY/ADD from the build context in the stage's lineage, the final WORKDIR and PATH."""
    workdir: str | None = "/"
    path_dirs = list(DEFAULT_PATH)
    copies: list[_Copy] = []
    for s in lineage(stage):
        for ins in s.instructions:
            if ins.keyword == "WORKDIR":
                target = ins.args.strip().strip("\"'")
                workdir = None if "$" in target or not target else join_workdir(workdir, target)
            elif ins.keyword == "ENV":
                m = _PATH_ENV.search(ins.args)
                if m:
                    dirs = [d for d in m.group(1).strip("\"'").split(":") if d and "$" not in d]
                    path_dirs = [*dirs, *path_dirs]
            elif (
                ins.keyword in ("COPY", "ADD")
                and not ins.heredocs
                and not {"from", "parents"} & set(ins.flags)
            ):
                copy = _parse_copy(ins, workdir)
                if copy is not None:
                    copies.append(copy)
    return copies, workdir, path_dirs


def _parse_copy(ins: Instruction, workdir: str | None) -> _Copy | None:
    words = ins.json_args if ins.json_args is not None else ins.args.split()
    if len(words) < 2 or any("$" in w for w in words):
        return None
    *sources, dest_raw = words
    local = tuple(s for s in sources if "://" not in s and not s.startswith("git@"))
    if not local:
        return None
    dest = join_workdir(workdir, dest_raw)
    if dest is None:
        return None
    globbed = any(c in s for s in local for c in "*?[")
    into_dir = dest_raw.endswith("/") or dest_raw in (".", "..") or len(sources) > 1 or globbed
    return _Copy(local, dest, into_dir)


def source_candidates(copy: _Copy, target: str) -> list[str]:
    """Context-relative sources that would put a file at ``target``, most likely first."""
    dest = copy.dest.rstrip("/") or "/"
    prefix = dest if dest.endswith("/") else dest + "/"
    sources = [
        posixpath.normpath(raw.lstrip("/")) if raw.strip("/") else "." for raw in copy.sources
    ]
    if not copy.into_dir and target == dest:
        return sources[:1]  # a file copied to a new name
    if not target.startswith(prefix):
        return []
    rest = target[len(prefix) :]
    files: list[str] = []  # a file copied into the directory, or matched by a glob
    contents: list[str] = []  # a directory whose contents were copied
    for src in sources:
        if any(c in src for c in "*?["):
            if "/" not in rest and fnmatch.fnmatchcase(rest, posixpath.basename(src)):
                files.append(posixpath.join(posixpath.dirname(src), rest))
        elif copy.into_dir and rest == posixpath.basename(src):
            files.append(src)
        else:
            contents.append(posixpath.normpath(posixpath.join(src, rest)))
    return files or contents


def in_image_paths(name: str, workdir: str | None, path_dirs: Sequence[str]) -> list[str]:
    if "/" in name:
        resolved = join_workdir(workdir, name)
        return [resolved] if resolved else []
    return [posixpath.join(d, name) for d in path_dirs]


def _looks_like_script(path: str) -> bool:
    base = posixpath.basename(path)
    return base.endswith(SCRIPT_SUFFIXES) or "." not in base


def script_sources(doc: Dockerfile) -> list[str]:
    """Build-context paths of the scripts the final image starts with (ENTRYPOINT, then CMD)."""
    stage = final_stage(doc)
    if stage is None or is_windows(stage):
        return []
    start = start_command(stage)
    copies, workdir, path_dirs = copy_map(stage)
    found: list[str] = []
    for ins in (start.entrypoint, start.cmd):
        if ins is None:
            continue
        words = program(argv(ins))
        if not words or not words[0] or "$" in words[0]:
            continue
        for target in in_image_paths(words[0], workdir, path_dirs):
            for copy in reversed(copies):  # the last COPY to write a path wins
                candidates = source_candidates(copy, target)
                if candidates:
                    found.extend(c for c in candidates if _looks_like_script(c))
                    break
            else:
                continue
            break
    return list(dict.fromkeys(found))


def entrypoint_scripts(doc: Dockerfile, dockerfile_path: str) -> list[str]:
    """Repository paths of the final image's entrypoint scripts.

    The build context is taken to be the Dockerfile's directory; paths that would leave the
    repository are dropped.
    """
    return in_repository(dockerfile_path, script_sources(doc))


def in_repository(dockerfile_path: str, sources: Iterable[str]) -> list[str]:
    """Build-context paths as repository paths (the context taken to be the Dockerfile's
    directory); paths that would leave the repository are dropped, duplicates too."""
    base = posixpath.dirname(dockerfile_path)
    out: list[str] = []
    for src in sources:
        path = posixpath.normpath(posixpath.join(base, src)) if base else src
        if path in (".", "..") or path.startswith(("../", "/")):
            continue
        out.append(path)
    return list(dict.fromkeys(out))
