"""CBP101: base images must name a version, not ``latest`` or nothing."""

from __future__ import annotations

from collections.abc import Iterator

from fixers.dockerfile.parser import Dockerfile
from fixers.images import parse_image
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc


class UnpinnedBaseImage(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP101",
        name="unpinned-base-image",
        kind="dockerfile",
        title="Pin base images to a version tag and digest",
        what=(
            "Flags `FROM` lines whose image has no tag or uses `latest`. Stage references "
            "(`FROM build`), `scratch` and images built from an `ARG` without a default are "
            "not flagged; the last are reported as unknown, never as untagged."
        ),
        why=(
            "`latest` and untagged images change under you: the same Dockerfile builds a "
            "different image next week, a rebuild can pull in a new major version, and nobody "
            "can say which base a running container was built from. A version tag documents "
            "intent; adding the index digest (`name:tag@sha256:...`) makes the build "
            "reproducible while keeping the tag for people and update bots."
        ),
        before="FROM python\nFROM node:latest AS build\n",
        after=(
            "FROM python:3.12.7-slim-bookworm@sha256:<index digest>\n"
            "FROM node:22.11.0@sha256:<index digest> AS build\n"
        ),
        fix=FixSafety.NONE,
        fix_notes=(
            "Detect-only here: choosing a tag needs the registry. The registry-backed pinning "
            "fixer resolves the multi-arch index digest and the most specific matching tag; "
            "it never invents a tag that does not exist."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/best-practices/#pin-base-image-versions",
            "https://github.com/hadolint/hadolint/wiki/DL3006",
            "https://github.com/hadolint/hadolint/wiki/DL3007",
        ),
        peers={"hadolint": ("DL3006", "DL3007"), "checkov": ("CKV_DOCKER_7",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        for stage in ctx.doc.stages:
            ins = stage.from_
            if stage.parent is not None or stage.is_scratch:
                continue
            if not stage.base_known:
                continue  # an ARG with no default: unknown, not untagged
            image = parse_image(stage.base)
            if image is None:
                continue
            if image.is_latest and image.digest is None:
                message = f"base image `{image.raw}` uses the moving `latest` tag"
            elif image.is_untagged:
                message = f"base image `{image.raw}` has no tag (it means `latest`)"
            else:
                continue
            yield self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                suggestion="pin a version tag and its index digest: `name:tag@sha256:...`",
            )
