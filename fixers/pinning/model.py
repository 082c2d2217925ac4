"""What the resolver answers, and the key an image is looked up under.

Rules never talk to a registry: a :class:`Resolver` runs before them and hands them a mapping
``resolution_key(image) -> Resolution`` (see ``docs/writing-rules.md``: checks are pure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from fixers.images import DOCKER_HUB, DOCKER_HUB_ALIASES, ImageRef

# Where Docker Hub's registry API actually lives.
DOCKER_HUB_API = "registry-1.docker.io"


@dataclass(frozen=True)
class Resolution:
    """The registry's answer for one ``registry/repository:tag``.

    ``digest`` is the digest of what the tag points to: the OCI index / Docker manifest list
    for multi-arch images, the manifest itself for single-arch ones. ``tag`` is the tag to
    write next to it (the original one, or for ``latest``/untagged the most specific version
    tag with the same digest). ``error`` says why nothing can be pinned; ``note`` explains a
    choice a reviewer may want to know about.
    """

    key: str
    digest: str | None = None
    tag: str | None = None
    error: str | None = None
    note: str | None = None
    # The error may pass (timeout, registry unavailable, budget spent): a later run may pin.
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.digest is not None and self.error is None

    def pinned_reference(self, image: ImageRef) -> str | None:
        """``name:tag@digest`` with the name as written (``python`` stays ``python``)."""
        if not self.ok or self.tag is None:
            return None
        return f"{image.name}:{self.tag}@{self.digest}"


def registry_host(image: ImageRef) -> str:
    """The canonical registry host: lower case, every Docker Hub alias as ``docker.io``."""
    host = (image.registry or DOCKER_HUB).lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def repository(image: ImageRef) -> str:
    """The repository as the registry API names it (``library/python`` for ``python``)."""
    if registry_host(image) == DOCKER_HUB and "/" not in image.path:
        return f"library/{image.path}"
    return image.path


def resolution_key(image: ImageRef) -> str:
    """``registry/repository:tag``, untagged meaning ``latest``: ``python`` ->
    ``docker.io/library/python:latest``."""
    return f"{registry_host(image)}/{repository(image)}:{image.tag or 'latest'}"


def api_host(host: str) -> str:
    """The host to send requests for a canonical registry host to."""
    return DOCKER_HUB_API if host == DOCKER_HUB else host


def needs_resolution(image: ImageRef) -> bool:
    """Already-pinned references and ``scratch`` are never looked up."""
    return image.digest is None and not image.is_scratch


class Resolver(Protocol):
    async def resolve_many(self, images: Iterable[ImageRef]) -> dict[str, Resolution]:
        """One :class:`Resolution` per unique ``resolution_key`` of the images that need one
        (pinned references and ``scratch`` are left out). Never raises for registry trouble:
        failures are ``Resolution.error``."""
        ...


class StaticResolver:
    """A resolver that answers from a fixed table (for tests and dry runs); unknown keys get
    the error ``not resolved``."""

    def __init__(self, table: Mapping[str, Resolution]) -> None:
        self.table = dict(table)

    async def resolve_many(self, images: Iterable[ImageRef]) -> dict[str, Resolution]:
        out: dict[str, Resolution] = {}
        for image in images:
            if not needs_resolution(image):
                continue
            key = resolution_key(image)
            out[key] = self.table.get(key) or Resolution(key, error="not resolved")
        return out
