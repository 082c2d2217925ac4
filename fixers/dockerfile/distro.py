"""What a stage's image is made of: its package manager and user tools, from what it shows.

Evidence comes first from the stage's own RUN commands (and those of the stages it builds on),
then from well-known base image names. Unknown stays unknown: fixers that need a package
manager report instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fixers.dockerfile.commands import Command, stage_commands
from fixers.dockerfile.parser import Stage
from fixers.images import parse_image

# Program name -> package manager family.
PROGRAMS = {
    "apt-get": "apt", "apt": "apt", "apk": "apk", "dnf": "dnf", "microdnf": "microdnf",
    "yum": "yum", "zypper": "zypper", "tdnf": "tdnf",
}  # fmt: skip
INSTALL_VERBS = {
    "apt": ("install",), "apk": ("add",), "dnf": ("install",), "microdnf": ("install",),
    "yum": ("install",), "zypper": ("install", "in"), "tdnf": ("install",),
}  # fmt: skip

# Image names (last path component) known to be Debian or Ubuntu based unless tagged alpine.
_DEBIAN_FAMILY = frozenset(
    {"debian", "ubuntu", "python", "node", "golang", "ruby", "php", "perl", "rust", "openjdk",
     "eclipse-temurin", "maven", "gradle", "buildpack-deps", "nginx", "httpd", "postgres",
     "redis", "mysql", "mariadb", "elixir", "erlang", "haskell", "julia", "r-base", "swift",
     "gcc", "clojure", "composer", "wordpress", "tomcat", "jetty", "neurodebian", "sdk",
     "aspnet", "runtime", "runtime-deps"}
)  # fmt: skip
_RHEL_FAMILY = {
    "fedora": "dnf", "centos": "yum", "rockylinux": "dnf", "almalinux": "dnf",
    "amazonlinux": "yum", "oraclelinux": "dnf", "ubi": "dnf", "ubi8": "dnf", "ubi9": "dnf",
    "ubi-minimal": "microdnf", "ubi8-minimal": "microdnf", "ubi9-minimal": "microdnf",
}  # fmt: skip
# Images with no shell or package manager at all.
_NO_PACKAGES = ("distroless", "chiseled", "scratch", "nanoserver", "windowsservercore")


@dataclass(frozen=True)
class PackageInstall:
    manager: str
    command: Command
    verb_index: int  # index in command.words of "install"/"add"

    @property
    def packages(self) -> list[str]:
        return [w.text for w in self.command.words[self.verb_index + 1 :]
                if not w.text.startswith("-")]  # fmt: skip


def package_install(command: Command) -> PackageInstall | None:
    """The command as a package installation, if it is one."""
    program = command.program
    manager = PROGRAMS.get(program or "")
    if manager is None:
        return None
    start = command.program_index()
    assert start is not None
    for i in range(start + 1, len(command.words)):
        text = command.words[i].text
        if text.startswith("-"):
            continue
        if text in INSTALL_VERBS[manager]:
            return PackageInstall(manager, command, i)
        return None
    return None


def _lineage(stage: Stage) -> list[Stage]:
    chain = [stage]
    parent = stage.parent
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = parent.parent
    return chain


def root_image(stage: Stage) -> str:
    """The external image a stage ultimately builds on (through ``FROM <stage>``)."""
    return _lineage(stage)[-1].base


def has_no_package_manager(stage: Stage) -> bool:
    return has_no_package_manager_name(root_image(stage))


def package_manager(stage: Stage) -> str | None:
    """apt, apk, dnf, microdnf, yum, zypper or tdnf; None when not known."""
    for s in _lineage(stage):
        for _, command in stage_commands(s.instructions):
            manager = PROGRAMS.get(command.program or "")
            if manager:
                return manager
    return _manager_from_image(root_image(stage))


def _manager_from_image(base: str) -> str | None:
    image = parse_image(base)
    if image is None or has_no_package_manager_name(base):
        return None
    name = image.short_name
    tag = (image.tag or "").lower()
    if name == "alpine" or "alpine" in tag:
        return "apk"
    if name in _RHEL_FAMILY:
        return _RHEL_FAMILY[name]
    if "mcr.microsoft.com" in (image.registry or "") and ("cbl-mariner" in image.path
                                                         or "azurelinux" in tag):  # fmt: skip
        return "tdnf"
    if name in _DEBIAN_FAMILY:
        return "apt"
    return None


def has_no_package_manager_name(base: str) -> bool:
    lowered = base.lower()
    return lowered == "scratch" or any(marker in lowered for marker in _NO_PACKAGES)


def user_tool(manager: str | None) -> str | None:
    """How to create a user: ``useradd`` (shadow) or ``adduser`` (busybox) or None."""
    if manager == "apk":
        return "adduser"
    if manager in ("apt", "dnf", "yum", "microdnf", "zypper", "tdnf"):
        return "useradd"
    return None
