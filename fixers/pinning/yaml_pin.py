"""Pinning an ``image:`` value in a YAML file (Kubernetes or compose) with a text edit."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from fixers.images import parse_image
from fixers.model import Edit, Finding
from fixers.pinning.pin import verdict
from fixers.rule import Context, Rule
from fixers.yamldoc import YamlStream, value_span


def image_line(parent: CommentedMap) -> int:
    try:
        return int(parent.lc.value("image")[0]) + 1
    except (KeyError, TypeError):
        return int(parent.lc.line) + 1


def pin_finding(
    rule: Rule[Any], ctx: Context[Any], stream: YamlStream, parent: CommentedMap, what: str
) -> Finding | None:
    """A finding for ``parent["image"]``, fixable in place when the registry answered.

    Values with template or variable syntax (``{{ }}``, ``${TAG}``) are not references yet:
    they are left alone.
    """
    raw = parent.get("image")
    if not isinstance(raw, str):
        return None
    image = parse_image(raw)
    if image is None:
        return None
    result = verdict(image, ctx.facts, what)
    if result is None:
        return None
    span = value_span(stream, parent, "image")
    edits = []
    if result.replacement is not None and span is not None:
        edits = [Edit(span.start, span.end, result.replacement)]
    message = result.message + (f" ({result.note})" if result.note else "")
    return rule.finding(
        ctx,
        image_line(parent),
        message,
        edits=edits,
        severity=result.severity,
        fix_description=f"pin `{image.raw}` as `{result.replacement}`",
        suggestion=None
        if edits
        else "pin a version tag and its index digest: `name:tag@sha256:...`",
    )
