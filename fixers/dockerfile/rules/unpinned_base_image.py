"""CBP101: base images are pinned as ``name:tag@sha256:<index digest>``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fixers.dockerfile.parser import Dockerfile, Instruction, Stage
from fixers.images import parse_image
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.pinning.pin import verdict
from fixers.rule import Context, Rule, RuleDoc

_WHOLE_ARG = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


def _word_span(ins: Instruction) -> tuple[int, int]:
    """Logical indices of the first argument word (the image) of a FROM."""
    text = ins.logical
    start = ins.args_index
    while start < len(text) and text[start] in " \t":
        start += 1
    end = start
    while end < len(text) and text[end] not in " \t":
        end += 1
    return start, end


def _arg_default_span(doc: Dockerfile, name: str) -> tuple[int, int] | None:
    """File offsets of the default value of a global ``ARG name=value`` (quotes excluded)."""
    span = None
    for ins in doc.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword != "ARG":
            continue
        for m in re.finditer(
            r"(?:^|[ \t])([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|\S*)", ins.logical
        ):
            if m.group(1) != name:
                continue
            start, end = m.start(2), m.end(2)
            if m.group(2)[:1] in "\"'":
                start, end = start + 1, end - 1
            if end > start:
                span = (ins.offset(start), ins.offset(end - 1) + 1)
    return span


class UnpinnedBaseImage(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP101",
        name="unpinned-base-image",
        kind="dockerfile",
        title="Pin base images to a version tag and its index digest",
        what=(
            "Flags `FROM` images that use `latest` or no tag (warning), and tagged images "
            "without a digest (info; `pin-digests: false` turns that off). With the registry "
            "lookup (`container-bp fix`, not `--offline`) it rewrites them to "
            "`name:tag@sha256:<digest>`, where the digest is the multi-arch index (manifest "
            "list) the tag points to, and `latest` becomes the most specific version tag with "
            "the same digest. Stage references (`FROM build`) and `scratch` are left alone; a "
            "`FROM ${ARG}` whose ARG has no default is reported as unknown, never as untagged; "
            "one whose ARG has a default is pinned in the `ARG` line."
        ),
        why=(
            "`latest` and untagged images change under you: the same Dockerfile builds a "
            "different image next week, a rebuild can pull in a new major version, and nobody "
            "can say which base a running container was built from. A tag can also be moved "
            "to other content. The digest makes the build reproducible; the tag stays beside "
            "it for people and for update bots (Renovate, Dependabot), which bump both "
            "together in a reviewed pull request. Pinning the index digest, never a "
            "per-architecture child, keeps the image working on amd64 and arm64 alike."
        ),
        before="FROM python\nFROM node:22.11.0 AS build\n",
        after=(
            "FROM python:3.13.1@sha256:<index digest>\n"
            "FROM node:22.11.0@sha256:<index digest> AS build\n"
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "Safe: the pinned reference names exactly the image the tag points to today, as "
            "the registry reports it (`Docker-Content-Digest` of the index). Nothing is "
            "rewritten when the registry cannot be asked (offline, unauthorized, not found, "
            "time budget): the finding says why. No tag is ever invented: `latest` is pinned "
            "as `latest@sha256:...` when no version tag shares its digest. Images matching "
            "`pin-ignore` in the config are left alone."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/best-practices/#pin-base-image-versions",
            "https://github.com/opencontainers/image-spec/blob/main/image-index.md",
            "https://github.com/hadolint/hadolint/wiki/DL3006",
            "https://github.com/hadolint/hadolint/wiki/DL3007",
        ),
        peers={"hadolint": ("DL3006", "DL3007"), "checkov": ("CKV_DOCKER_7",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        for stage in ctx.doc.stages:
            if stage.parent is not None or stage.is_scratch:
                continue
            finding = self._check_stage(ctx, stage)
            if finding is not None:
                yield finding

    def _check_stage(self, ctx: Context[Dockerfile], stage: Stage) -> Finding | None:
        ins = stage.from_
        start, end = _word_span(ins)
        written = ins.logical[start:end]
        if not stage.base_known:
            return self.finding(
                ctx,
                ins.line,
                f"base image `{written}` is unknown: an ARG in it has no default, so it "
                "cannot be checked or pinned",
                end_line=ins.end_line,
                severity=Severity.INFO,
                suggestion="give the ARG a pinned default: `ARG BASE=name:tag@sha256:...`",
            )
        image = parse_image(stage.base)
        if image is None:
            return None
        result = verdict(image, ctx.facts, "base image")
        if result is None:
            return None
        edits: list[Edit] = []
        if result.replacement is not None:
            whole = _WHOLE_ARG.match(written)
            if "$" not in written and end > start:
                edits = [Edit(ins.offset(start), ins.offset(end - 1) + 1, result.replacement)]
            elif whole:
                span = _arg_default_span(ctx.doc, whole.group(1) or whole.group(2))
                if span is not None:
                    edits = [Edit(span[0], span[1], result.replacement)]
        message = result.message
        if result.note:
            message += f" ({result.note})"
        return self.finding(
            ctx,
            ins.line,
            message,
            end_line=ins.end_line,
            edits=edits,
            severity=result.severity,
            fix_description=f"pin `{image.raw}` as `{result.replacement}`",
            suggestion=None
            if edits
            else "pin a version tag and its index digest: `name:tag@sha256:...`",
        )
