"""What well-known base images set up that a Dockerfile does not show: which official Docker Hub
image a stage starts from, and whether that image sets an ENTRYPOINT.

Shared by CBP102 (a new ENTRYPOINT would replace the base image's) and CBP103 (under the base
image's ENTRYPOINT, a CMD in exec form hands it other arguments than the shell form did). An
image not listed here may set an ENTRYPOINT: rules treat it as unknown.
"""

from __future__ import annotations

from fixers.dockerfile.distro import root_image
from fixers.dockerfile.parser import Stage
from fixers.images import official_name, parse_image

# Official Docker Hub images known to set no ENTRYPOINT (and `scratch`, which sets nothing).
NO_ENTRYPOINT = frozenset(
    {"debian", "ubuntu", "alpine", "python", "pypy", "golang", "ruby", "perl", "rust",
     "openjdk", "amazoncorretto", "fedora", "centos", "rockylinux", "almalinux", "amazonlinux",
     "oraclelinux", "buildpack-deps", "gcc", "busybox", "scratch"}
)  # fmt: skip
# Official images whose ENTRYPOINT is a script that ends in `exec "$@"`: it runs the CMD as
# given, except that it puts `node`/`php` in front of a first word that is an option (and,
# for node, one that is no command: `CMD server.js` runs `node server.js`).
PASS_THROUGH_ENTRYPOINT = {"node": "docker-entrypoint.sh", "php": "docker-php-entrypoint"}


def official_image(stage: Stage) -> str | None:
    """``python`` when the stage builds (through ``FROM <stage>``) on Docker Hub's official
    ``python`` image; None for other images and references holding unknown ARGs."""
    ref = parse_image(root_image(stage))
    return official_name(ref) if ref is not None else None


def sets_no_entrypoint(stage: Stage) -> bool:
    """The base image is known to set no ENTRYPOINT."""
    return official_image(stage) in NO_ENTRYPOINT


def pass_through_entrypoint(stage: Stage) -> str | None:
    """The base image's ENTRYPOINT script when it is known to ``exec "$@"``, else None."""
    return PASS_THROUGH_ENTRYPOINT.get(official_image(stage) or "")
