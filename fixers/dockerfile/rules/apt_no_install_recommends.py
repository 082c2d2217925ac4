"""CBP109: ``apt-get install`` should not pull in recommended packages."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fixers.dockerfile.commands import Command, instruction_commands
from fixers.dockerfile.packages import (
    PackageCommand,
    apt_command,
    column_of,
    line_of,
    runs,
)
from fixers.dockerfile.parser import Dockerfile, Instruction, lineage
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

FLAG = "--no-install-recommends"
_OFF = r"\"?(?:false|0|no|off)\b"
# `-o APT::Install-Recommends=false`, `--option=APT::Install-Recommends=0`, ...
_OPTION_OFF = re.compile(rf"APT::Install-Recommends\s*=\s*{_OFF}", re.IGNORECASE)
_FLAG_OFF = re.compile(r"--(?:no-install-recommends|install-recommends=(?:false|0|no|off))$", re.I)
# `APT::Install-Recommends "false";` written to /etc/apt/apt.conf.d by an earlier command.
_CONFIG_OFF = re.compile(rf"APT::Install-Recommends[\s\"'=]*{_OFF}", re.IGNORECASE)


class AptNoInstallRecommends(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP109",
        name="apt-no-install-recommends",
        kind="dockerfile",
        title="Install apt packages with `--no-install-recommends`",
        what=(
            "Flags `apt-get install` and `apt install` without `--no-install-recommends` (or "
            "`-o APT::Install-Recommends=false`/`=0`), in RUN lines and heredoc scripts. Not "
            "flagged when an earlier command of the stage turned recommends off in apt's "
            'configuration (`APT::Install-Recommends "false";` in `/etc/apt/apt.conf.d`).'
        ),
        why=(
            "By default apt also installs every package the requested ones merely recommend: "
            "documentation tools, X11 libraries, compilers. They are not needed to run, often "
            "double the image size, and each one widens the attack surface and the list of "
            "CVEs scanners report. Asking for exactly the packages the image needs keeps it "
            "small and its contents intentional."
        ),
        before=(
            "FROM debian:12.7-slim\n"
            "RUN apt-get update && apt-get install -y curl \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n"
        ),
        after=(
            "FROM debian:12.7-slim\n"
            "RUN apt-get update && apt-get install --no-install-recommends -y curl \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n"
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Inserts `--no-install-recommends` right after the `install` word, in place (also "
            "inside heredoc scripts). Unsafe: a recommended package the image relied on "
            "without naming it disappears, most often `ca-certificates` (recommended by curl, "
            "wget, git and openssl, needed for HTTPS), `openssh-client` for git over SSH, "
            "`libc6-dev` (the C headers `gcc` only recommends: install `build-essential` or "
            "name it), or `less`. Build and test the image, and add such packages to the "
            "install list by name. The fix never adds version pins (`pkg=1.2-3`): pinned "
            "Debian and Ubuntu versions vanish from the archives and break the build."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/best-practices/#apt-get",
            "https://github.com/hadolint/hadolint/wiki/DL3015",
        ),
        peers={"hadolint": ("DL3015",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        for stage in doc.stages:
            earlier = [i for s in lineage(stage)[:-1] for i in runs(s.instructions)]
            disabled = any(_config_disables(doc, ins) for ins in earlier)
            for ins in runs(stage.instructions):
                for command in instruction_commands(ins):
                    call = apt_command(command)
                    if call is None or call.verb is None or call.verb_text != "install":
                        continue
                    if _disables_recommends(call):
                        continue
                    if disabled or _config_disables(doc, ins, before=command):
                        continue
                    yield self._finding(ctx, call)
                if _config_disables(doc, ins):
                    disabled = True

    def _finding(self, ctx: Context[Dockerfile], call: PackageCommand) -> Finding:
        doc = ctx.doc
        assert call.verb is not None
        program = call.command.program or "apt-get"
        line = line_of(doc, call.verb.start)
        return self.finding(
            ctx,
            line,
            f"`{program} install` without `{FLAG}` also installs recommended packages",
            edits=[Edit(call.verb.end, call.verb.end, f" {FLAG}")],
            fix_description=f"add `{FLAG}` to `{program} install`",
            column=column_of(doc, call.verb.start),
        )


def _disables_recommends(call: PackageCommand) -> bool:
    words = [w.text for w in call.command.words]
    return any(_FLAG_OFF.match(w) or _OPTION_OFF.search(w) for w in words)


def _config_disables(doc: Dockerfile, ins: Instruction, before: Command | None = None) -> bool:
    """The RUN (up to ``before``) writes ``APT::Install-Recommends "false"`` into apt's config."""
    end = before.start if before is not None else ins.end
    text = doc.text[ins.start : end]
    return "apt.conf" in text and _CONFIG_OFF.search(text) is not None
