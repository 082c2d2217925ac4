"""Deciding what kind of file a path is, from its name (and, later, a cheap sniff)."""

from __future__ import annotations

import fnmatch
import posixpath

DOCKERFILE_PATTERNS = ("Dockerfile", "*.Dockerfile", "Dockerfile.*", "Containerfile",
                       "Containerfile.*", "*.dockerfile", "dockerfile")  # fmt: skip
# Names that match the patterns but are not Dockerfiles.
NOT_DOCKERFILES = ("Dockerfile.dockerignore", "*.dockerignore", "*.md", "*.txt", "*.orig",
                   "*.rej", "*.swp", "*.bak", "*.sh", "*.yml", "*.yaml", "*.json")  # fmt: skip


def kind_of(path: str) -> str | None:
    name = posixpath.basename(path)
    if any(fnmatch.fnmatchcase(name, p) for p in NOT_DOCKERFILES):
        return None
    if any(fnmatch.fnmatchcase(name, p) for p in DOCKERFILE_PATTERNS):
        return "dockerfile"
    return None
