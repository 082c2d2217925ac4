"""CBP111: packages come up to date through the base image, not an upgrade inside the build."""

from __future__ import annotations

from collections.abc import Iterator

from fixers.dockerfile.commands import instruction_commands
from fixers.dockerfile.packages import column_of, line_of, package_command, runs
from fixers.dockerfile.parser import Dockerfile
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

# Verbs that upgrade every installed package when no package is named.
UPGRADE_VERBS: dict[str, frozenset[str]] = {
    "apt": frozenset({"upgrade", "dist-upgrade", "full-upgrade"}),
    "apk": frozenset({"upgrade"}),
    "dnf": frozenset(
        {"upgrade", "update", "upgrade-minimal", "update-minimal", "distro-sync", "distrosync",
         "dist-upgrade"}
    ),
    "zypper": frozenset({"up", "update", "dup", "dist-upgrade"}),
}  # fmt: skip
UPGRADE_VERBS["yum"] = UPGRADE_VERBS["microdnf"] = UPGRADE_VERBS["tdnf"] = UPGRADE_VERBS["dnf"]


class AptUpgrade(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP111",
        name="apt-upgrade",
        kind="dockerfile",
        title="Get package updates from a newer base image, not an upgrade in the build",
        what=(
            "Flags whole-system upgrades in RUN lines and heredoc scripts: `apt-get upgrade`, "
            "`dist-upgrade`, `full-upgrade` (also `apt`), `apk upgrade`, `dnf`/`yum`/"
            "`microdnf`/`tdnf` `upgrade` or `update`, `zypper update`/`dist-upgrade`. An "
            "upgrade that names its packages (`yum update -y openssl`, `apk upgrade musl`, "
            "`apt-get install --only-upgrade openssl`) is a targeted fix and is not flagged."
        ),
        why=(
            "An upgrade inside the build installs whatever the mirrors serve on the day of the "
            "build: the same Dockerfile gives different images from one day to the next, "
            "builds break when a dependency changes, and the image no longer runs the package "
            "set its base image was tested and scanned with. Security fixes reach the image "
            "reproducibly when the base image is pinned to a digest and rebuilt on a newer "
            "one, bumped by the pinning/update bot in a reviewed pull request. (hadolint "
            "dropped its DL3005 check in 2.x because teams that rebuild often use upgrades to "
            "get fixes before the base image is republished; if that is your process, ignore "
            "this rule in the config.) Pinning package versions instead is no way out: "
            "Debian and Ubuntu archives drop old versions, so `pkg=1.2-3` pins break builds."
        ),
        before="FROM debian:12.7-slim\nRUN apt-get update && apt-get -y upgrade\n",
        after=None,
        fix=FixSafety.NONE,
        fix_notes=(
            "Detect-only: removing the upgrade could drop security fixes the team relies on "
            "until the base image is bumped. Pin the base image (CBP101), let the update bot "
            "bump it, then delete the upgrade command. container-bp never replaces an upgrade "
            "by apt version pins: they vanish from the archives and break builds."
        ),
        severity=Severity.INFO,
        references=(
            "https://docs.docker.com/build/building/best-practices/#rebuild-your-images",
            "https://github.com/hadolint/hadolint/wiki/DL3005",
            "https://github.com/hadolint/hadolint/wiki/DL3035",
        ),
        # hadolint 2.x has no DL3005 any more; DL3035 still flags `zypper dist-upgrade`.
        peers={"hadolint": ("DL3035",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        for stage in doc.stages:
            for ins in runs(stage.instructions):
                for command in instruction_commands(ins):
                    call = package_command(command)
                    if call is None or call.verb is None or call.operands:
                        continue
                    if call.verb.text not in UPGRADE_VERBS.get(call.manager, frozenset()):
                        continue
                    program = command.program or call.manager
                    yield self.finding(
                        ctx,
                        line_of(doc, call.verb.start),
                        f"`{program} {call.verb.text}` upgrades the base image's packages "
                        "during the build",
                        suggestion=(
                            "rebuild on a newer pinned base image (let the update bot bump it) "
                            f"and drop `{program} {call.verb.text}`"
                        ),
                        column=column_of(doc, call.verb.start),
                    )
