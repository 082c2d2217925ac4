"""CBP301: compose service images are pinned as ``name:tag@sha256:<index digest>``."""

from __future__ import annotations

from collections.abc import Iterator

from fixers.compose.kind import ComposeDoc
from fixers.model import Finding, FixSafety, Severity
from fixers.pinning.yaml_pin import pin_finding
from fixers.rule import Context, Rule, RuleDoc


class UnpinnedComposeImage(Rule[ComposeDoc]):
    doc = RuleDoc(
        code="CBP301",
        name="unpinned-compose-image",
        kind="compose",
        title="Pin compose service images to a version tag and its index digest",
        what=(
            "Flags `image:` values of compose services that use `latest` or no tag (warning), "
            "or a tag without a digest (info), and with the registry lookup rewrites them in "
            "place to `name:tag@sha256:<digest>`. Values with variables (`${TAG}`) are left "
            "alone, and so are services with `build:`, whose `image` names what compose "
            "builds."
        ),
        why=(
            "`docker compose pull` on another machine, or next month, gets whatever the tag "
            "points to then: the stack you tested is not the stack that runs, and `latest` "
            "can jump a major version of a database under its data. The digest makes the "
            "stack reproducible; the tag beside it keeps it readable and lets update bots "
            "bump both."
        ),
        before="services:\n  cache:\n    image: redis:latest\n",
        after="services:\n  cache:\n    image: redis:7.4.1@sha256:<index digest>\n",
        fix=FixSafety.SAFE,
        fix_notes=(
            "Safe: the pin names exactly what the tag points to now, as the registry reports "
            "it; nothing is rewritten when the registry cannot be asked."
        ),
        severity=Severity.WARNING,
        references=("https://docs.docker.com/reference/compose-file/services/#image",),
        peers={},
    )

    def check(self, ctx: Context[ComposeDoc]) -> Iterator[Finding]:
        for _, service in ctx.doc.items():
            if "build" in service:
                continue  # there `image` names the image compose builds, not one to pull
            finding = pin_finding(self, ctx, ctx.doc.stream, service, "image")
            if finding is not None:
                yield finding
