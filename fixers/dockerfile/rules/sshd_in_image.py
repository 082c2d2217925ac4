"""CBP106: no SSH server in the image."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from fixers.dockerfile.commands import Word, instruction_commands, stage_commands, tokenize
from fixers.dockerfile.distro import package_install
from fixers.dockerfile.packages import PackageCommand
from fixers.dockerfile.parser import Dockerfile, Instruction
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.textedit import line_starts, offset_to_line

# Package name -> the client-only package that replaces it (None: just remove it). `ssh` (Debian)
# and `openssh` (Alpine) are metapackages for client and server; people often mean the client.
# On Fedora/RHEL `openssh` holds only the shared files, so it is not flagged there.
_SERVER_PACKAGES: dict[str, dict[str, str | None]] = {
    "apt": {"openssh-server": None, "dropbear": None, "dropbear-bin": None,
            "ssh": "openssh-client"},
    "apk": {"openssh-server": None, "openssh-server-pam": None, "dropbear": None,
            "openssh": "openssh-client"},
    "dnf": {"openssh-server": None, "dropbear": None},
    "yum": {"openssh-server": None, "dropbear": None},
    "microdnf": {"openssh-server": None},
    "tdnf": {"openssh-server": None},
    "zypper": {"openssh-server": None},
}  # fmt: skip
# Signs that the file sets up or starts an SSH server (beyond installing it).
_USES_SSHD = re.compile(
    r"sshd|\bdropbear|/etc/init\.d/ssh\b|\bservice\s+ssh\b|\brc-service\s+ssh\b"
    r"|\bssh-keygen\b.*\s-A\b|authorized_keys"
)
_SSH_PORT = re.compile(r"^22(/tcp)?$", re.IGNORECASE)
_IGNORE_COMMENT = re.compile(r"^(hadolint|container-bp|checkov)\b", re.IGNORECASE)
_IN_USE = (
    "this file sets up or starts sshd: use `docker exec`/`kubectl exec` for a shell and "
    "remove the server together with its setup"
)
_RPM_SUFFIX = re.compile(r"^-\d|^\.(x86_64|aarch64|noarch|i686|ppc64le|s390x)$")


def _package_name(word: str, manager: str) -> str:
    """A package word's name, without a version pin, architecture or release."""
    pattern = {"apt": r"[^=:/]+", "apk": r"[^=~<>@]+", "zypper": r"[^=<>]+"}.get(manager)
    if pattern is not None:
        m = re.match(pattern, word)
        return m.group(0) if m else word
    for name in _SERVER_PACKAGES.get(manager, {}):  # rpm: name-version, name.arch
        if word.startswith(name) and _RPM_SUFFIX.match(word[len(name) :]):
            return name
    return word


def _removal(text: str, words: Sequence[Word], k: int, cont: str, shell: bool) -> list[Edit]:
    """Edits removing ``words[k]`` with one adjacent blank, keeping continuations intact.

    ``cont`` is the line-continuation character; ``shell`` is True inside a heredoc body,
    where a comment line would end the command instead of being skipped. Empty when the
    layout is one this does not handle.
    """
    w = words[k]
    if text[w.start : w.end] != w.raw:
        return []  # the word spans a continuation
    line_start = text.rfind("\n", 0, w.start) + 1
    newline = text.find("\n", w.end)
    next_line = len(text) if newline == -1 else newline + 1
    line_end = len(text) if newline == -1 else newline
    if line_end > w.end and text[line_end - 1] == "\r":
        line_end -= 1
    before, after = text[line_start : w.start], text[w.end : line_end]
    if before.strip():
        return [Edit(w.start - 1, w.end, "")] if text[w.start - 1] in " \t" else []
    if after.strip() == cont:
        return [Edit(line_start, next_line, "")]  # alone on a continued line: drop the line
    if after.strip():
        return [Edit(w.start, w.end + 1, "")] if after[0] in " \t" else []
    # Alone on the command's last line: the line before must stop continuing.
    if k == 0:
        return []
    prev = words[k - 1]
    between = text[prev.end : w.start]
    if re.fullmatch(rf"[ \t]*{re.escape(cont)}\r?\n[ \t]*", between):
        return [Edit(prev.end, w.end, "")]
    lines = between.split("\n")
    if shell or lines[0].strip() != cont or lines[-1].strip():
        return []
    if any(s.strip() and not s.strip().startswith("#") for s in lines[1:-1]):
        return []
    # Comment lines in between stay: end the continuation before them, drop the word's line.
    first_end = prev.end + len(lines[0].rstrip("\r"))
    if newline == -1:
        cut = line_start - 1
        cut -= 1 if cut > 0 and text[cut - 1] == "\r" else 0
        return [Edit(prev.end, first_end, ""), Edit(cut, len(text), "")]
    return [Edit(prev.end, first_end, ""), Edit(line_start, next_line, "")]


def _delete_instruction(doc: Dockerfile, ins: Instruction) -> Edit | None:
    """Delete a whole instruction, unless ignore comments above it would then drift."""
    if any(_IGNORE_COMMENT.match(c.text) for c in doc.comments_before(ins)):
        return None
    text = doc.text
    if ins.end == len(text) and not text.endswith("\n") and ins.start > 0:
        # Keep the file's missing final newline: take the line break before it instead.
        start = ins.start - 1
        if start > 0 and text[start - 1] == "\r":
            start -= 1
        return Edit(start, ins.end, "")
    return Edit(ins.start, ins.end, "")


class SshdInImage(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP106",
        name="sshd-in-image",
        kind="dockerfile",
        title="Do not put an SSH server in the image",
        what=(
            "Flags an SSH server in any stage: `openssh-server`, `dropbear` (and the "
            "client+server metapackages `ssh` on apt, `openssh` on apk) installed with "
            "apt/apk/dnf/yum/microdnf/tdnf/zypper, `EXPOSE 22` (or `22/tcp`, also inside a "
            "multi-port EXPOSE), and instructions that set up or start sshd: `mkdir "
            "/var/run/sshd`, `sshd_config` edits, `ssh-keygen -A`, `sshd`/`service ssh "
            "start` in RUN, CMD or ENTRYPOINT. SSH clients (`openssh-client`) are not flagged."
        ),
        why=(
            "Containers are not VMs: `docker exec` and `kubectl exec` give a shell without a "
            "daemon. sshd adds keys to manage and rotate, an open port, a second process that "
            "needs a supervisor, and often host keys baked into the image, shared by every "
            "container started from it."
        ),
        before="FROM debian:12\nRUN apt-get install -y curl openssh-server\nEXPOSE 80 22\n",
        after="FROM debian:12\nRUN apt-get install -y curl\nEXPOSE 80\n",
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: whoever logs in over SSH loses that way in. It removes the server "
            "package word (with one adjacent blank; a package alone on a continued line "
            "goes with its line), replaces `ssh`/`openssh` by `openssh-client`, removes `22` "
            "from EXPOSE and an EXPOSE whose only port is 22, and deletes a RUN whose only "
            "command installs nothing but the server (an install command left with no "
            "package would fail; in a longer RUN it is reported without a fix). Setup and "
            "start instructions (`mkdir /var/run/sshd`, `sshd_config` edits, "
            '`CMD ["/usr/sbin/sshd", "-D"]`) are reported without a fix, and when a file has '
            "any of them, sshd is the image's purpose: every finding of the file is then "
            "reported without a fix, since removing the package would break the build or "
            "what the image does."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/reference/cli/docker/container/exec/",
            "https://kubernetes.io/docs/tasks/debug/debug-application/get-shell-running-container/",
        ),
        peers={"checkov": ("CKV_DOCKER_1",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        usage = list(self._usage(ctx))
        fixable = not usage
        starts = line_starts(doc.text)
        for stage in doc.stages:
            for ins, command in stage_commands(stage.instructions):
                install = package_install(command)
                if install is not None:
                    yield from self._packages(ctx, ins, install, starts, fixable)
            for ins in stage.instructions:
                if ins.keyword == "EXPOSE":
                    yield from self._expose(ctx, ins, fixable)
        yield from usage

    def _usage(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        """Instructions that configure or start an SSH server: reported, never fixed."""
        suggestion = "use `docker exec`/`kubectl exec` for a shell and drop sshd from the image"
        for ins in ctx.doc.instructions:
            if ins.keyword in ("RUN", "CMD", "ENTRYPOINT"):
                if ins.json_args is not None:
                    argvs = [ins.json_args]
                else:
                    argvs = [
                        c.argv for c in instruction_commands(ins) if package_install(c) is None
                    ]
                hit = next((h for argv in argvs if (h := _sshd_use(argv))), None)
                if hit is None:
                    continue
                verb = "configures" if ins.keyword == "RUN" else "starts"
                message = f"`{ins.keyword}` {verb} an SSH server (`{hit}`)"
            elif ins.keyword in ("COPY", "ADD"):
                m = _USES_SSHD.search(ins.args)
                if m is None:
                    continue
                message = f"`{ins.keyword}` installs SSH server configuration (`{m.group(0)}`)"
            else:
                continue
            yield self.finding(ctx, ins.line, message, end_line=ins.end_line, suggestion=suggestion)

    def _packages(
        self,
        ctx: Context[Dockerfile],
        ins: Instruction,
        install: PackageCommand,
        starts: list[int],
        fixable: bool,
    ) -> Iterator[Finding]:
        table = _SERVER_PACKAGES.get(install.manager, {})
        words = install.command.words
        shell = _in_heredoc(ins, words[0].start)
        cont = "\\" if shell else ctx.doc.escape
        packages = install.operand_indexes()
        others = [k for k in packages if _package_name(words[k].text, install.manager) not in table]
        text = ctx.doc.text
        for k in packages:
            word = words[k]
            name = _package_name(word.text, install.manager)
            if name not in table:
                continue
            replacement = table[name]
            edits: list[Edit] = []
            suggestion = None if fixable else _IN_USE
            if replacement is not None:
                message = f"`{name}` installs an SSH server along with the client"
                description = f"install `{replacement}` instead of `{name}`"
                if fixable and text[word.start : word.start + len(name)] == name:
                    edits = [Edit(word.start, word.start + len(name), replacement)]
            else:
                message = f"`{name}` installs an SSH server"
                description = f"do not install `{name}`"
                if fixable and others:
                    edits = _removal(text, words, k, cont, shell)
                elif fixable and _sole_command(ins, install):
                    edit = _delete_instruction(ctx.doc, ins)
                    edits = [edit] if edit is not None else []
                    description = f"remove the RUN that installs only `{name}`"
                elif fixable:
                    suggestion = f"remove the command that installs only `{name}`"
            yield self.finding(
                ctx,
                offset_to_line(starts, word.start),
                message,
                edits=edits,
                fix_description=description,
                suggestion=suggestion,
            )

    def _expose(
        self, ctx: Context[Dockerfile], ins: Instruction, fixable: bool
    ) -> Iterator[Finding]:
        start = ins.args_index
        words = [w for c in tokenize(ins.logical[start:], ins.positions[start:]) for w in c.words]
        for k, word in enumerate(words):
            if not _SSH_PORT.match(word.text):
                continue
            edits: list[Edit] = []
            if fixable and len(words) == 1:
                edit = _delete_instruction(ctx.doc, ins)
                edits = [edit] if edit is not None else []
            elif fixable:
                edits = _removal(ctx.doc.text, words, k, ctx.doc.escape, False)
            yield self.finding(
                ctx,
                ins.line,
                f"`EXPOSE {word.raw}` publishes the SSH port",
                end_line=ins.end_line,
                edits=edits,
                fix_description="stop exposing port 22",
                suggestion=None if fixable else _IN_USE,
            )


def _in_heredoc(ins: Instruction, offset: int) -> bool:
    return any(h.body_start <= offset < h.body_start + len(h.body) for h in ins.heredocs)


def _sole_command(ins: Instruction, install: PackageCommand) -> bool:
    """The RUN does nothing but this installation (no heredoc, no other command)."""
    if ins.keyword != "RUN" or ins.heredocs:
        return False
    commands = instruction_commands(ins)
    return len(commands) == 1 and commands[0] == install.command


def _sshd_use(argv: Sequence[str]) -> str | None:
    """What in a command sets up or starts an SSH server: the word, or the matched phrase."""
    for word in argv:
        if _USES_SSHD.search(word):
            return word if len(word) <= 60 else word[:57] + "..."
    m = _USES_SSHD.search(" ".join(argv))
    return m.group(0) if m else None
