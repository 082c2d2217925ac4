"""CBP110: a RUN that fetches apt's package lists removes them before the layer is committed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fixers.dockerfile.commands import instruction_commands
from fixers.dockerfile.packages import (
    APT_LISTS_CLEANUP,
    append_command_edits,
    caches_apt_lists,
    descendants,
    is_apt_update,
    needs_apt_lists,
    removes_apt_lists,
    runs,
)
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage, lineage
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc


@dataclass(frozen=True)
class _RunLists:
    """What one RUN does to /var/lib/apt/lists in its layer."""

    updates: bool  # it runs apt-get update (and the lists reach the layer)
    cleaned: bool  # it removes the lists after its last update / apt command
    uses: bool  # it runs an apt command that reads the lists
    needs_earlier: bool  # it reads the lists before fetching them itself
    cached: bool  # a cache/tmpfs mount keeps the lists out of the layer
    program: str = "apt-get"  # of its last update


def _analyse(ins: Instruction) -> _RunLists:
    commands = instruction_commands(ins)
    updated = False
    needs_earlier = False
    last_apt = -1
    last_update = -1
    last_cleanup = -1
    program = "apt-get"
    for i, command in enumerate(commands):
        if is_apt_update(command):
            updated = True
            program = command.program or program
            last_update = last_apt = i
        elif needs_apt_lists(command):
            needs_earlier = needs_earlier or not updated
            last_apt = i
        if removes_apt_lists(command):
            last_cleanup = i
    return _RunLists(
        updates=last_update >= 0,
        cleaned=last_cleanup > last_apt,
        uses=last_apt >= 0,
        needs_earlier=needs_earlier,
        cached=caches_apt_lists(ins),
        program=program,
    )


class AptListsNotCleaned(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP110",
        name="apt-lists-not-cleaned",
        kind="dockerfile",
        title="Remove `/var/lib/apt/lists/*` in the RUN that runs `apt-get update`",
        what=(
            "Flags a RUN that runs `apt-get update` (or `apt update`) and does not remove "
            "`/var/lib/apt/lists/*` afterwards in the same RUN, and a RUN that installs while "
            "the lists of an earlier RUN's update are still in the image. Any spelling of the "
            "removal counts (`rm -rf`, `rm -fr`, `rm -r -f`, with or without `/*`, `find ... "
            "-delete`, `apt-get dist-clean`); `apt-get clean` alone does not remove the lists. "
            "RUNs with a cache or tmpfs mount on `/var/lib/apt` or `/var/lib/apt/lists` are "
            "not flagged: their lists never reach the layer. Builder stages are flagged too."
        ),
        why=(
            "`apt-get update` downloads the package lists, tens of megabytes, into "
            "`/var/lib/apt/lists`. Left there, they are committed into the layer for good: a "
            "later RUN that deletes them hides them but does not make the image smaller. "
            "Stale lists also break later installs in images built on this one, which fail on "
            "package versions the mirrors no longer serve instead of fetching fresh lists."
        ),
        before=(
            "FROM debian:12.7-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
        ),
        after=(
            "FROM debian:12.7-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends curl"
            " && rm -rf /var/lib/apt/lists/*\n"
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "Appends ` && rm -rf /var/lib/apt/lists/*` after the last command of the RUN, on "
            "the line of its last argument (trailing comments and continuations stay); in a "
            "heredoc script with `set -e` it adds that command on a new line before the "
            "terminator, with the script's indentation. The exit status of the RUN does not "
            "change. No fix, only the finding, when a later RUN of the stage (or of a stage "
            "built on it) installs with these lists without running `apt-get update` itself "
            "(merge the update into that RUN instead), or when the RUN's shape is unclear: "
            "it ends in `||`, a pipe, a subshell or a background job."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/best-practices/#apt-get",
            "https://github.com/hadolint/hadolint/wiki/DL3009",
        ),
        peers={"hadolint": ("DL3009",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        for stage in doc.stages:
            left_by: Instruction | None = None  # the RUN whose lists are in the image
            for parent in lineage(stage)[:-1]:
                for ins in runs(parent.instructions):
                    left_by = _state_after(_analyse(ins), ins, left_by)
            for ins in runs(stage.instructions):
                info = _analyse(ins)
                if not info.cached and not info.cleaned:
                    if info.updates:
                        yield self._finding(ctx, stage, ins, None, info.program)
                    elif info.uses and left_by is not None:
                        yield self._finding(ctx, stage, ins, left_by, info.program)
                left_by = _state_after(info, ins, left_by)

    def _finding(
        self,
        ctx: Context[Dockerfile],
        stage: Stage,
        ins: Instruction,
        left_by: Instruction | None,
        program: str,
    ) -> Finding:
        doc = ctx.doc
        if left_by is None:
            message = f"`{program} update` leaves the package lists in the layer: remove them here"
        else:
            message = (
                f"the package lists fetched on line {left_by.line} stay in the image: "
                "this RUN uses them and does not remove them"
            )
        later = _later_user(doc, stage, ins)
        if later is not None:
            return self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                suggestion=(
                    f"line {later.line} installs with these lists without `apt-get update`: run "
                    f"the update, the installs and `{APT_LISTS_CLEANUP}` in one RUN"
                ),
            )
        where = append_command_edits(doc, ins, APT_LISTS_CLEANUP)
        if where is None:
            return self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                suggestion=f"end this RUN with `&& {APT_LISTS_CLEANUP}`",
            )
        offset, new = where
        return self.finding(
            ctx,
            ins.line,
            message,
            end_line=ins.end_line,
            edits=[Edit(offset, offset, new)],
            fix_description=f"remove the apt package lists at the end of the RUN (line {ins.line})",
        )


def _state_after(
    info: _RunLists, ins: Instruction, left_by: Instruction | None
) -> Instruction | None:
    if info.cached:
        return left_by  # the layer's own lists are hidden under the mount, and untouched
    if info.cleaned:
        return None
    if info.updates:
        return ins
    return left_by


def _later_user(doc: Dockerfile, stage: Stage, ins: Instruction) -> Instruction | None:
    """The first later RUN (this stage, or stages built on it) reading lists it did not fetch."""
    own = list(runs(stage.instructions))
    after = own[own.index(ins) + 1 :]
    paths = [after]
    for child in descendants(doc, stage):
        chain = lineage(child)
        rest = chain[chain.index(stage) + 1 :]
        paths.append(after + [i for s in rest for i in runs(s.instructions)])
    for path in paths:
        for later in path:
            info = _analyse(later)
            if info.cached or not (info.uses or info.updates):
                continue
            if info.needs_earlier:
                return later
            break  # it fetches its own lists first: what follows depends on it, not on us
    return None
