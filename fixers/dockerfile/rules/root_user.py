"""CBP105: the final stage must not run as root."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fixers.dockerfile import insert
from fixers.dockerfile.commands import Command, stage_commands
from fixers.dockerfile.distro import is_windows, package_install, package_manager, root_image
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage, lineage
from fixers.images import ImageRef, is_docker_hub, official_name, parse_image
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

_START = ("CMD", "ENTRYPOINT")

# Official Docker Hub images that are a plain OS or language runtime: they default to root and
# run their CMD as-is, so creating a user and switching to it is all a non-root setup needs.
# Server images (nginx, httpd, postgres, redis, ...) are left out on purpose: they bind
# privileged ports or drop privileges in their entrypoint, and a USER breaks them.
_PLAIN_OFFICIAL = frozenset(
    {"alpine", "busybox", "debian", "ubuntu", "fedora", "centos", "rockylinux", "almalinux",
     "amazonlinux", "oraclelinux", "python", "pypy", "node", "golang", "ruby", "perl", "rust",
     "openjdk", "eclipse-temurin", "amazoncorretto", "maven", "gradle", "gcc", "buildpack-deps",
     "elixir", "erlang", "haskell", "julia", "swift", "clojure", "r-base"}
)  # fmt: skip
# Distribution images outside Docker Hub (Red Hat, Fedora, CentOS registries): root by default.
_VENDOR_OS = frozenset(
    {"ubi", "ubi8", "ubi9", "ubi-minimal", "ubi8-minimal", "ubi9-minimal", "fedora", "centos",
     "rockylinux", "almalinux", "amazonlinux"}
)  # fmt: skip
# RHEL-family images known to ship shadow-utils (useradd/groupadd). Minimal/slim variants,
# Amazon Linux, Oracle Linux and CBL-Mariner may not: there a user is created only when the file
# installs shadow-utils (or SUSE's shadow) itself.
_SHADOW_IMAGES = frozenset(
    {"fedora", "centos", "rockylinux", "almalinux", "ubi", "ubi8", "ubi9"}
)  # fmt: skip
_SHADOW_PACKAGES = frozenset({"shadow-utils", "shadow"})
_USER_TOOLS = frozenset({"useradd", "adduser", "groupadd", "addgroup"})
# Options of useradd (shadow) and adduser (busybox, Debian) that take a value.
_SHORT_VALUE = frozenset("bcdefgGhkKpPRsuZ")
_LONG_VALUE = frozenset(
    {"base-dir", "comment", "home-dir", "home", "expiredate", "inactive", "gid", "groups",
     "skel", "key", "password", "root", "prefix", "shell", "uid", "selinux-user", "ingroup",
     "gecos", "firstuid", "lastuid", "firstgid", "lastgid", "conf", "extrausers-file"}
)  # fmt: skip
_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class _Target:
    user: str  # the USER argument
    label: str  # how messages name it
    create: str | None = None  # a RUN command that creates it, when the image lacks it


def _user_of(value: str) -> str:
    return value.split(":", 1)[0].strip()


def _runs_as_root(value: str) -> bool | None:
    """Whether a USER argument is root; None when it depends on a variable."""
    if "$" in value or not value.strip():
        return None
    return _user_of(value) in ("root", "0")


def _plain(ref: ImageRef) -> bool:
    """A plain OS or language-runtime image that defaults to root (see ``_PLAIN_OFFICIAL``)."""
    official = official_name(ref)
    if official is not None:
        return official in _PLAIN_OFFICIAL
    return not is_docker_hub(ref) and ref.short_name in _VENDOR_OS


def _image_user(ref: ImageRef) -> tuple[_Target, bool] | None:
    """A non-root user the image is known to ship, and whether it is already the default.

    - ``node`` (Docker Hub): user ``node``, uid/gid 1000; the image still defaults to root.
    - ``gcr.io/distroless/*``: user ``nonroot``, uid/gid 65532 in every variant; the default
      for ``:nonroot`` and ``:debug-nonroot`` tags.
    - ``nginxinc/nginx-unprivileged``: user ``nginx``, uid/gid 101, the default.
    - ``mcr.microsoft.com/dotnet/*`` 8.0 and later: user ``app``, uid/gid 1654; the default
      for the ``chiseled`` tags.
    """
    tag = (ref.tag or "").lower()
    if official_name(ref) == "node":
        return _Target("1000:1000", "the image's `node` user (uid 1000)"), False
    if ref.registry == "gcr.io" and ref.path.startswith("distroless/"):
        default = "nonroot" in tag.split("-")
        return _Target("65532:65532", "distroless's `nonroot` user (uid 65532)"), default
    if is_docker_hub(ref) and ref.path == "nginxinc/nginx-unprivileged":
        return _Target("101:101", "the image's `nginx` user (uid 101)"), True
    if ref.registry == "mcr.microsoft.com" and ref.path.startswith("dotnet/"):
        m = re.match(r"(\d+)\.", tag)
        if m and int(m.group(1)) >= 8:
            return _Target("1654:1654", "the image's `app` user (uid 1654)"), "chiseled" in tag
    return None


def _created_user(command: Command) -> tuple[str, str | None] | None:
    """(name, uid) of a ``useradd NAME``/``adduser NAME``; None when it is not that simple."""
    positional: list[str] = []
    uid: str | None = None
    words = command.args
    i = 0
    while i < len(words):
        text = words[i].text
        if text.startswith("--"):
            name, eq, value = text[2:].partition("=")
            if name in _LONG_VALUE and not eq:
                i += 1
                value = words[i].text if i < len(words) else ""
            if name == "uid":
                uid = value
        elif text.startswith("-") and len(text) > 1:
            for k, flag in enumerate(text[1:], start=1):
                if flag in _SHORT_VALUE:
                    value = text[k + 1 :]
                    if not value:
                        i += 1
                        value = words[i].text if i < len(words) else ""
                    if flag == "u":
                        uid = value
                    break
        else:
            positional.append(text)
        i += 1
    if len(positional) != 1 or "$" in positional[0]:
        return None
    return positional[0], (uid if uid and uid.isdigit() else None)


class RootUser(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP105",
        name="root-user",
        kind="dockerfile",
        title="Run the final stage as a non-root user",
        what=(
            "Flags the final stage when it runs as root: it has no `USER` (and inherits none "
            "through `FROM <stage>`) while its base image defaults to root, or its last `USER` "
            "is `root`, `0` or `0:0`. Build stages are not flagged (they never run), nor a "
            "`USER` set from a variable, nor bases known to default to a non-root user "
            "(distroless `:nonroot`, `nginxinc/nginx-unprivileged`, .NET 8+ chiseled) and "
            "Windows images (a Windows base image, or a `cmd`/`powershell` `SHELL`)."
        ),
        why=(
            "A process running as root in a container is root on the host's kernel: a "
            "container escape or a writable host mount becomes a host compromise. Many "
            "clusters refuse root images outright (Kubernetes PodSecurity `restricted`, "
            "OpenShift's default SCC), and `runAsNonRoot` can only verify a numeric `USER`."
        ),
        before='FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n',
        after=(
            "FROM python:3.12-slim\nCOPY . /app\n"
            "RUN groupadd --system --gid 10001 app && useradd --system --no-log-init "
            "--uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app\n"
            'USER 10001:10001\nCMD ["python", "/app/main.py"]\n'
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: files the process writes may need `chown` or `COPY --chown`, and ports "
            "below 1024 need root. The user it switches to is, in order: the last non-root "
            "`USER` before the `USER root`; a user the file itself creates with "
            "`useradd`/`adduser` (its uid when given); the user the base image ships "
            "(`node` 1000, distroless `nonroot` 65532, `nginx-unprivileged` 101, .NET 8+ "
            "`app` 1654); for `scratch`, `65532:65532` (a numeric USER needs no /etc/passwd "
            "entry). Otherwise, on a plain OS or language base image (or, with no USER at "
            "all, one whose RUNs install packages, so the build runs as root) it creates "
            "`app` (uid/gid 10001, options `user`, `uid`, `gid`) with groupadd/useradd "
            "(Debian, Ubuntu, Fedora, CentOS, Rocky, Alma, UBI) or busybox addgroup/adduser "
            "(Alpine, BusyBox), and switches with a numeric `USER uid:gid`. The new `USER` "
            "goes after the last RUN, before the first ENTRYPOINT/CMD that follows it (else "
            "at the end of the stage); a `USER root` with no RUN after it is rewritten in "
            "place. It "
            "reports without a fix when the image may lack useradd (ubi-minimal, Amazon "
            "Linux, Oracle Linux, CBL-Mariner, unless the file installs shadow-utils), when "
            "the file creates users it cannot read, on server images (nginx, postgres, ...) "
            "when an unknown base was switched to root on purpose (its own user is not "
            "known), and when the new lines would follow a dangling line continuation (a `\\` "
            "on the file's last line, which would swallow them)."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/best-practices/#user",
            "https://github.com/hadolint/hadolint/wiki/DL3002",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ),
        peers={"hadolint": ("DL3002",), "checkov": ("CKV_DOCKER_3", "CKV_DOCKER_8")},
        options={"user": "app", "uid": 10001, "gid": 10001},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        if not doc.stages:
            return
        stage = doc.stages[-1]
        if is_windows(stage):
            return
        chain = lineage(stage)
        base = root_image(stage)
        ref = parse_image(base)
        is_scratch = base.lower() == "scratch"
        known = _image_user(ref) if ref is not None else None

        users = [i for s in chain for i in s.instructions if i.keyword == "USER"]
        root_ins: Instruction | None = None
        if users:
            verdict = _runs_as_root(users[-1].args)
            if not verdict:
                return  # non-root, or set from a variable
            root_ins = users[-1]
        elif known is not None and known[1]:
            return  # the base image already defaults to a non-root user
        elif ref is None and not is_scratch:
            return  # an image from an ARG without a default: unknown

        if root_ins is not None:
            line, end_line = root_ins.line, root_ins.end_line
            message = f"the final stage runs as root: the last `USER` is `{root_ins.args}`"
        elif is_scratch or known is not None or (ref is not None and _plain(ref)):
            line, end_line = stage.from_.line, stage.from_.line
            message = f"the final stage runs as root: no `USER`, and `{base}` defaults to root"
        else:
            line, end_line = stage.from_.line, stage.from_.line
            message = (
                f"the final stage has no `USER`: it runs as `{base}`'s default user, which "
                "is root unless that image sets one"
            )

        target, reason = self._target(ctx, stage, chain, users, root_ins, ref, known)
        edits = self._edits(doc, stage, root_ins, target) if target is not None else None
        if target is None or edits is None:
            if target is not None:
                last = stage.instructions[-1] if stage.instructions else stage.from_
                reason = (
                    f"line {last.line} ends in a line continuation that new lines after it "
                    f"would join: end it, then switch to {target.label} with "
                    f"`USER {target.user}`"
                )
            yield self.finding(ctx, line, message, end_line=end_line, suggestion=reason)
            return
        yield self.finding(
            ctx,
            line,
            message,
            end_line=end_line,
            edits=edits,
            fix_description=f"run as {target.label}",
        )

    def _target(
        self,
        ctx: Context[Dockerfile],
        stage: Stage,
        chain: Sequence[Stage],
        users: Sequence[Instruction],
        root_ins: Instruction | None,
        ref: ImageRef | None,
        known: tuple[_Target, bool] | None,
    ) -> tuple[_Target | None, str]:
        """The user to switch to, or None and a suggestion saying why not."""
        # 1. Back to the user the file ran as before it switched to root.
        for ins in reversed(users[:-1]):
            if _runs_as_root(ins.args) is False:
                return _Target(ins.args, f"`{ins.args}`, the user before `USER root`"), ""
        # 2. A user the file creates itself.
        commands = [c for s in chain for _, c in stage_commands(s.instructions)]
        tools = [c for c in commands if c.program in _USER_TOOLS]
        created = [c for c in tools if c.program in ("useradd", "adduser")]
        if created:
            parsed = _created_user(created[-1])
            if parsed is None:
                return None, "switch to the user the file creates, with a numeric `USER uid:gid`"
            name, uid = parsed
            if uid is not None:
                return _Target(uid, f"`{name}` (uid {uid}), the user the file creates"), ""
            return _Target(name, f"`{name}`, the user the file creates"), ""
        # 3. A user the base image ships; scratch needs no passwd entry for a numeric USER.
        if known is not None:
            return known[0], ""
        if root_image(stage).lower() == "scratch":
            label = "uid 65532 (scratch has no /etc/passwd; a numeric USER needs no entry)"
            return _Target("65532:65532", label), ""
        # 4. Create one.
        user, uid, gid = (self.option(ctx, k) for k in ("user", "uid", "gid"))
        usage = f"`USER {uid}:{gid}`"
        generic = f"switch to a non-root user before CMD, e.g. {usage} (create it first)"
        if tools:
            return None, generic  # groupadd/addgroup alone: the names may clash
        if not (_NAME.match(str(user)) and str(uid).isdigit() and str(gid).isdigit()):
            return None, generic
        if ref is None:
            return None, generic
        official = official_name(ref)
        plain = _plain(ref)
        if official == "nginx":
            return None, (
                "use `nginxinc/nginx-unprivileged` (user `nginx`, uid 101, listens on 8080) "
                "instead of running nginx as root"
            )
        if root_ins is not None and not plain:
            return None, (
                f"the base image was switched to root on purpose: switch back to its own "
                f"non-root user after the last RUN (numeric, e.g. {usage})"
            )
        installs = [p for c in commands if (p := package_install(c)) is not None]
        if not plain and (official is not None or not installs):
            return None, generic
        manager = package_manager(stage)
        packages = {name for p in installs for name in p.packages()}
        has_shadow = bool(packages & _SHADOW_PACKAGES)
        tag = (ref.tag or "").lower()
        if manager == "apk" or official == "busybox":
            create = f"addgroup -S -g {gid} {user} && adduser -S -D -H -u {uid} -G {user} {user}"
        elif (
            manager == "apt"
            or has_shadow
            or (
                manager in ("dnf", "yum")
                and ref.short_name in _SHADOW_IMAGES
                and not any(m in tag for m in ("minimal", "slim", "micro"))
            )
        ):
            create = (
                f"groupadd --system --gid {gid} {user} && useradd --system --no-log-init "
                f"--uid {uid} --gid {user} --no-create-home --shell /usr/sbin/nologin {user}"
            )
        elif manager in ("dnf", "yum", "microdnf", "zypper", "tdnf"):
            return None, (
                "this image may lack useradd: install shadow-utils, create a user and "
                f"switch to it with {usage}"
            )
        else:
            return None, generic
        return _Target(f"{uid}:{gid}", f"a new `{user}` user (uid {uid})", create), ""

    def _edits(
        self, doc: Dockerfile, stage: Stage, root_ins: Instruction | None, target: _Target
    ) -> list[Edit] | None:
        """None when the new lines would go after a dangling line continuation."""
        instructions = stage.instructions
        start = instructions.index(root_ins) + 1 if root_ins in instructions else 0
        runs = [i for i in range(start, len(instructions)) if instructions[i].keyword == "RUN"]
        if root_ins is not None and start > 0 and not runs and target.create is None:
            # No RUN needs root after it: rewrite the USER in place.
            begin = root_ins.offset(root_ins.args_index)
            return [Edit(begin, root_ins.args_end, target.user)]
        after = runs[-1] + 1 if runs else start
        before = next(
            (i for i in range(after, len(instructions)) if instructions[i].keyword in _START),
            None,
        )
        lines = [f"RUN {target.create}"] if target.create else []
        lines.append(f"USER {target.user}")
        if before is not None:
            return [insert.insert_before(doc, instructions[before], lines)]
        last = instructions[-1] if instructions else stage.from_
        edit = insert.insert_after(doc, last, lines)
        return [edit] if edit is not None else None
