"""In-file ignore comments, in our syntax and in the syntaxes users already have.

- ``# container-bp ignore=CBP101,missing-init reason`` directly above an instruction;
- ``# container-bp ignore-file=CBP101`` anywhere: the whole file;
- ``# hadolint ignore=DL3006,DL3008`` above an instruction, ``# hadolint global ignore=...``;
- ``# checkov:skip=CKV_DOCKER_3:reason``: checkov applies these to the whole file;
- the BuildKit directive ``# check=skip=JSONArgsRecommended,SecretsUsedInArgOrEnv`` (``all``
  skips every rule with a BuildKit peer): the whole file.
"""

from __future__ import annotations

import re

from fixers.dockerfile.parser import Comment, Dockerfile
from fixers.ignorecomments import file_ids, line_ids, normalise, split_ids

_HADOLINT = re.compile(r"^hadolint\s+ignore\s*=\s*([\w,\s]+)$", re.IGNORECASE)
_HADOLINT_GLOBAL = re.compile(r"^hadolint\s+global\s+ignore\s*=\s*([\w,\s]+)$", re.IGNORECASE)
_CHECKOV = re.compile(r"^checkov:skip=([A-Z0-9_]+)", re.IGNORECASE)


def _hadolint_ids(group: str) -> set[str]:
    # hadolint separates its codes by commas; be lenient with spaces.
    return {part.strip() for part in re.split(r"[,\s]+", group) if part.strip()}


def file_wide(comments: list[Comment]) -> frozenset[str]:
    found: set[str] = set()
    for c in comments:
        found |= file_ids(c.text)
        for pattern in (_HADOLINT_GLOBAL, _CHECKOV):
            m = pattern.match(c.text)
            if m:
                found |= _hadolint_ids(m.group(1))
    return normalise(found)


def buildkit_skips(directives: dict[str, str]) -> frozenset[str]:
    """Check names from ``# check=skip=A,B;error=true`` (BuildKit's build-check directive)."""
    found: set[str] = set()
    for part in directives.get("check", "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "skip":
            found |= split_ids(value)
    return normalise(found)


def at_line(doc: Dockerfile, line: int) -> frozenset[str]:
    found: set[str] = set(file_wide(doc.comments)) | set(buildkit_skips(doc.directives))
    for ins in doc.instructions:
        if ins.line <= line <= ins.end_line:
            for c in doc.comments_before(ins):
                found |= line_ids(c.text)
                m = _HADOLINT.match(c.text)
                if m:
                    found |= _hadolint_ids(m.group(1))
            break
    return normalise(found)
