"""Deciding what kind of file a path is, from its name (and, later, a cheap sniff)."""

from __future__ import annotations

import fnmatch
import posixpath
import re

DOCKERFILE_PATTERNS = ("Dockerfile", "*.Dockerfile", "Dockerfile.*", "Containerfile",
                       "Containerfile.*", "*.dockerfile", "dockerfile")  # fmt: skip
# Names that match the patterns but are not Dockerfiles.
NOT_DOCKERFILES = ("Dockerfile.dockerignore", "*.dockerignore", "*.md", "*.txt", "*.orig",
                   "*.rej", "*.swp", "*.bak", "*.sh", "*.yml", "*.yaml", "*.json")  # fmt: skip


COMPOSE_PATTERNS = ("compose.yml", "compose.yaml", "docker-compose*.yml", "docker-compose*.yaml",
                    "compose.*.yml", "compose.*.yaml")  # fmt: skip
_API_VERSION = re.compile(r"^\s*-?\s*apiVersion\s*:", re.MULTILINE)
_KIND = re.compile(r"^\s*-?\s*kind\s*:", re.MULTILINE)
_SERVICES = re.compile(r"^services\s*:", re.MULTILINE)


def is_compose_name(path: str) -> bool:
    name = posixpath.basename(path)
    return any(fnmatch.fnmatchcase(name, p) for p in COMPOSE_PATTERNS)


def sniff_yaml(path: str, text: str) -> str | None:
    """``compose`` or ``k8s`` for YAML that looks like one; None for other YAML (CI configs,
    values files...), which is never touched."""
    if is_compose_name(path):
        return "compose"
    if _API_VERSION.search(text) and _KIND.search(text):
        return "k8s"
    if _SERVICES.search(text) and ("image:" in text or "build:" in text):
        return "compose"
    return None


def kind_of(path: str) -> str | None:
    name = posixpath.basename(path)
    if name.endswith((".yml", ".yaml")):
        return "yaml"  # decided by sniff_yaml once the text is read
    if any(fnmatch.fnmatchcase(name, p) for p in NOT_DOCKERFILES):
        return None
    if any(fnmatch.fnmatchcase(name, p) for p in DOCKERFILE_PATTERNS):
        return "dockerfile"
    return None
