"""Image references as Docker reads them: ``[registry[:port]/]path[:tag][@digest]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
# Names Docker Hub is written under; all of them mean ``docker.io``.
DOCKER_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io"})
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True)
class ImageRef:
    raw: str
    registry: str | None  # None: Docker Hub, as written without a host
    path: str
    tag: str | None
    digest: str | None

    @property
    def is_scratch(self) -> bool:
        return self.registry is None and self.path == "scratch"

    @property
    def is_latest(self) -> bool:
        return self.tag == "latest"

    @property
    def is_untagged(self) -> bool:
        return self.tag is None and self.digest is None

    @property
    def is_pinned(self) -> bool:
        return self.digest is not None

    @property
    def name(self) -> str:
        """The reference without tag and digest, as written."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def canonical_name(self) -> str:
        """``docker.io/library/python`` for ``python``: the form registries are queried with."""
        if self.registry is None or self.registry in DOCKER_HUB_ALIASES:
            path = self.path if "/" in self.path else f"library/{self.path}"
            return f"{DOCKER_HUB}/{path}"
        return f"{self.registry}/{self.path}"

    @property
    def short_name(self) -> str:
        """The last path component, e.g. ``python`` for ``docker.io/library/python``."""
        return self.path.rsplit("/", 1)[-1]


def is_docker_hub(ref: ImageRef) -> bool:
    """The image lives on Docker Hub (no registry host, or one of Docker Hub's names)."""
    return ref.registry is None or ref.registry.lower() in DOCKER_HUB_ALIASES


def official_name(ref: ImageRef) -> str | None:
    """``python`` for an official Docker Hub image (``python``, ``library/python``,
    ``docker.io/library/python``); None for any other image."""
    if not is_docker_hub(ref):
        return None
    path = ref.path.removeprefix("library/")
    return None if "/" in path else path


def parse_image(raw: str) -> ImageRef | None:
    """Parse a reference; None when it is not a valid reference (e.g. holds an unexpanded ``$``)."""
    text = raw.strip()
    if not text or any(c in text for c in "${} \t\"'"):
        return None
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        return None
    tag: str | None = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            return None
    registry: str | None = None
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, name = first, rest
    if not name or not all(_COMPONENT.match(c) for c in name.split("/")):
        return None
    return ImageRef(raw=text, registry=registry, path=name, tag=tag, digest=digest or None)
