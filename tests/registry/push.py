"""Push real content to a registry over the distribution API (no Docker, no skopeo).

Layers and configs are random bytes, so every session pushes images nobody else has; the
manifests are built here and their exact bytes are kept, so tests can compare digests with
``sha256(bytes)``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from fixers.pinning.client import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Pushed:
    """A manifest (or index) as pushed: its exact bytes, digest and media type; for an
    index, its children by architecture."""

    body: bytes
    media_type: str
    children: tuple[tuple[str, Pushed], ...] = ()

    @property
    def digest(self) -> str:
        return sha256(self.body)

    def child(self, arch: str) -> Pushed:
        return dict(self.children)[arch]

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.body)} | (
            extra
        )


class Pusher:
    """``auth(repo)`` returns the extra headers (Authorization) for a push to ``repo``."""

    def __init__(self, base_url: str, auth: Callable[[str], dict[str, str]] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth or (lambda repo: {})
        self.http = httpx.Client(timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def _check(self, resp: httpx.Response, what: str) -> None:
        if resp.status_code >= 300:
            raise RuntimeError(f"push {what}: HTTP {resp.status_code} {resp.text[:300]}")

    def blob(self, repo: str, data: bytes, media_type: str) -> dict[str, Any]:
        digest = sha256(data)
        resp = self.http.post(f"{self.base_url}/v2/{repo}/blobs/uploads/", headers=self.auth(repo))
        self._check(resp, f"upload start {repo}")
        location = resp.headers["Location"]
        if location.startswith("/"):
            location = self.base_url + location
        # The Location already has a query: append the digest, do not replace the query.
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        headers = {"Content-Type": "application/octet-stream"} | self.auth(repo)
        self._check(self.http.put(location, content=data, headers=headers), f"blob {repo}")
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def manifest(self, repo: str, ref: str, pushed: Pushed) -> None:
        headers = {"Content-Type": pushed.media_type} | self.auth(repo)
        resp = self.http.put(
            f"{self.base_url}/v2/{repo}/manifests/{ref}", content=pushed.body, headers=headers
        )
        self._check(resp, f"manifest {repo}:{ref}")
        if resp.headers.get("Docker-Content-Digest") not in (None, pushed.digest):
            raise RuntimeError(f"registry stored {repo}:{ref} under another digest")

    def tag(self, repo: str, pushed: Pushed, tags: Iterable[str]) -> None:
        for tag in tags:
            self.manifest(repo, tag, pushed)

    def image(self, repo: str, *, oci: bool = True, arch: str = "amd64") -> Pushed:
        """A single-platform manifest with a random layer, pushed by digest."""
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [sha256(os.urandom(16))]},
            }
        ).encode()
        config_desc = self.blob(repo, config, OCI_CONFIG if oci else DOCKER_CONFIG)
        layer_desc = self.blob(repo, os.urandom(256), OCI_LAYER if oci else DOCKER_LAYER)
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": media_type,
                "config": config_desc,
                "layers": [layer_desc],
            },
            indent=3,  # any formatting: the digest is of these exact bytes
        ).encode()
        pushed = Pushed(body, media_type)
        self.manifest(repo, pushed.digest, pushed)
        return pushed

    def index(
        self, repo: str, *, oci: bool = True, arches: Iterable[str] = ("amd64", "arm64")
    ) -> Pushed:
        """An OCI index (or Docker manifest list) over fresh per-platform manifests."""
        children = tuple((arch, self.image(repo, oci=oci, arch=arch)) for arch in arches)
        media_type = OCI_INDEX if oci else DOCKER_MANIFEST_LIST
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": media_type,
                "manifests": [
                    child.descriptor(platform={"architecture": arch, "os": "linux"})
                    for arch, child in children
                ],
            }
        ).encode()
        pushed = Pushed(body, media_type, children)
        self.manifest(repo, pushed.digest, pushed)
        return pushed
