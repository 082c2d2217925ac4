"""Toolchains in a Dockerfile: which shell commands build what, which packages only build, and
the lean runtime image that matches a toolchain base image.

Shared knowledge for CBP113 (single-stage-build). Everything here is a pure function of the
words a file shows. Image mappings follow the tag schemes the images document on their
registry pages; a base whose tag does not follow one maps to nothing (no tag is invented).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fixers.dockerfile.commands import Command
from fixers.dockerfile.packages import package_command
from fixers.images import ImageRef, official_name

DEBIAN_CODENAMES = frozenset({"buster", "bullseye", "bookworm", "trixie", "forky"})
UBUNTU_CODENAMES = frozenset({"bionic", "focal", "jammy", "noble"})
NODE_CODENAMES = frozenset(
    {"argon", "boron", "carbon", "dubnium", "erbium", "fermium", "gallium", "hydrogen", "iron",
     "jod", "krypton", "lts", "current"}
)  # fmt: skip

# Ecosystems, as named in messages.
LABELS = {
    "go": "a Go binary",
    "rust": "a Rust binary",
    "native": "a C/C++ binary",
    "node": "a Node.js app",
    "python": "Python packages",
    "java": "a Java jar",
    "dotnet": "a .NET app",
}
# Packages that only build: compilers, headers, build tools, toolchains (apt, apk and dnf names).
BUILD_PACKAGES = frozenset(
    {"build-essential", "build-base", "gcc", "g++", "gcc-c++", "cpp", "c++", "clang", "llvm",
     "lld", "make", "cmake", "ninja-build", "ninja", "samurai", "autoconf", "automake",
     "libtool", "pkg-config", "pkgconf", "pkgconfig", "bison", "flex", "gfortran", "swig",
     "patch", "binutils", "dpkg-dev", "git", "mercurial", "subversion", "python3-dev",
     "python-dev", "libpython3-dev", "python3-devel", "libc6-dev", "libc-dev", "musl-dev",
     "glibc-devel", "linux-headers", "linux-libc-dev", "kernel-headers", "golang", "golang-go",
     "go", "rustc", "cargo", "rust", "maven", "gradle", "default-jdk", "default-jdk-headless",
     "npm", "yarnpkg", "cython3", "python3-venv", "python3-wheel", "python3-setuptools"}
)  # fmt: skip
_BUILD_PATTERNS = re.compile(
    r"^(?:gcc|g\+\+|clang|llvm)-[\d.]+$|^openjdk-?\d+(?:-jdk(?:-headless)?)?$|"
    r"^linux-headers-.*$|^dotnet-sdk.*$"
)
# Development packages whose shared libraries every official Python image ships (CPython's
# own extension modules link them), so a slim Python image has them too.
PYTHON_RUNTIME_DEV = frozenset(
    {"libffi-dev", "libssl-dev", "zlib1g-dev", "libbz2-dev", "liblzma-dev", "libsqlite3-dev",
     "libreadline-dev", "libncurses-dev", "libncursesw5-dev", "uuid-dev", "libgdbm-dev",
     "libexpat1-dev", "openssl-dev", "zlib-dev", "bzip2-dev", "xz-dev", "sqlite-dev",
     "readline-dev", "ncurses-dev", "expat-dev"}
)  # fmt: skip
# Small runtime helpers other fixes add to whatever install a stage has (an init, CA
# certificates, time zones): when they share an install with build tools, the runtime stage
# installs them again on their own.
RUNTIME_HELPERS = frozenset({"dumb-init", "tini", "ca-certificates", "tzdata"})
# Libraries in libc (and libgcc/libstdc++, which every Debian and Alpine base carries).
_LIBC_LIBS = frozenset({"m", "pthread", "dl", "rt", "c", "util", "resolv", "stdc++", "gcc_s"})

_PIP = re.compile(r"^pip(?:3(?:\.\d+)?)?$")
_PYTHON = re.compile(r"^python(?:3(?:\.\d+)?)?$")
_PIP_UNCARRIED = {
    "--user": "installs into the user's home",
    "--prefix": "installs under a prefix of its own",
    "--target": "installs into a target directory of its own",
    "--root": "installs under another root",
    "-t": "installs into a target directory of its own",
    "-e": "installs in editable mode (the packages stay in the source tree)",
    "--editable": "installs in editable mode (the packages stay in the source tree)",
}
_NODE_TOOLS = frozenset({"yarn", "pnpm", "bun"})
_MAVEN = frozenset({"mvn", "mvnw"})
_GRADLE = frozenset({"gradle", "gradlew"})
_MAVEN_BUILD_GOALS = frozenset({"package", "install", "verify", "deploy"})
_GRADLE_BUILD_TASKS = frozenset(
    {"build", "assemble", "jar", "bootjar", "shadowjar", "installdist", "war", "bootwar"}
)
_C_COMPILERS = frozenset({"gcc", "g++", "cc", "c++", "clang", "clang++"})
_MAKERS = frozenset({"make", "gmake", "ninja"})


@dataclass(frozen=True)
class Output:
    """What a build command writes: ``path`` as written (relative to the command's directory
    unless absolute); ``shape`` says how much of it the runtime needs."""

    path: str
    # "file": the file itself; "dir": the whole directory; "tree": a directory holding the
    # result among other build files (the runtime takes the file its start command names).
    shape: str


@dataclass(frozen=True)
class Build:
    """One shell command that builds (or prepares a build of) an ecosystem's artefact."""

    ecosystem: str
    command: Command
    builds: bool  # False for preparation steps (dependency downloads, tests, restores)
    output: Output | None = None
    static: bool = False  # the output is certainly a static binary
    problem: str | None = None  # why the result cannot be carried to another stage


def _value(args: list[str], names: tuple[str, ...]) -> str | None:
    """The value of an option (``-o X``, ``-o=X``, ``--output X``), the last one given."""
    found: str | None = None
    for i, word in enumerate(args):
        if word in names:
            if i + 1 < len(args):
                found = args[i + 1]
            continue
        for name in names:
            if word.startswith((name + "=", name + ":")):
                found = word[len(name) + 1 :]
    return found


def _prefix_env(command: Command) -> dict[str, str]:
    """``VAR=value`` words in front of the program."""
    out: dict[str, str] = {}
    index = command.program_index()
    for word in command.words[: index if index is not None else len(command.words)]:
        name, eq, value = word.text.partition("=")
        if eq and name.isidentifier():
            out[name] = value
    return out


def classify(command: Command, env: dict[str, str]) -> Build | None:
    """The command as a build or build preparation of some ecosystem, or None.

    ``env``: the variables ENV set before it (for ``CGO_ENABLED``).
    """
    program = command.program or ""
    args = [w.text for w in command.args]
    if program == "go":
        return _go(command, args, {**env, **_prefix_env(command)})
    if program == "cargo":
        return _cargo(command, args, {**env, **_prefix_env(command)})
    if program == "npm":
        return _npm(command, args)
    if program in _NODE_TOOLS or program == "npx":
        return _node_tool(command, program, args)
    if _PIP.match(program) or (_PYTHON.match(program) and args[:2] == ["-m", "pip"]):
        pip_args = args[2:] if _PYTHON.match(program) else args
        return _pip(command, pip_args)
    if program in ("poetry", "pipenv", "pdm", "uv", "hatch", "pipx"):
        if any(a in ("install", "sync", "add") for a in args[:2]):
            return Build(
                "python",
                command,
                True,
                problem=f"`{program}` installs packages where the fix cannot follow them",
            )
        return None
    if program in _MAVEN:
        return _maven(command, args)
    if program in _GRADLE:
        return _gradle(command, args)
    if program == "dotnet":
        return _dotnet(command, args)
    if program in _C_COMPILERS:
        return _cc(command, args)
    if program in _MAKERS or (program == "cmake" and "--build" in args):
        if "install" in args:
            return Build(
                "native",
                command,
                True,
                problem="`make install` installs where the "
                "Makefile says, which the file does not show",
            )
        if program == "make" and any(a.startswith(("-C", "--directory")) for a in args):
            return Build("native", command, True, problem="`make -C` builds in another directory")
        return Build("native", command, True, Output(".", "tree"))
    return None


def _go(command: Command, args: list[str], env: dict[str, str]) -> Build | None:
    if not args:
        return None
    verb = args[0]
    if verb in ("mod", "get", "generate", "vet", "test", "version", "env", "list", "fmt"):
        return Build("go", command, False)
    if verb == "install":
        return Build(
            "go",
            command,
            True,
            problem="`go install` puts the binary in $GOBIN, named after its package",
        )
    if verb == "run":
        return Build("go", command, True, problem="`go run` builds and runs in one step")
    if verb != "build":
        return None
    out = _value(args[1:], ("-o", "--o"))
    static = env.get("CGO_ENABLED") == "0"
    if out is None:
        return Build(
            "go",
            command,
            True,
            problem="`go build` without `-o` names its output after the package",
        )
    if out.endswith("/") or any("..." in a for a in args[1:]):
        return Build("go", command, True, problem=f"`go build -o {out}` writes into a directory")
    return Build("go", command, True, Output(out, "file"), static=static)


def _cargo(command: Command, args: list[str], env: dict[str, str]) -> Build | None:
    if not args:
        return None
    verb = args[0]
    rest = args[1:]
    if verb in ("fetch", "test", "check", "clippy", "fmt", "vendor", "update", "generate-lockfile"):
        return Build("rust", command, False)
    if verb == "run":
        return Build("rust", command, True, problem="`cargo run` builds and runs in one step")
    if verb not in ("build", "install", "b"):
        return None
    if "CARGO_TARGET_DIR" in env or _value(rest, ("--target-dir",)) is not None:
        return Build("rust", command, True, problem="the target directory is set elsewhere")
    target = _value(rest, ("--target",))
    static = target is not None and target.endswith("-musl")
    if verb == "install":
        if _value(rest, ("--path",)) is None:
            return Build("rust", command, True, problem="`cargo install` of a published crate")
        root = _value(rest, ("--root",))
        if root is None:
            return Build(
                "rust",
                command,
                True,
                problem="`cargo install` without `--root` puts the binary in $CARGO_HOME/bin",
            )
        return Build("rust", command, True, Output(posixpath.join(root, "bin"), "tree"), static)
    profile = _value(rest, ("--profile",))
    if "--release" in rest or "-r" in rest:
        profile = "release"
    profile = {"dev": "debug", None: "debug"}.get(profile, profile)
    parts = ["target", target, profile] if target else ["target", profile]
    return Build("rust", command, True, Output("/".join(p for p in parts if p), "tree"), static)


def _npm(command: Command, args: list[str]) -> Build | None:
    if not args:
        return None
    verb = args[0]
    if verb in ("ci", "install", "i", "add", "clean-install"):
        if any(a in ("-g", "--global", "--location=global") for a in args):
            return Build("node", command, True, problem="`npm install -g` installs outside the app")
        return Build("node", command, True, Output(".", "dir"))
    if verb in ("run", "run-script") and len(args) > 1:
        return Build("node", command, args[1].startswith("build"), Output(".", "dir"))
    if verb in ("prune", "test", "t", "audit", "cache", "config", "set", "dedupe", "rebuild"):
        return Build("node", command, False)
    return None


def _node_tool(command: Command, program: str, args: list[str]) -> Build | None:
    if program == "npx":
        return Build("node", command, True, Output(".", "dir"))
    if not args or args[0] in ("install", "add", "build", "run") or args[0].startswith("--"):
        return Build(
            "node",
            command,
            True,
            problem=f"`{program}` keeps dev dependencies the fix cannot prune",
        )
    return None


def _pip(command: Command, args: list[str]) -> Build | None:
    if not args or args[0] not in ("install", "wheel"):
        return None
    for word in args[1:]:
        flag = word.split("=", 1)[0]
        if flag in _PIP_UNCARRIED:
            return Build("python", command, True, problem=f"`pip {flag}` {_PIP_UNCARRIED[flag]}")
    packages = [a for a in args[1:] if not a.startswith("-")]
    tools = {"pip", "setuptools", "wheel"}
    if args[0] == "install" and packages and all(package_name(p) in tools for p in packages):
        return Build("python", command, False)  # upgrading the installer itself
    return Build("python", command, True)


def _maven(command: Command, args: list[str]) -> Build | None:
    goals = [a.split(":")[-1] for a in args if not a.startswith("-")]
    if any(g in _MAVEN_BUILD_GOALS for g in goals):
        return Build("java", command, True, Output("target", "tree"))
    return Build("java", command, False)


def _gradle(command: Command, args: list[str]) -> Build | None:
    tasks = [a.rsplit(":", 1)[-1].lower() for a in args if not a.startswith("-")]
    if any(t in _GRADLE_BUILD_TASKS for t in tasks):
        return Build("java", command, True, Output("build", "tree"))
    return Build("java", command, False)


def _dotnet(command: Command, args: list[str]) -> Build | None:
    if not args:
        return None
    verb = args[0]
    if verb in ("restore", "test", "tool", "nuget", "--info", "--version"):
        return Build("dotnet", command, False)
    if verb == "run":
        return Build("dotnet", command, True, problem="`dotnet run` builds and runs in one step")
    if verb not in ("publish", "build"):
        return None
    out = _value(args[1:], ("-o", "--output"))
    if out is None:
        return Build(
            "dotnet",
            command,
            True,
            problem=f"`dotnet {verb}` without `-o` writes under the project's bin folder",
        )
    return Build("dotnet", command, True, Output(out, "dir"))


def _cc(command: Command, args: list[str]) -> Build | None:
    if "-c" in args or "-E" in args or "-S" in args:
        return Build("native", command, False)  # compiles objects for a later link
    if "--version" in args or "-v" in args:
        return None
    libs = [a[2:] or "?" for a in args if a.startswith("-l")]
    extra = [lib for lib in libs if lib not in _LIBC_LIBS]
    out = _value(args, ("-o",))
    if out is None:
        return Build("native", command, True, problem="the compiler writes `a.out` (no `-o`)")
    if extra:
        linked = ", ".join(f"`-l{lib}`" for lib in extra)
        return Build(
            "native",
            command,
            True,
            problem=f"it links {linked}, whose runtime packages the file does not show",
        )
    return Build("native", command, True, Output(out, "file"), static="-static" in args)


# --- Packages -----------------------------------------------------------------------------------


def package_name(spec: str) -> str:
    """``gcc`` for ``gcc=4:12.2.0-3``, ``gcc~12`` or ``gcc>=12``."""
    return re.split(r"[=<>~]", spec, maxsplit=1)[0].lower()


def is_build_package(name: str) -> bool:
    return name in BUILD_PACKAGES or _BUILD_PATTERNS.match(name) is not None


def is_dev_package(name: str) -> bool:
    """Headers of a library the runtime may still need (``libpq-dev``)."""
    return name.endswith(("-dev", "-devel")) and not is_build_package(name)


@dataclass(frozen=True)
class Packages:
    """A package-manager command: what it installs (``virtual``: apk's ``--virtual`` name) or
    removes."""

    manager: str
    verb: str
    names: tuple[str, ...]
    specs: tuple[str, ...] = ()  # as written, versions included
    virtual: str | None = None

    @property
    def installs(self) -> bool:
        return self.verb in ("install", "add", "in")

    @property
    def removes(self) -> bool:
        return self.verb in ("remove", "purge", "del", "autoremove", "erase")


def packages(command: Command) -> Packages | None:
    call = package_command(command)
    if call is None or call.verb_text is None:
        return None
    virtual = None
    words = [w.text for w in call.options]
    for i, word in enumerate(words):
        if word in ("-t", "--virtual") and i + 1 < len(words):
            virtual = words[i + 1]
        elif word.startswith("--virtual="):
            virtual = word.split("=", 1)[1]
    specs = tuple(call.packages())
    return Packages(call.manager, call.verb_text, tuple(map(package_name, specs)), specs, virtual)


# --- Lean runtime images ------------------------------------------------------------------------

_PY_VERSION = r"\d+(?:\.\d+){0,2}(?:(?:a|b|rc)\d+)?"
_NODE_VERSION = r"(?:\d+(?:\.\d+){0,2}|" + "|".join(sorted(NODE_CODENAMES)) + ")"
_JAVA_OS = r"(?:-(alpine|jammy|noble|focal))?"
_DOTNET_OS = (
    r"(-(?:bookworm-slim|bullseye-slim|trixie-slim|alpine(?:\d+\.\d+)?|jammy|noble|"
    r"azurelinux3\.0|cbl-mariner2\.0))?"
)


def same_repository(ref: ImageRef, name: str) -> str:
    """``name`` written the way ``ref`` names Docker Hub (``docker.io/library/debian``)."""
    written = ref.name
    official = official_name(ref)
    assert official is not None
    return written[: len(written) - len(official)] + name


def is_same_image(ref: ImageRef, runtime: str) -> bool:
    return runtime == f"{ref.name}:{ref.tag}"


def distro_runtime(ref: ImageRef) -> str | None:
    """The slim image of the distribution a base image is built on, when its tag says which:
    ``golang:1.22-bookworm`` -> ``debian:bookworm-slim``, ``rust:1-alpine3.20`` ->
    ``alpine:3.20``, ``debian:12`` -> ``debian:12-slim``; ubuntu and alpine map to themselves."""
    official = official_name(ref)
    tag = ref.tag
    if official is None or tag is None or tag == "latest":
        return None
    if official == "debian":
        if tag.endswith("-slim"):
            return f"{ref.name}:{tag}"
        if re.fullmatch(r"(?:\d+(?:\.\d+)?|[a-z]+)(?:-\d{8})?", tag) and "backports" not in tag:
            if tag in ("sid", "experimental", "testing", "unstable"):
                return None
            return same_repository(ref, f"debian:{tag}-slim")
        return None
    if official in ("ubuntu", "alpine"):
        return f"{ref.name}:{tag}"
    if official not in ("golang", "rust", "gcc", "buildpack-deps"):
        return None
    codename = tag.rsplit("-", 1)[-1]
    if codename in DEBIAN_CODENAMES:
        return same_repository(ref, f"debian:{codename}-slim")
    if codename in UBUNTU_CODENAMES:
        return same_repository(ref, f"ubuntu:{codename}")
    m = re.search(r"(?:^|-)alpine(\d+\.\d+)$", tag)
    if m:
        return same_repository(ref, f"alpine:{m.group(1)}")
    return None


def static_runtime(ref: ImageRef) -> str:
    """Distroless ``static`` for a static binary: the Debian 13 flavour for a trixie base, else
    Debian 12. The ``nonroot`` tag (uid 65532) is one of the documented ones."""
    tag = ref.tag or ""
    release = "debian13" if tag.endswith("trixie") else "debian12"
    return f"gcr.io/distroless/static-{release}:nonroot"


def python_runtime(ref: ImageRef) -> str | None:
    """``python:3.12`` -> ``python:3.12-slim``, ``python:3.12-bookworm`` ->
    ``python:3.12-slim-bookworm``; slim and alpine tags are lean already."""
    tag = ref.tag
    if official_name(ref) != "python" or tag is None:
        return None
    if re.fullmatch(rf"(?:{_PY_VERSION}-)?(?:slim(?:-[a-z]+)?|alpine(?:\d+\.\d+)?)", tag):
        return f"{ref.name}:{tag}"
    m = re.fullmatch(rf"({_PY_VERSION})(?:-([a-z]+))?", tag)
    if m is None or (m.group(2) and m.group(2) not in DEBIAN_CODENAMES):
        return None
    suffix = f"-{m.group(2)}" if m.group(2) else ""
    return f"{ref.name}:{m.group(1)}-slim{suffix}"


def node_runtime(ref: ImageRef) -> str | None:
    """``node:20`` -> ``node:20-slim``, ``node:20-bookworm`` -> ``node:20-bookworm-slim``;
    slim and alpine tags are lean already."""
    tag = ref.tag
    if official_name(ref) != "node" or tag is None:
        return None
    if re.fullmatch(rf"{_NODE_VERSION}(?:-[a-z]+)?-slim|{_NODE_VERSION}-alpine[\d.]*", tag):
        return f"{ref.name}:{tag}"
    m = re.fullmatch(rf"({_NODE_VERSION})(?:-([a-z]+))?", tag)
    if m is None or (m.group(2) and m.group(2) not in DEBIAN_CODENAMES):
        return None
    return f"{ref.name}:{tag}-slim"


def java_runtime(ref: ImageRef) -> str | None:
    """The Eclipse Temurin JRE of a JDK build image: ``maven:3.9-eclipse-temurin-21`` and
    ``gradle:8-jdk21`` -> ``eclipse-temurin:21-jre``, ``eclipse-temurin:21-jdk-jammy`` ->
    ``eclipse-temurin:21-jre-jammy``."""
    official = official_name(ref)
    tag = ref.tag or ""
    m: re.Match[str] | None = None
    if official == "maven":
        m = re.fullmatch(rf"(?:[\d.]+-)?eclipse-temurin-(\d+){_JAVA_OS}", tag)
    elif official == "gradle":
        m = re.fullmatch(rf"(?:[\d.]+-)?jdk(\d+){_JAVA_OS}", tag)
    elif official == "eclipse-temurin":
        m = re.fullmatch(rf"(\d+(?:[.\d]*_\d+)?|\d+(?:\.\d+)*)(?:-jdk)?{_JAVA_OS}", tag)
    if m is None:
        return None
    suffix = f"-{m.group(2)}" if m.group(2) else ""
    return same_repository(ref, f"eclipse-temurin:{m.group(1)}-jre{suffix}")


def dotnet_runtime(ref: ImageRef) -> str | None:
    """``mcr.microsoft.com/dotnet/sdk:8.0[-os]`` -> ``mcr.microsoft.com/dotnet/aspnet:8.0[-os]``
    (ASP.NET Core holds the .NET runtime too, so it runs either kind of app)."""
    if ref.registry != "mcr.microsoft.com" or ref.path != "dotnet/sdk":
        return None
    m = re.fullmatch(rf"(\d+\.\d+)(?:\.\d+)?{_DOTNET_OS}", ref.tag or "")
    if m is None:
        return None
    return f"mcr.microsoft.com/dotnet/aspnet:{m.group(1)}{m.group(2) or ''}"


def is_full_image(ref: ImageRef, official: str) -> bool:
    """An official ``python``/``node`` image of the full variant (compilers included)."""
    if official_name(ref) != official:
        return False
    tag = ref.tag or "latest"
    return not any(part in tag for part in ("slim", "alpine", "windows", "nanoserver"))


# Official images that hold no compiler of their own.
_PLAIN = frozenset(
    {"debian", "ubuntu", "alpine", "fedora", "centos", "rockylinux", "almalinux", "amazonlinux",
     "oraclelinux", "busybox"}
)  # fmt: skip


def is_plain_image(ref: ImageRef) -> bool:
    """An operating system image, or a slim/Alpine ``python`` or ``node``: no compiler unless
    the file installs one."""
    official = official_name(ref)
    if official in _PLAIN:
        return True
    return official in ("python", "node") and not is_full_image(ref, official)


def install_command(manager: str, specs: Sequence[str]) -> str | None:
    """A RUN's arguments installing ``specs`` the way the other fixes write it (apt, apk)."""
    listed = " ".join(specs)
    if manager == "apt":
        return (
            f"apt-get update && apt-get install -y --no-install-recommends {listed} "
            "&& rm -rf /var/lib/apt/lists/*"
        )
    if manager == "apk":
        return f"apk add --no-cache {listed}"
    return None
