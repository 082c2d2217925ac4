"""The one decision every pinning rule makes (Dockerfile, Kubernetes, compose), kept pure.

Given an image reference as written and what the resolver said, say what is wrong, how bad it
is, and what to write instead, if anything.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from fixers.facts import Facts
from fixers.images import ImageRef
from fixers.model import Severity
from fixers.pinning.model import resolution_key


@dataclass(frozen=True)
class PinVerdict:
    message: str
    severity: Severity
    replacement: str | None  # the new reference text, when the registry gave us one
    note: str | None  # what a reviewer should know (a resolver note or why there is no fix)


def ignored_image(image: ImageRef, patterns: tuple[str, ...]) -> bool:
    """``pin-ignore`` patterns match the name as written or the canonical key."""
    names = (image.raw, image.name, resolution_key(image))
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def verdict(image: ImageRef, facts: Facts, what: str) -> PinVerdict | None:
    """None when the reference is fine (pinned, scratch, ignored, or tags-only by config)."""
    if image.is_scratch or image.is_pinned or ignored_image(image, facts.pin_ignore):
        return None
    if image.is_latest:
        message = f"{what} `{image.raw}` uses the moving `latest` tag"
        severity = Severity.WARNING
    elif image.is_untagged:
        message = f"{what} `{image.raw}` has no tag (it means `latest`)"
        severity = Severity.WARNING
    elif facts.pin_digests:
        message = f"{what} `{image.raw}` is not pinned by digest: the tag can move"
        severity = Severity.INFO
    else:
        return None
    resolution = facts.resolution(image)
    if resolution is None:
        reason = (
            "not looked up: `container-bp fix` asks the registry"
            if not facts.resolved
            else "not resolved"
        )
        return PinVerdict(message, severity, None, reason)
    replacement = resolution.pinned_reference(image)
    if replacement is None:
        return PinVerdict(message, severity, None, f"cannot pin: {resolution.error}")
    if not facts.pin_digests and resolution.tag is not None:
        # Tags only: replace a moving tag with the version tag, no digest.
        replacement = f"{image.name}:{resolution.tag}"
        if replacement == image.raw:
            return PinVerdict(message, severity, None, resolution.note)
    return PinVerdict(message, severity, replacement, resolution.note)
