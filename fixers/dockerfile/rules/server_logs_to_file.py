"""CBP112: an image that installs nginx or Apache sends their logs to stdout/stderr."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fixers.dockerfile import insert
from fixers.dockerfile.commands import instruction_commands
from fixers.dockerfile.distro import package_install
from fixers.dockerfile.packages import runs
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage, lineage
from fixers.images import parse_image
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

_STD_STREAM = re.compile(r"/dev/std(?:out|err)|/proc/(?:self|1)/fd/[12]\b|/dev/fd/[12]\b")
# Package managers whose packages' log paths are known (see `_server_for`).
_MANAGERS = frozenset({"apt", "apk", "dnf", "yum", "microdnf", "tdnf"})
_NGINX_PACKAGES = frozenset({"nginx", "nginx-full", "nginx-light", "nginx-extras", "nginx-core"})
_RHEL = frozenset({"dnf", "yum", "microdnf", "tdnf"})


@dataclass(frozen=True)
class Server:
    name: str  # as shown to people: nginx, apache2, httpd
    log_dir: str
    links: tuple[tuple[str, str], ...]  # (stream, log file)
    directives: tuple[str, ...]  # config directives that name log destinations

    @property
    def files(self) -> frozenset[str]:
        return frozenset(path for _, path in self.links)


NGINX = Server(
    "nginx",
    "/var/log/nginx",
    (("stdout", "/var/log/nginx/access.log"), ("stderr", "/var/log/nginx/error.log")),
    ("access_log", "error_log"),
)
_APACHE_DIRECTIVES = ("CustomLog", "ErrorLog", "TransferLog")
APACHE_DEBIAN = Server(
    "apache2",
    "/var/log/apache2",
    (("stdout", "/var/log/apache2/access.log"), ("stderr", "/var/log/apache2/error.log"),
     ("stdout", "/var/log/apache2/other_vhosts_access.log")),
    _APACHE_DIRECTIVES,
)  # fmt: skip
APACHE_ALPINE = Server(
    "apache2",
    "/var/log/apache2",
    (("stdout", "/var/log/apache2/access.log"), ("stderr", "/var/log/apache2/error.log")),
    _APACHE_DIRECTIVES,
)
HTTPD_RHEL = Server(
    "httpd",
    "/var/log/httpd",
    (("stdout", "/var/log/httpd/access_log"), ("stderr", "/var/log/httpd/error_log")),
    _APACHE_DIRECTIVES,
)


def _server_for(manager: str, package: str) -> Server | None:
    name = re.split(r"[=~<>/:]", package, maxsplit=1)[0].lower()
    if name in _NGINX_PACKAGES or (manager in _RHEL and re.fullmatch(r"nginx-\d.*", name)):
        return NGINX
    if manager == "apt" and name == "apache2":
        return APACHE_DEBIAN
    if manager == "apk" and name == "apache2":
        return APACHE_ALPINE
    if manager in _RHEL and (name == "httpd" or re.fullmatch(r"httpd-\d.*", name)):
        return HTTPD_RHEL
    return None


def _official_server(base: str) -> Server | None:
    """Official images that already send their server's logs to stdout/stderr."""
    image = parse_image(base)
    if image is None:
        return None
    name = image.canonical_name
    tag = (image.tag or "").lower()
    if name in ("docker.io/library/nginx", "docker.io/nginxinc/nginx-unprivileged"):
        return NGINX
    if name == "docker.io/library/httpd":
        return HTTPD_OFFICIAL
    if name == "docker.io/library/php" and "apache" in tag:
        return APACHE_DEBIAN
    if name == "docker.io/library/wordpress" and not any(v in tag for v in ("fpm", "cli")):
        return APACHE_DEBIAN
    return None


# The official httpd image logs to /proc/self/fd/1 and 2 from its configuration.
HTTPD_OFFICIAL = Server("httpd", "/usr/local/apache2/logs", (), _APACHE_DIRECTIVES)


class ServerLogsToFile(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP112",
        name="server-logs-to-file",
        kind="dockerfile",
        title="Send nginx and Apache logs to stdout and stderr",
        what=(
            "Flags a final image that installs nginx or Apache (`nginx`, `apache2`, `httpd` "
            "through apt, apk or dnf/yum) when nothing in the image sends their logs to "
            "`/dev/stdout`/`/dev/stderr` (a symlink, or an `access_log`/`CustomLog` "
            "directive). Images built on the official `nginx`, `httpd` or `php:*-apache` "
            "images already do this and are flagged only when a RUN puts the logs back into "
            "files (removes or recreates the log files, or writes a log directive with a file "
            "path). Builder stages are not checked."
        ),
        why=(
            "Containers should log to stdout and stderr: the container runtime and the "
            "cluster collect, rotate and ship those streams, and `docker logs`/`kubectl logs` "
            "show them. Log files inside the container grow in its writable layer (copy-on-"
            "write, slow, never rotated), fill the node's disk, vanish with the container and "
            "are invisible to the logging pipeline."
        ),
        before=(
            "FROM debian:12.7-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends nginx \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n"
            'CMD ["nginx", "-g", "daemon off;"]\n'
        ),
        after=(
            "FROM debian:12.7-slim\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends nginx \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n"
            "RUN ln -sf /dev/stdout /var/log/nginx/access.log \\\n"
            "    && ln -sf /dev/stderr /var/log/nginx/error.log\n"
            'CMD ["nginx", "-g", "daemon off;"]\n'
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "Adds, right after the RUN that installs the server, the RUN the official images "
            "use: `ln -sf` from the default log files to `/dev/stdout` (access logs) and "
            "`/dev/stderr` (error logs); nginx: `/var/log/nginx/access.log`, `error.log`; "
            "Debian apache2: `/var/log/apache2/access.log`, `error.log`, "
            "`other_vhosts_access.log`; Alpine apache2: `/var/log/apache2/access.log`, "
            "`error.log`; RHEL httpd: `/var/log/httpd/access_log`, `error_log` (after a "
            "heredoc RUN a blank line goes first: hadolint cannot parse an instruction right "
            "after a heredoc terminator). Only the "
            "finding, no fix, when the image names the log directory anywhere else (a "
            "`VOLUME`, a `tail -f` of the logs, a `chown`), writes a log directive with "
            "another file, builds on an official image and undoes its links, or when the RUN "
            "that installs the server ends the file in a dangling line continuation (`\\`)."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/engine/logging/",
            "https://github.com/nginxinc/docker-nginx/blob/master/Dockerfile-debian.template",
            "https://12factor.net/logs",
        ),
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        if not doc.stages:
            return
        final = doc.stages[-1]
        chain = lineage(final)
        instructions = [i for s in chain for i in s.instructions]
        official = _official_server(chain[0].base)
        if official is not None:
            yield from self._check_override(ctx, official, instructions)
        seen: set[str] = set()
        for ins, server in _installs(chain):
            if server.log_dir in seen or (official is not None and official.name == server.name):
                continue
            seen.add(server.log_dir)
            if _sends_to_streams(doc, server, instructions):
                continue
            yield self._finding(ctx, ins, server, instructions)

    def _finding(
        self,
        ctx: Context[Dockerfile],
        ins: Instruction,
        server: Server,
        instructions: list[Instruction],
    ) -> Finding:
        doc = ctx.doc
        message = (
            f"{server.name} is installed and writes its logs to files in {server.log_dir}, "
            "not to stdout/stderr"
        )
        hint = " && ".join(f"ln -sf /dev/{stream} {path}" for stream, path in server.links)
        custom = _custom_log_paths(doc, server, instructions)
        others = [i for i in instructions if i is not ins and server.log_dir in _text(doc, i)]
        edit = _new_run_after(doc, ins, server)
        if custom or others or edit is None:
            if custom:
                why = f"the image writes logs to {', '.join(sorted(custom))}"
            elif others:
                why = f"line {others[0].line} uses {server.log_dir}"
            else:
                why = f"line {ins.line} ends in a line continuation that a new RUN would join"
            return self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                suggestion=f"send the logs to stdout/stderr ({why}): RUN {hint}",
            )
        return self.finding(
            ctx,
            ins.line,
            message,
            end_line=ins.end_line,
            edits=[edit],
            fix_description=f"link the {server.name} log files to stdout/stderr",
        )

    def _check_override(
        self, ctx: Context[Dockerfile], server: Server, instructions: list[Instruction]
    ) -> Iterator[Finding]:
        doc = ctx.doc
        for ins in runs(instructions):
            reason = _override(doc, server, ins)
            if reason is None:
                continue
            yield self.finding(
                ctx,
                ins.line,
                f"the base image sends {server.name} logs to stdout/stderr; this RUN {reason}",
                end_line=ins.end_line,
                suggestion="keep the base image's log links (or log to /dev/stdout, /dev/stderr)",
            )
            return


def _installs(chain: list[Stage]) -> Iterator[tuple[Instruction, Server]]:
    for stage in chain:
        for ins in runs(stage.instructions):
            for command in instruction_commands(ins):
                call = package_install(command)
                if call is None or call.manager not in _MANAGERS:
                    continue
                for package in call.packages():
                    server = _server_for(call.manager, package)
                    if server is not None:
                        yield ins, server


def _text(doc: Dockerfile, ins: Instruction) -> str:
    return doc.text[ins.start : ins.end]


def _sends_to_streams(doc: Dockerfile, server: Server, instructions: list[Instruction]) -> bool:
    """Some instruction links the log files, or points a log directive, at stdout/stderr."""
    for ins in instructions:
        text = _text(doc, ins)
        if not _STD_STREAM.search(text):
            continue
        if server.log_dir in text or _directive(server).search(text):
            return True
        if server.name == "apache2" and "APACHE_LOG_DIR" in text:
            return True
    return False


def _directive(server: Server) -> re.Pattern[str]:
    """A log directive and its first argument: ``access_log /var/log/x.log``."""
    names = "|".join(server.directives)
    return re.compile(
        r"(?:^|(?<=[\s\"';|#,({]))(?:" + names + r")\s+[\"']?([^\s\"';|]+)", re.IGNORECASE
    )


def _directive_paths(doc: Dockerfile, server: Server, ins: Instruction) -> set[str]:
    """Files that log directives written by a RUN (echo, sed, heredoc) point at."""
    text = _text(doc, ins)
    paths = set()
    for m in _directive(server).finditer(text):
        target = m.group(1)
        if target in ("off", "stderr", "stdout") or target.startswith(("syslog:", "memory:")):
            continue
        if _STD_STREAM.match(target) or target.startswith(("/dev/", "/proc/")):
            continue
        paths.add(target)
    return paths


def _custom_log_paths(doc: Dockerfile, server: Server, instructions: list[Instruction]) -> set[str]:
    paths: set[str] = set()
    for ins in runs(instructions):
        paths |= _directive_paths(doc, server, ins) - server.files
    return paths


_TOUCHES = frozenset({"rm", "unlink", "touch", "truncate", "mv", "cp", "install"})


def _override(doc: Dockerfile, server: Server, ins: Instruction) -> str | None:
    """How a RUN puts the base image's stream logging back into files, or None."""
    log_dir = server.log_dir
    for command in instruction_commands(ins):
        if not server.links:
            break  # the official httpd image logs to the streams from its configuration
        program = command.program
        args = [w.text for w in command.args]
        paths = [a for a in args if a == log_dir or a.startswith(log_dir + "/")]
        if not paths:
            continue
        if program in _TOUCHES or (program == "ln" and not any(_STD_STREAM.match(a) for a in args)):
            return f"replaces the log links ({program} {paths[0]})"
    found = _directive_paths(doc, server, ins)
    if found and not _STD_STREAM.search(_text(doc, ins)):
        return f"logs to {', '.join(sorted(found))}"
    return None


def _new_run_after(doc: Dockerfile, ins: Instruction, server: Server) -> Edit | None:
    """A RUN linking the log files, after ``ins`` in its keyword case and indentation."""
    indent = insert.indent_of(doc, ins)
    keyword = doc.text[ins.start + len(indent) :][:3]
    cont = _continuation_indent(doc, ins)
    links = [f"ln -sf /dev/{stream} {path}" for stream, path in server.links]
    lines = [f"{indent}{keyword} {links[0]}"] + [f"{cont}&& {link}" for link in links[1:]]
    lines = [f"{line} {doc.escape}" for line in lines[:-1]] + lines[-1:]
    return insert.insert_after(doc, ins, lines, indent="")


def _continuation_indent(doc: Dockerfile, ins: Instruction) -> str:
    """The indentation continuation lines use: this RUN's, else the file's, else 4 spaces."""
    candidates = [ins] + [i for i in doc.instructions if i is not ins]
    for candidate in candidates:
        if candidate.end_line == candidate.line or candidate.heredocs:
            continue
        body = doc.text[candidate.start : candidate.end].split("\n")[1:]
        indents = [
            line[: len(line) - len(line.lstrip(" \t"))]
            for line in body
            if line.strip() and not line.lstrip().startswith("#")
        ]
        indents = [i for i in indents if i]
        if indents:
            return min(indents, key=len)
    return "    "
