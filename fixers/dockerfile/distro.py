"""What a stage's image is made of: its package manager and user tools, from what it shows.

Evidence comes first from the stage's own RUN commands (and those of the stages it builds on),
then from well-known base image names. Unknown stays unknown: fixers that need a package
manager report instead of guessing.
"""

from __future__ import annotations

import re

from fixers.dockerfile.commands import Command, stage_commands
from fixers.dockerfile.packages import PROGRAMS, PackageCommand, package_command
from fixers.dockerfile.parser import Stage, lineage
from fixers.images import parse_image

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
# Windows base images (in the reference, tag included): Nano Server, Server Core, the
# `mcr.microsoft.com/windows*` images and .NET Framework (Windows only).
_WINDOWS_IMAGES = (
    "nanoserver", "servercore", "windows/", "/windows", "dotnet/framework", "dotnet-framework",
)  # fmt: skip
# Shells of a `SHELL` instruction that only exist on Windows.
_WINDOWS_SHELLS = frozenset({"cmd", "cmd.exe", "powershell", "powershell.exe", "pwsh.exe"})


def package_install(command: Command) -> PackageCommand | None:
    """The command as a package installation (``apt-get install``, ``apk add``...), if it is one.

    Its ``operands`` are the packages, option values skipped
    (``fixers.dockerfile.packages.package_command``).
    """
    call = package_command(command)
    return call if call is not None and call.installs else None


def root_image(stage: Stage) -> str:
    """The external image a stage ultimately builds on (through ``FROM <stage>``)."""
    return lineage(stage)[0].base


def has_no_package_manager(stage: Stage) -> bool:
    return has_no_package_manager_name(root_image(stage))


def package_manager(stage: Stage) -> str | None:
    """apt, apk, dnf, microdnf, yum, zypper or tdnf; None when not known."""
    for s in reversed(lineage(stage)):  # the stage's own commands first
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


def is_windows(stage: Stage) -> bool:
    """The stage builds a Windows image: a Windows base image (``_WINDOWS_IMAGES``), or a
    ``SHELL`` in its lineage that only Windows has (``cmd``, ``powershell``, a ``C:\\`` path).
    """
    base = root_image(stage).lower()
    if any(marker in base for marker in _WINDOWS_IMAGES):
        return True
    for s in lineage(stage):
        for ins in s.instructions:
            if ins.keyword == "SHELL" and ins.json_args and _windows_shell(ins.json_args[0]):
                return True
    return False


def _windows_shell(program: str) -> bool:
    name = re.split(r"[\\/]", program)[-1].lower()
    return name in _WINDOWS_SHELLS or re.match(r"^[A-Za-z]:\\", program) is not None
