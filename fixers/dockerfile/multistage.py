"""Splitting a single-stage build into a build stage and a lean runtime stage (CBP113).

``analyse`` reads a one-stage Dockerfile and says whether it carries a toolchain into the
image, and if so either how to split it (``Split``) or why it cannot be split with confidence
(``Blocked``). The split keeps the file as it is up to and including the last build step
(``FROM <base> AS build``), then starts the runtime stage on a lean image that matches the
base (``fixers.dockerfile.toolchains``): the instructions before the build step that still
matter at run time are repeated there, the build results are copied in with
``COPY --from=build``, and everything after the build step stays as written.

Anything the analysis cannot account for (a command it does not know, a path from a variable,
an output it cannot name) blocks the split: a wrong split builds an image that fails at run
time, which is worse than no split.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from fixers.dockerfile.commands import Command, instruction_commands
from fixers.dockerfile.distro import is_windows
from fixers.dockerfile.entrypoints import DEFAULT_PATH, argv, program, start_command
from fixers.dockerfile.insert import dangling
from fixers.dockerfile.packages import mounts
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage
from fixers.dockerfile.toolchains import (
    LABELS,
    PYTHON_RUNTIME_DEV,
    RUNTIME_HELPERS,
    Build,
    Packages,
    classify,
    distro_runtime,
    dotnet_runtime,
    install_command,
    is_build_package,
    is_dev_package,
    is_full_image,
    is_plain_image,
    is_same_image,
    java_runtime,
    node_runtime,
    packages,
    python_runtime,
    static_runtime,
)
from fixers.ignorecomments import line_ids
from fixers.images import ImageRef, parse_image

COMPILED = frozenset({"go", "rust", "native", "java", "dotnet"})
# Instructions that describe the image rather than build it: repeated in the runtime stage.
_METADATA = frozenset(
    {"WORKDIR", "ENV", "ARG", "LABEL", "EXPOSE", "VOLUME", "USER", "SHELL", "HEALTHCHECK",
     "STOPSIGNAL", "CMD", "ENTRYPOINT", "MAINTAINER"}
)  # fmt: skip
# Commands with no effect beyond the files they touch.
_NEUTRAL = frozenset(
    {"cd", "mkdir", "echo", "set", "true", ":", "ls", "chmod", "chown", "touch", "export",
     "test", "[", "printf", "pwd", "id", "whoami", "which", "date", "rm", "ln"}
)  # fmt: skip
_PATH_TOUCHING = frozenset({"mkdir", "chmod", "chown", "touch", "ln"})
_USER_TOOLS = frozenset({"useradd", "groupadd", "adduser", "addgroup", "usermod"})
_COPIERS = frozenset({"cp", "mv", "install"})
# Programs that need the toolchain when the container starts.
_TOOLCHAIN_PROGRAMS = frozenset(
    {"go", "cargo", "rustc", "mvn", "mvnw", "gradle", "gradlew", "gcc", "g++", "cc", "make",
     "javac", "dotnet-sdk"}
)  # fmt: skip
# Tools full images carry and lean ones lack, often used by HEALTHCHECKs.
_FULL_IMAGE_TOOLS = frozenset({"curl", "wget", "git", "nc", "netcat"})
_REDIRECT = re.compile(r"^\d*(?:>>?|&>>?)(.*)$")
_HADOLINT_IGNORE = re.compile(r"^hadolint\s+ignore\s*=", re.IGNORECASE)
_OLD_NODE = frozenset({"argon", "boron", "carbon", "dubnium", "erbium", "fermium"})
VENV = "/opt/venv"
# The lean runtime image of a build image, for ecosystems that need a runtime of their own.
_RUNTIMES: dict[str, Callable[[ImageRef], str | None]] = {
    "python": python_runtime,
    "node": node_runtime,
    "java": java_runtime,
    "dotnet": dotnet_runtime,
}


@dataclass(frozen=True)
class Install:
    """A RUN the runtime stage gets that the file does not have: runtime helpers that shared an
    install with build tools (``RUN <args>``)."""

    args: str


@dataclass(frozen=True)
class Split:
    """How to split: the build stage ends with ``build_step``; see the module docstring."""

    ecosystem: str
    base: str
    build_step: Instruction
    runtime: str  # the runtime image, as the new FROM names it
    artefacts: tuple[str, ...]  # absolute paths copied from the build stage, to the same place
    replay: tuple[Instruction | Install, ...]  # earlier instructions repeated, in order
    stage_name: str
    rename: bool  # the FROM gets ` AS <stage_name>`
    venv_before: Instruction | None = None  # a venv is created before this RUN (Python)
    prune: str | None = None  # `npm prune` options to drop dev dependencies (Node)


@dataclass(frozen=True)
class Blocked:
    """A single-stage build the analysis cannot split with confidence, and why."""

    ecosystem: str
    base: str
    reason: str
    runtime: str | None = None
    artefact: str | None = None


@dataclass
class _Step:
    """One shell command of a RUN, classified."""

    command: Command
    kind: str  # build, packages, user, neutral, copy, venv, interp, unknown
    cwd: str | None
    build: Build | None = None
    packages: Packages | None = None
    venv: str | None = None


@dataclass
class _Run:
    ins: Instruction
    steps: list[_Step] = field(default_factory=list)

    def of(self, *kinds: str) -> list[_Step]:
        return [s for s in self.steps if s.kind in kinds]

    def builds(self, ecosystem: str | None = None) -> list[_Step]:
        return [
            s
            for s in self.steps
            if s.build is not None and (ecosystem is None or s.build.ecosystem == ecosystem)
        ]


class _Stop(Exception):
    """Raised inside the analysis when the split is not safe; the message says why."""

    def __init__(self, reason: str, *, artefact: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.artefact = artefact


def _join(base: str | None, path: str) -> str | None:
    if "$" in path or not path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path)
    if base is None:
        return None
    return posixpath.normpath(posixpath.join(base, path))


def _inside(path: str, directory: str) -> bool:
    directory = directory.rstrip("/") or "/"
    return path == directory or path.startswith(directory if directory == "/" else directory + "/")


def _env_pairs(ins: Instruction) -> dict[str, str]:
    """``ENV A=1 B=2`` or the legacy ``ENV A 1``; empty when it cannot be read."""
    text = ins.args
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        return {}
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    out: dict[str, str] = {}
    for word in words:
        name, eq, value = word.partition("=")
        if eq:
            out[name] = value
    return out


def _steps(ins: Instruction, workdir: str | None, env: dict[str, str]) -> list[_Step]:
    commands = instruction_commands(ins)
    subshell = any(c.before == "(" or c.after == ")" for c in commands)
    cwd = workdir
    steps: list[_Step] = []
    for command in commands:
        name = command.program or ""
        args = [w.text for w in command.args]
        step = _Step(command, "unknown", cwd)
        build = classify(command, env)
        pkgs = packages(command) if build is None else None
        if build is not None:
            step.kind, step.build = "build", build
        elif pkgs is not None:
            step.kind, step.packages = "packages", pkgs
        elif name in _USER_TOOLS:
            step.kind = "user"
        elif _venv_target(name, args) is not None:
            step.kind, step.venv = "venv", _join(cwd, _venv_target(name, args) or "")
        elif name in _COPIERS or name == "strip":
            step.kind = "copy"
        elif name in _NEUTRAL or name.startswith("update-"):
            step.kind = "neutral"
        elif re.match(r"^python(?:3(?:\.\d+)?)?$", name) or name == "node":
            step.kind = "interp"
        if name == "cd":
            target = args[0] if args else ""
            cwd = None if subshell or target in ("", "-") else _join(cwd, target)
        steps.append(step)
    return steps


def _venv_target(name: str, args: list[str]) -> str | None:
    rest: list[str] = []
    if re.match(r"^python(?:3(?:\.\d+)?)?$", name) and args[:2] == ["-m", "venv"]:
        rest = args[2:]
    elif name == "virtualenv":
        rest = args
    elif name == "uv" and args[:1] == ["venv"]:
        rest = args[1:]
    else:
        return None
    paths = [a for a in rest if not a.startswith("-")]
    return paths[-1] if paths else None


def _redirect_targets(command: Command) -> list[str]:
    words = [w.text for w in command.words]
    out: list[str] = []
    for i, word in enumerate(words):
        m = _REDIRECT.match(word)
        if m is None or word.endswith("&1") or word.endswith("&2"):
            continue
        target = m.group(1) or (words[i + 1] if i + 1 < len(words) else "")
        if target and target != "/dev/null":
            out.append(target)
    return out


def _touched_paths(step: _Step) -> list[tuple[str, str | None]]:
    """Paths a neutral command creates or changes (mkdir, chown, redirections...), as written
    and resolved (None when that depends on a variable)."""
    found = _redirect_targets(step.command)
    if step.command.program in _PATH_TOUCHING:
        operands = [w.text for w in step.command.args if not w.text.startswith("-")]
        if step.command.program in ("chown", "chmod"):
            operands = operands[1:]  # the owner or the mode
        found.extend(operands)
    return [(path, _join(step.cwd, path)) for path in found]


# --- The analysis -------------------------------------------------------------------------------


def analyse(doc: Dockerfile) -> Split | Blocked | None:
    """None when the file is not a single-stage build carrying a toolchain."""
    if len(doc.stages) != 1:
        return None
    stage = doc.stages[0]
    if stage.is_scratch or is_windows(stage) or not stage.from_.args.split():
        return None
    if not any(i.keyword in ("CMD", "ENTRYPOINT") for i in stage.instructions):
        return None  # no start command: a toolchain or base image, built to be built on
    if not any(_copies_context(i) for i in stage.instructions):
        return None  # builds nothing of its own (downloads and builds a tool, a runtime...)
    runs = _runs(stage)
    ecosystem = _ecosystem(stage, runs)
    if ecosystem is None:
        return None
    base = stage.base
    if len(ecosystem) > 1:
        names = ", ".join(sorted(ecosystem))
        return Blocked(sorted(ecosystem)[0], base, f"it builds with several toolchains ({names})")
    (name,) = ecosystem
    try:
        return _plan(doc, stage, runs, name)
    except _Stop as stop:
        return Blocked(name, base, stop.reason, _likely_runtime(base, name), stop.artefact)


def runtime_images(doc: Dockerfile) -> list[ImageRef]:
    """The images a split of ``doc`` may start its runtime stage from, for the registry lookup
    that runs before the rules (so that CBP101 can pin the new FROM in the same run). Other
    fixes may change which one it is (a RUN they add rules out distroless), hence all of them.
    """
    result = analyse(doc)
    if not isinstance(result, Split):
        return []
    names = [result.runtime, _likely_runtime(result.base, result.ecosystem)]
    ref = parse_image(result.base)
    if ref is not None and result.ecosystem in ("go", "rust", "native"):
        names.append(static_runtime(ref))
    same = f"{ref.name}:{ref.tag}" if ref is not None else None
    found = [parse_image(n) for n in dict.fromkeys(names) if n is not None and n != same]
    return [image for image in found if image is not None and image.digest is None]


def _likely_runtime(base: str, ecosystem: str) -> str | None:
    """The lean image a hint can name when the split itself is not possible."""
    ref = parse_image(base)
    if ref is None:
        return None
    if ecosystem in ("go", "rust", "native"):
        return distro_runtime(ref)
    return _RUNTIMES[ecosystem](ref)


def _describe(command: Command) -> str:
    """``cargo test`` for ``cargo test --release``: the program and its verb."""
    name = command.program or command.words[0].text
    args = [w.text for w in command.args]
    if args[:1] == ["-m"] and len(args) > 1:
        return f"{name} -m {args[1]}"
    verb = next((a for a in args if not a.startswith("-")), None)
    return f"{name} {verb}" if verb and re.fullmatch(r"[a-z][\w:-]*", verb) else name


def _runs(stage: Stage) -> dict[int, _Run]:
    """Every RUN of the stage by instruction index, its commands classified."""
    workdir: str | None = "/"
    env: dict[str, str] = {}
    out: dict[int, _Run] = {}
    for index, ins in enumerate(stage.instructions):
        if ins.keyword == "WORKDIR":
            workdir = _join(workdir, ins.args.strip().strip("\"'"))
        elif ins.keyword == "ENV":
            env.update(_env_pairs(ins))
        elif ins.keyword == "RUN":
            out[index] = _Run(ins, _steps(ins, workdir, env))
    return out


def _copies_context(ins: Instruction) -> bool:
    """The instruction brings in files of the build context (COPY, ADD, a bind mount)."""
    if ins.keyword == "RUN":
        return any(m.get("type") == "bind" and "from" not in m for m in mounts(ins))
    if ins.keyword not in ("COPY", "ADD") or "from" in ins.flags:
        return False
    words = ins.json_args if ins.json_args is not None else ins.args.split()
    return ins.keyword == "COPY" or any("://" not in w for w in words[:-1])


def _installed_build_packages(runs: Iterable[_Run]) -> tuple[set[str], set[str]]:
    """Build-only and development packages installed at all, and those not removed again."""
    installed: set[str] = set()
    ever: set[str] = set()
    virtuals: dict[str, set[str]] = {}  # apk's `--virtual .name` groups
    for run in runs:
        for step in run.of("packages"):
            pkgs = step.packages
            assert pkgs is not None
            if pkgs.installs:
                names = {n for n in pkgs.names if is_build_package(n) or is_dev_package(n)}
                installed |= names
                ever |= names
                if pkgs.virtual is not None:
                    virtuals[pkgs.virtual] = names
            elif pkgs.removes:
                for name in pkgs.names:
                    installed -= virtuals.get(name, {name})
    return ever, installed


def _ecosystem(stage: Stage, runs: dict[int, _Run]) -> set[str] | None:
    """The ecosystems whose toolchain the image carries; None when it carries none."""
    builds = [s.build for r in runs.values() for s in r.builds() if s.build and s.build.builds]
    if not builds:
        return None
    found = {b.ecosystem for b in builds}
    ever, kept = _installed_build_packages(runs.values())
    compilers = bool(kept - PYTHON_RUNTIME_DEV)
    ref = parse_image(stage.base)
    carried: set[str] = set(found & COMPILED)
    if ever and not kept and ref is not None and is_plain_image(ref):
        carried.clear()  # the toolchain came from packages removed again in the same build
    if "python" in found and (compilers or (ref is not None and is_full_image(ref, "python"))):
        carried.add("python")
    node_builds = any(b.ecosystem == "node" and _node_compiles(b) for b in builds)
    if "node" in found and (
        node_builds or compilers or (ref is not None and is_full_image(ref, "node"))
    ):
        carried.add("node")
    if not carried:
        return None
    return found if len(found) > 1 else carried


def _builds(step: _Step) -> bool:
    return step.build is not None and step.build.builds


def _node_compiles(build: Build) -> bool:
    words = [w.text for w in build.command.args]
    return build.command.program == "npx" or (
        words[:1] in (["run"], ["run-script"]) and build.builds
    )


def _plan(doc: Dockerfile, stage: Stage, runs: dict[int, _Run], ecosystem: str) -> Split:
    base = stage.base
    if any(i.keyword == "ONBUILD" for i in stage.instructions):
        raise _Stop("it has ONBUILD triggers, which run in images built FROM it")
    if stage.from_.flags:
        raise _Stop("its FROM has flags (`--platform`): the runtime stage's platform is unclear")
    if not stage.base_known or "$" in stage.from_.args.split()[0]:
        raise _Stop("its base image comes from an ARG")
    ref = parse_image(base)
    if ref is None:
        raise _Stop(f"`{base}` is not an image reference it can read")
    problems = [
        (r.ins, s.build)
        for r in runs.values()
        for s in r.builds(ecosystem)
        if s.build is not None and s.build.problem
    ]
    if problems:
        ins, build = problems[0]
        raise _Stop(f"on line {ins.line}, {build.problem}")
    step_index = max(i for i, r in runs.items() if any(_builds(s) for s in r.builds(ecosystem)))
    step = runs[step_index].ins
    if dangling(doc, step):
        raise _Stop(f"line {step.line} ends in a line continuation")
    instructions = stage.instructions
    after = instructions[step_index + 1 :]
    workdirs = _workdirs(instructions)
    venv_existing = _existing_venv(runs, step_index)
    outputs = _outputs(runs, step_index, ecosystem, venv_existing)
    replay = _replay(instructions, runs, step_index, ecosystem, outputs, workdirs)
    _check_runtime_part(after, ecosystem, runs, step_index)
    _check_start(stage)

    artefacts = _artefacts(stage, ecosystem, outputs, workdirs, venv_existing)
    venv_before: Instruction | None = None
    if ecosystem == "python" and venv_existing is None:
        if VENV in doc.text:
            raise _Stop(f"it mentions `{VENV}` without creating a virtual environment there")
        if re.match(r"2(\.|$)", ref.tag or ""):
            raise _Stop("Python 2 has no venv module")
        first = min(i for i, r in runs.items() if r.builds("python"))
        venv_before = runs[first].ins
        artefacts = [VENV]
    runtime = _runtime(ref, ecosystem, stage, replay, after, runs, step_index, artefacts)
    if is_same_image(ref, runtime):
        runtime = stage.from_.args.split()[0]  # the base as written, digest included
    else:
        _check_tools(runtime, replay, after, runs, step_index)
    prune = _prune(runs, step_index, ref) if ecosystem == "node" else None
    name = stage.name or _free_name(doc)
    return Split(
        ecosystem=ecosystem,
        base=base,
        build_step=step,
        runtime=runtime,
        artefacts=tuple(dict.fromkeys(artefacts)),
        replay=tuple(replay),
        stage_name=name,
        rename=stage.name is None,
        venv_before=venv_before,
        prune=prune,
    )


def _workdirs(instructions: Sequence[Instruction]) -> list[str | None]:
    """The WORKDIR in effect at each instruction (None: from a variable)."""
    workdir: str | None = "/"
    found: list[str | None] = []
    for ins in instructions:
        if ins.keyword == "WORKDIR":
            workdir = _join(workdir, ins.args.strip().strip("\"'"))
        found.append(workdir)
    return found


def _existing_venv(runs: dict[int, _Run], step_index: int) -> str | None:
    """The virtual environment the file creates before its pip installs, if it does."""
    venvs: list[str | None] = []
    early: Instruction | None = None  # a pip install before any venv
    for index, run in runs.items():
        if index > step_index:
            break
        for step in run.steps:
            if step.kind == "venv":
                venvs.append(step.venv)
            elif not venvs and early is None and _installs_python(step):
                early = run.ins
    if not venvs:
        return None
    if early is not None:
        raise _Stop(f"line {early.line} installs packages before the virtual environment exists")
    if any(v is None for v in venvs) or len(set(venvs)) > 1:
        raise _Stop("it creates virtual environments at paths it cannot follow")
    return venvs[0]


def _installs_python(step: _Step) -> bool:
    return step.build is not None and step.build.builds and step.build.ecosystem == "python"


@dataclass
class _Outputs:
    files: list[str] = field(default_factory=list)  # absolute
    dirs: list[str] = field(default_factory=list)  # absolute, carried whole
    trees: list[str] = field(default_factory=list)  # absolute, one file of them is carried
    build_dirs: list[str] = field(default_factory=list)  # where the builds ran
    static: bool = True


def _outputs(runs: dict[int, _Run], step_index: int, ecosystem: str, venv: str | None) -> _Outputs:
    out = _Outputs()
    for index, run in runs.items():
        if index > step_index:
            break
        for step in run.builds(ecosystem):
            build = step.build
            assert build is not None
            if step.cwd is None:
                raise _Stop(
                    f"on line {run.ins.line} the build runs in a directory from a "
                    "variable or a subshell"
                )
            out.build_dirs.append(step.cwd)
            if not build.builds or build.output is None:
                continue
            path = _join(step.cwd, build.output.path)
            if path is None:
                raise _Stop(
                    f"on line {run.ins.line} the output path `{build.output.path}` "
                    "comes from a variable",
                    artefact=build.output.path,
                )
            {"file": out.files, "dir": out.dirs, "tree": out.trees}[build.output.shape].append(path)
            out.static = out.static and build.static
        for step in run.builds("python"):
            # `/usr/local/bin/pip` installs past any virtual environment but its own.
            word = step.command.words[step.command.program_index() or 0].text
            if word.startswith("/") and (venv is None or not _inside(word, venv)):
                raise _Stop(f"on line {run.ins.line} pip is called by its path, `{word}`")
    # Copies in the build step: their destinations are outputs too; a move drops its source.
    for step in runs[step_index].of("copy"):
        _copy_outputs(step, out, runs[step_index].ins)
    out.files = list(dict.fromkeys(out.files))
    return out


def _copy_outputs(step: _Step, out: _Outputs, ins: Instruction) -> None:
    command = step.command
    if command.program == "strip":
        return
    operands = [w.text for w in command.args if not w.text.startswith("-")]
    if command.program == "install":
        words = [w.text for w in command.args]
        operands = [
            w
            for i, w in enumerate(words)
            if not w.startswith("-")
            and not (i and words[i - 1] in ("-m", "--mode", "-o", "-g", "--owner", "--group"))
        ]
    if len(operands) < 2:
        raise _Stop(f"line {ins.line} runs `{_describe(command)}` in a way it cannot follow")
    *sources, dest = operands
    target = _join(step.cwd, dest)
    if target is None:
        raise _Stop(f"on line {ins.line} `{command.program}` writes to a path from a variable")
    into_dir = dest.endswith("/") or len(sources) > 1
    for source in sources:
        src = _join(step.cwd, source)
        if src is None:
            raise _Stop(f"on line {ins.line} `{command.program}` reads a path from a variable")
        if any(c in source for c in "*?["):
            if into_dir:
                raise _Stop(
                    f"on line {ins.line} `{command.program} {source}` copies files it cannot name"
                )
            out.files.append(target)
            continue
        landed = posixpath.join(target, posixpath.basename(src)) if into_dir else target
        out.files.append(landed)
        if command.program == "mv" and src in out.files:
            out.files.remove(src)


def _replay(
    instructions: Sequence[Instruction],
    runs: dict[int, _Run],
    step_index: int,
    ecosystem: str,
    outputs: _Outputs,
    workdirs: Sequence[str | None],
) -> list[Instruction | Install]:
    """What the runtime stage repeats of the instructions up to the build step, in order."""
    replay: list[Instruction | Install] = []
    kept_dirs = [*outputs.build_dirs, *outputs.dirs, *outputs.trees, *outputs.files]
    for index, ins in enumerate(instructions[: step_index + 1]):
        if index == step_index:
            _check_build_step(runs[index], ecosystem, kept_dirs)
            replay.extend(_helpers(runs[index], ecosystem))
        elif ins.keyword in _METADATA:
            replay.append(ins)
        elif ins.keyword in ("COPY", "ADD"):
            if _copy_replayed(ins, ecosystem, workdirs[index], outputs):
                replay.append(ins)
        elif ins.keyword == "RUN":
            if _run_replayed(runs[index], ecosystem, kept_dirs):
                replay.append(ins)
            else:
                replay.extend(_helpers(runs[index], ecosystem))
        else:
            raise _Stop(f"line {ins.line} holds a {ins.keyword} it cannot place")
    return replay


def _copy_destination(ins: Instruction, workdir: str | None) -> str | None:
    words = ins.json_args if ins.json_args is not None else ins.args.split()
    return _join(workdir, words[-1]) if words else None


def _copy_replayed(ins: Instruction, ecosystem: str, workdir: str | None, out: _Outputs) -> bool:
    """Python ships its sources as copied; compiled ecosystems and Node leave what they copied
    into the build directory behind (the build results carry it)."""
    if ecosystem == "python":
        return True
    dest = _copy_destination(ins, workdir)
    if dest is None:
        raise _Stop(f"line {ins.line} copies to a path from a variable")
    if ecosystem in COMPILED and any(d == "/" for d in out.build_dirs):
        raise _Stop("the build runs in `/`: it cannot tell sources from runtime files")
    inside = [d for d in [*out.build_dirs, *out.dirs] if d != "/"]
    return not any(_inside(dest, d) for d in inside)


def _run_replayed(run: _Run, ecosystem: str, kept_dirs: Sequence[str]) -> bool:
    """Whether an earlier RUN is repeated in the runtime stage: installs of runtime packages,
    user creation and plain directory set-up are; builds and build tool installs are not."""
    ins = run.ins
    if ins.json_args is not None:
        raise _Stop(f"line {ins.line} is an exec-form RUN it cannot read")
    unknown = run.of("unknown", "interp", "copy")
    if unknown:
        name = _describe(unknown[0].command)
        raise _Stop(f"line {ins.line} runs `{name}`, whose effect on the runtime image is unknown")
    _other_toolchain(run, ecosystem)
    build_pkgs, runtime_pkgs = _packages_of(run, ecosystem)
    builds = run.builds(ecosystem) or run.of("venv")
    users = run.of("user")
    if users and (builds or build_pkgs):
        raise _Stop(f"line {ins.line} creates users in the same RUN as the build")
    if runtime_pkgs and not (builds or build_pkgs):
        return True  # runtime packages only: repeated as written
    if users:
        return True
    if builds or run.of("packages"):
        _check_touched(run, kept_dirs)
        return False
    return True  # mkdir, chown and the like: harmless to repeat


def _other_toolchain(run: _Run, ecosystem: str) -> None:
    other = [s for s in run.builds() if s.build is not None and s.build.ecosystem != ecosystem]
    if other:
        line = run.ins.line
        raise _Stop(f"line {line} runs `{_describe(other[0].command)}` of another toolchain")


def _packages_of(run: _Run, ecosystem: str) -> tuple[list[str], list[str]]:
    """The build and the runtime packages a RUN installs; stops on development packages whose
    libraries the runtime may need."""
    build: list[str] = []
    runtime: list[str] = []
    for step in run.of("packages"):
        pkgs = step.packages
        assert pkgs is not None
        if not pkgs.installs:
            continue
        for name in pkgs.names:
            if is_build_package(name) or (ecosystem == "python" and name in PYTHON_RUNTIME_DEV):
                build.append(name)
            elif is_dev_package(name):
                raise _Stop(
                    f"line {run.ins.line} installs `{name}`: the runtime stage may need "
                    "its library package, which the file does not name"
                )
            else:
                runtime.append(name)
    return build, runtime


def _helpers(run: _Run, ecosystem: str) -> list[Install]:
    """A RUN that stays in the build stage may also install runtime packages: runtime helpers
    (an init, CA certificates) are installed again in the runtime stage; other runtime
    packages there are the kind of mix the split cannot sort out."""
    _, runtime = _packages_of(run, ecosystem)
    if not runtime:
        return []
    others = [name for name in runtime if name not in RUNTIME_HELPERS]
    if others:
        raise _Stop(
            f"line {run.ins.line} installs build tools and runtime packages "
            f"({', '.join(others)}) in one RUN"
        )
    found: list[Install] = []
    for step in run.of("packages"):
        pkgs = step.packages
        assert pkgs is not None
        specs = [s for s, n in zip(pkgs.specs, pkgs.names, strict=True) if n in RUNTIME_HELPERS]
        if not pkgs.installs or not specs:
            continue
        args = install_command(pkgs.manager, specs)
        if args is None:
            raise _Stop(f"line {run.ins.line} installs runtime packages with {pkgs.manager}")
        found.append(Install(args))
    return found


def _check_touched(run: _Run, kept_dirs: Sequence[str]) -> None:
    """A RUN left in the build stage must not prepare paths outside what the runtime gets."""
    for step in run.of("neutral"):
        if step.command.program == "rm":
            continue
        for written, path in _touched_paths(step):
            if path is None:
                raise _Stop(f"line {run.ins.line} writes `{written}` in a place it cannot tell")
            if not any(_inside(path, d) for d in [*kept_dirs, "/tmp"]):
                raise _Stop(
                    f"line {run.ins.line} prepares `{path}`, which the runtime stage would lack"
                )


def _check_build_step(run: _Run, ecosystem: str, kept_dirs: Sequence[str]) -> None:
    ins = run.ins
    unknown = run.of("unknown", "interp", "user")
    if unknown:
        name = _describe(unknown[0].command)
        raise _Stop(f"the build step on line {ins.line} also runs `{name}`")
    _other_toolchain(run, ecosystem)
    _check_touched(run, kept_dirs)


def _check_runtime_part(
    after: Sequence[Instruction], ecosystem: str, runs: dict[int, _Run], step_index: int
) -> None:
    """What follows the build step runs in the runtime stage: nothing there may need the
    toolchain or the build stage's files."""
    for index, run in runs.items():
        if index <= step_index:
            continue
        ins = run.ins
        if ins.json_args is not None:
            raise _Stop(f"line {ins.line} is an exec-form RUN it cannot read")
        builds = run.builds()
        if builds:
            raise _Stop(
                f"line {ins.line} runs `{_describe(builds[0].command)}` after the build, "
                "in what would be the runtime stage"
            )
        bad = run.of("unknown", "copy", "venv")
        if ecosystem not in ("python", "node"):
            bad += run.of("interp")
        if bad:
            name = _describe(bad[0].command)
            raise _Stop(
                f"line {ins.line} runs `{name}` after the build; it may need the build "
                "stage's files"
            )
    for ins in after:
        if ins.keyword == "ONBUILD":
            raise _Stop("it has ONBUILD triggers")
        if ins.keyword in ("COPY", "ADD") and ecosystem in COMPILED and "from" not in ins.flags:
            words = ins.json_args if ins.json_args is not None else ins.args.split()
            if any(w.rstrip("/") in (".", "") for w in words[:-1]):
                raise _Stop(
                    f"line {ins.line} copies the whole build context after the build: "
                    "the runtime may need some of it, but not the sources"
                )


def _start_words(stage: Stage) -> list[tuple[Instruction, list[str]]]:
    return [(i, argv(i)) for i in stage.instructions if i.keyword in ("CMD", "ENTRYPOINT")]


def _check_start(stage: Stage) -> None:
    for ins, words in _start_words(stage):
        run = program(words)
        if run and posixpath.basename(run[0]) in _TOOLCHAIN_PROGRAMS:
            raise _Stop(
                f"line {ins.line} starts `{posixpath.basename(run[0])}`, which needs "
                "the toolchain at run time"
            )
        if run and posixpath.basename(run[0]) == "dotnet" and run[1:2] in (["run"], ["watch"]):
            raise _Stop(f"line {ins.line} starts `dotnet {run[1]}`, which needs the SDK")
        if run and posixpath.basename(run[0]) in ("npm", "yarn") and "dev" in run[1:3]:
            raise _Stop(f"line {ins.line} starts a development server")


def _start_reference(stage: Stage, ecosystem: str) -> tuple[Instruction, str] | None:
    """The file the start command runs (the program, or the jar of ``java -jar``)."""
    start = start_command(stage)
    ep = start.entrypoint
    ins = ep if ep is not None and ep.json_args != [] else start.cmd
    run = program(argv(ins)) if ins is not None else []
    if ins is None or not run:
        return None
    if ecosystem != "java":
        return ins, run[0]
    if posixpath.basename(run[0]) == "java" and "-jar" in run[:-1]:
        return ins, run[run.index("-jar") + 1]
    return None


def _artefacts(
    stage: Stage,
    ecosystem: str,
    out: _Outputs,
    workdirs: Sequence[str | None],
    venv: str | None,
) -> list[str]:
    if ecosystem == "python":
        return _plain([venv] if venv is not None else [])
    if ecosystem == "node":
        dirs = set(out.build_dirs)
        if len(dirs) != 1:
            raise _Stop("npm runs in several directories")
        (project,) = dirs
        if project == "/":
            raise _Stop("npm runs in `/`: set a WORKDIR for the app")
        return _plain([project, *out.files])
    artefacts = [*out.files, *out.dirs]
    if out.trees or not artefacts:
        found = _start_reference(stage, ecosystem)
        if found is None:
            what = "jar" if ecosystem == "java" else "binary"
            raise _Stop(f"it cannot tell which {what} the image starts")
        ins, ref = found
        index = stage.instructions.index(ins)
        candidates = _candidates(ref, workdirs[index], stage)
        hit = next(
            (
                c
                for c in candidates
                if c in out.files or any(_inside(c, d) for d in [*out.trees, *out.dirs])
            ),
            None,
        )
        if hit is None:
            trees = ", ".join(f"`{t}`" for t in out.trees) or "the build"
            raise _Stop(
                f"it cannot tell that `{ref}` (line {ins.line}) comes out of {trees}", artefact=ref
            )
        if hit not in artefacts and not any(_inside(hit, d) for d in out.dirs):
            artefacts.append(hit)
        if out.trees and not any(_inside(hit, t) for t in out.trees) and hit not in out.files:
            raise _Stop(f"it cannot tell where `{ref}` comes from")
    return _plain(artefacts)


def _plain(paths: list[str]) -> list[str]:
    for path in paths:
        if any(c in path for c in "*?[ \t\"'$\\") or path == "/":
            raise _Stop(f"the output `{path}` is not a plain path", artefact=path)
    return paths


def _candidates(ref: str, workdir: str | None, stage: Stage) -> list[str]:
    if "$" in ref:
        return []
    if "/" in ref:
        path = _join(workdir, ref)
        return [path] if path else []
    dirs = list(DEFAULT_PATH)
    for ins in stage.instructions:
        if ins.keyword == "ENV":
            value = _env_pairs(ins).get("PATH")
            if value:
                dirs = [d for d in value.split(":") if d and "$" not in d] + dirs
    return [posixpath.join(d, ref) for d in dirs]


def _runtime(
    ref: ImageRef,
    ecosystem: str,
    stage: Stage,
    replay: Sequence[Instruction | Install],
    after: Sequence[Instruction],
    runs: dict[int, _Run],
    step_index: int,
    artefacts: Sequence[str],
) -> str:
    runtime: str | None
    if ecosystem in ("go", "rust", "native"):
        static = _static(ecosystem, runs, step_index)
        if static and _fits_static(replay, after) and _starts_artefact(stage, artefacts):
            return static_runtime(ref)
        runtime = distro_runtime(ref)
        if runtime is None:
            hint = (
                "; a static binary (`CGO_ENABLED=0`, a musl target) could run on distroless"
                if not static
                else "; distroless has no shell for the runtime instructions"
            )
            raise _Stop(
                f"no lean image of `{stage.base}` is known (its tag names no Debian "
                f"release or Alpine version){hint}"
            )
        return runtime
    runtime = _RUNTIMES[ecosystem](ref)
    if runtime is None:
        raise _Stop(f"no lean runtime image of `{stage.base}` is known")
    return runtime


def _static(ecosystem: str, runs: dict[int, _Run], step_index: int) -> bool:
    builds = [
        s.build
        for i, r in runs.items()
        if i <= step_index
        for s in r.builds(ecosystem)
        if s.build is not None and s.build.builds
    ]
    return bool(builds) and all(b.static for b in builds)


def _starts_artefact(stage: Stage, artefacts: Sequence[str]) -> bool:
    """The image starts one of the build results (not a script, which needs a shell)."""
    found = _start_reference(stage, "native")
    if found is None:
        return False
    ins, ref = found
    workdir = _workdirs(stage.instructions)[stage.instructions.index(ins)]
    return any(c in artefacts for c in _candidates(ref, workdir, stage))


def _fits_static(replay: Sequence[Instruction | Install], after: Sequence[Instruction]) -> bool:
    """Distroless static has no shell, no package manager and only root and nonroot users."""
    for ins in [*replay, *after]:
        if isinstance(ins, Install):
            return False
        if ins.keyword in ("RUN", "SHELL", "HEALTHCHECK", "ONBUILD"):
            return False
        if ins.keyword in ("CMD", "ENTRYPOINT") and ins.json_args is None:
            return False
        if ins.keyword == "USER" and not re.fullmatch(
            r"(\d+|root|nonroot)(:\d+|:root|:nonroot)?", ins.args.strip()
        ):
            return False
        chown = ins.flags.get("chown") if ins.keyword in ("COPY", "ADD") else None
        if chown is not None and not re.fullmatch(r"\d+(:\d+)?", chown):
            return False
    return True


def _check_tools(
    runtime: str,
    replay: Sequence[Instruction | Install],
    after: Sequence[Instruction],
    runs: dict[int, _Run],
    step_index: int,
) -> None:
    """A HEALTHCHECK calling curl or wget worked in the toolchain image; a lean one may lack
    them unless the file installs them for the runtime."""
    installed = {
        n
        for i, r in runs.items()
        if i > step_index or r.ins in replay
        for s in r.of("packages")
        if s.packages is not None
        for n in s.packages.names
    }
    kept = [i for i in replay if isinstance(i, Instruction)]
    for ins in [*kept, *after]:
        if ins.keyword != "HEALTHCHECK":
            continue
        words = re.findall(r"[\w.-]+", ins.args)
        tools = [w for w in words if w in _FULL_IMAGE_TOOLS and w not in installed]
        if tools:
            raise _Stop(
                f"the HEALTHCHECK on line {ins.line} calls `{tools[0]}`, which "
                f"`{runtime}` may lack: install it in the runtime stage"
            )


def _prune(runs: dict[int, _Run], step_index: int, ref: ImageRef) -> str | None:
    """Options for `npm prune`, or None when the last npm command already dropped dev deps."""
    steps = [s for i, r in runs.items() if i <= step_index for s in r.builds("node")]
    last = steps[-1].command if steps else None
    if last is not None:
        words = [w.text for w in last.args]
        prod = {"--omit=dev", "--production", "--only=production", "--only=prod"}
        if words[:1] == ["prune"] or (words[:1] in (["ci"], ["install"]) and prod & set(words)):
            return None
    tag = (ref.tag or "").split("-")[0]
    major = re.match(r"\d+", tag)
    if (major and int(major.group(0)) < 16) or tag in _OLD_NODE:
        return "--production"
    return "--omit=dev"


def _free_name(doc: Dockerfile) -> str:
    used = {i.flags.get("from", "").lower() for i in doc.instructions if "from" in i.flags}
    used |= {m.group(1).lower() for m in re.finditer(r"--from=(\S+)", doc.text)}
    return next(n for n in ("build", "builder", "build-stage") if n not in used)


# --- Rendering ----------------------------------------------------------------------------------


def label(ecosystem: str) -> str:
    return LABELS.get(ecosystem, "an app")


def keyword_case(doc: Dockerfile, word: str) -> str:
    """``word`` in the case the file writes its FROM in."""
    stage = doc.stages[0]
    written = doc.text[stage.from_.start : stage.from_.start + 4].strip()
    return word.lower() if written.islower() else word


def runtime_block(doc: Dockerfile, split: Split, *, prune_line: bool) -> str:
    """The text that starts the runtime stage, inserted right after the build step."""
    nl = doc.newline
    text = doc.text

    def k(word: str) -> str:
        return keyword_case(doc, word)

    parts: list[str] = []
    end = split.build_step.end
    if end == len(text) and not text.endswith("\n"):
        parts.append(nl)
    if prune_line and split.prune:
        parts.append(f"{k('RUN')} npm prune {split.prune}{nl}")
    parts.append(nl)
    # Ignore comments above the FROM were about the image that ships: they go with its FROM.
    for comment in doc.comments_before(doc.stages[0].from_):
        if line_ids(comment.text) or _HADOLINT_IGNORE.match(comment.text):
            line_end = text.find("\n", comment.start)
            parts.append(text[comment.start : line_end].rstrip("\r") + nl)
    parts.append(f"{k('FROM')} {split.runtime}{nl}")
    for ins in split.replay:
        if isinstance(ins, Install):
            parts.append(f"{k('RUN')} {ins.args}{nl}")
            continue
        comments = doc.comments_before(ins)
        start = comments[0].start if comments else ins.start
        chunk = text[start : ins.end]
        if not chunk.endswith("\n"):
            chunk += nl
        parts.append(chunk)
        if ins.heredocs:
            parts.append(nl)  # hadolint cannot parse an instruction right after a terminator
    if split.venv_before is not None:
        parts.append(f"{k('ENV')} VIRTUAL_ENV={VENV}{nl}")
        parts.append(f'{k("ENV")} PATH="$VIRTUAL_ENV/bin:$PATH"{nl}')
    for path in split.artefacts:
        parts.append(f"{k('COPY')} --from={split.stage_name} {path} {path}{nl}")
    return "".join(parts)


def venv_lines(doc: Dockerfile) -> list[str]:
    """The lines that create the virtual environment in the build stage."""
    env, run = keyword_case(doc, "ENV"), keyword_case(doc, "RUN")
    return [
        f"{env} VIRTUAL_ENV={VENV}",
        f"{run} python -m venv $VIRTUAL_ENV",
        f'{env} PATH="$VIRTUAL_ENV/bin:$PATH"',
    ]


def skeleton(result: Split | Blocked) -> str:
    """A one-line outline of the split, for the finding's hint."""
    if isinstance(result, Split):
        runtime, artefact = result.runtime, (result.artefacts or ("<the build output>",))[0]
    else:
        runtime = result.runtime or "<a lean runtime image>"
        artefact = result.artefact or "<the build output>"
    return (
        f"`FROM {result.base} AS build` with the steps up to the build, then "
        f"`FROM {runtime}` with `COPY --from=build {artefact} ...` and only what the "
        "application needs at run time"
    )
