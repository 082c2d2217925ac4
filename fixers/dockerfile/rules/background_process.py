"""CBP108: the container's command runs one service in the foreground, nothing in the background."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fixers.dockerfile.commands import SHELLS, Command, instruction_commands, tokenize
from fixers.dockerfile.entrypoints import start_command
from fixers.dockerfile.parser import Dockerfile, Instruction
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc

# Words in front of the program that do not change what runs.
_PREFIXES = frozenset({"exec", "do", "then", "else", "!", "{", "command", "builtin"})
_WRAPPERS = frozenset({"sudo", "env", "time", "nice", "ionice", "stdbuf", "setsid"})
_WRAPPER_VALUE_FLAGS = {
    "sudo": frozenset({"-u", "-g"}), "nice": frozenset({"-n"}), "ionice": frozenset({"-c", "-n"}),
}  # fmt: skip
# Init processes that run their arguments as the one child (`tini -- cmd`).
_INITS = frozenset({"tini", "tini-static", "dumb-init", "catatonit", "docker-init"})
_USER_SWITCHERS = frozenset({"gosu", "su-exec"})  # `gosu user cmd`
_STARTS = frozenset({"start", "restart", "reload", "force-reload"})
# Process managers that run several services in one container, by design.
_MANAGERS = frozenset(
    {"supervisord", "supervisorctl", "s6-svscan", "s6-supervise", "runsvdir", "runsv", "circusd"}
)
# Daemons that fork into the background unless given one of these flags.
_FORKING = {"cron": ("-f", "-n"), "crond": ("-f", "-n"), "sshd": ("-D", "-d"), "rsyslogd": ("-n",)}
# Flags that make a server daemonize itself.
_DAEMONIZE: dict[str, tuple[tuple[str, ...], ...]] = {
    "php-fpm": (("-D",), ("--daemonize",)), "redis-server": (("--daemonize", "yes"),),
    "mongod": (("--fork",),), "httpd": (("-k", "start"),), "apache2": (("-k", "start"),),
}  # fmt: skip
_INFINITE_SLEEPS = frozenset({"infinity", "inf"})


BACKGROUND, MANAGER, FOLLOW = "background", "manager", "follow"


_FOLLOW_AFTER = (
    "keeps the container alive by following a log with `tail -f`, so it no longer stops "
    "when the service does"
)


@dataclass(frozen=True)
class _Problem:
    text: str
    # BACKGROUND: something runs unsupervised; MANAGER: several services, but supervised;
    # FOLLOW: `tail -f` of a log as the only command, a problem only next to a BACKGROUND one.
    kind: str = BACKGROUND


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _unwrap(argv: Sequence[str]) -> list[str]:
    """The argv of the program that actually runs, past `exec`, `VAR=x`, sudo and inits."""
    words = list(argv)
    while words:
        first = words[0]
        name = _base(first)
        if first in _PREFIXES or ("=" in first and first.split("=", 1)[0].isidentifier()):
            words = words[1:]
        elif name in _WRAPPERS or name in _INITS:
            takes_value = _WRAPPER_VALUE_FLAGS.get(name, frozenset())
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in takes_value else words[1:]
        elif name in _USER_SWITCHERS:
            words = words[2:]
        else:
            break
    return words


def _shell_script(argv: Sequence[str]) -> str | None:
    """The script of `sh -c 'script'` (also `-ec`, `-lc`), or None."""
    if not argv or _base(argv[0]) not in SHELLS:
        return None
    for i, word in enumerate(argv[1:], start=1):
        if not word.startswith("-"):
            return None
        if "c" in word[1:] and not word.startswith("--"):
            return argv[i + 1] if i + 1 < len(argv) else ""
    return None


def _has_sequence(args: Sequence[str], seq: Sequence[str]) -> bool:
    n = len(seq)
    return any(list(args[i : i + n]) == list(seq) for i in range(len(args) - n + 1))


def _is_follow(arg: str) -> bool:
    if arg.startswith("--"):
        return arg == "--follow" or arg.startswith("--follow=")
    return arg.startswith("-") and ("f" in arg or "F" in arg)


def _argv_problems(argv: Sequence[str], depth: int = 0) -> list[_Problem]:
    """Problems of one simple command, given as its words."""
    words = _unwrap(argv)
    if not words:
        return []
    script = _shell_script(words)
    if script is not None:
        return _script_problems(script, depth + 1)
    program = _base(words[0])
    args = words[1:]
    if program == "nohup":
        target = _unwrap(args)
        shown = _base(target[0]) if target else "a command"
        return [_Problem(f"detaches `{shown}` with `nohup`"), *_argv_problems(target, depth)]
    if program == "service" and len(args) >= 2 and args[1] in _STARTS:
        return [_Problem(f"starts the `{args[0]}` service, which daemonizes it")]
    if words[0].startswith(("/etc/init.d/", "/etc/rc.d/")) and args and args[0] in _STARTS:
        return [_Problem(f"starts `{program}` through its init script, which daemonizes it")]
    if program in ("systemctl", "rc-service", "openrc") and any(a in _STARTS for a in args):
        unit = next((a for a in args if not a.startswith("-") and a not in _STARTS), "a unit")
        return [_Problem(f"starts `{unit}` with `{program}`, which daemonizes it")]
    if program in ("apachectl", "apache2ctl") and any(a in _STARTS for a in args):
        return [_Problem(f"starts Apache with `{program} start`, which daemonizes it")]
    if program == "pm2" and args and args[0] in _STARTS and "--no-daemon" not in args:
        return [
            _Problem("starts processes in the pm2 daemon (`pm2-runtime` runs in the foreground)")
        ]
    # php-fpm is often versioned: php-fpm8.2.
    for flags in _DAEMONIZE.get("php-fpm" if program.startswith("php-fpm") else program, ()):
        if _has_sequence(args, flags):
            return [_Problem(f"starts `{program}` daemonized with `{' '.join(flags)}`")]
    if program in _FORKING and not any(a in _FORKING[program] for a in args):
        wanted = " or ".join(f"`{f}`" for f in _FORKING[program])
        return [_Problem(f"starts `{program}`, which forks into the background without {wanted}")]
    if program in _MANAGERS:
        return [_Problem(f"runs several services under `{program}`", MANAGER)]
    if program == "tail" and any(_is_follow(a) for a in args):
        if "/dev/null" in args:
            return [_Problem("keeps the container alive with `tail -f /dev/null`")]
        # Alone, following a log is what a log-shipping sidecar does.
        return [_Problem("follows a log with `tail -f`", FOLLOW)]
    if program == "sleep" and args and args[0] in _INFINITE_SLEEPS:
        return [_Problem(f"keeps the container alive with `sleep {args[0]}`")]
    return []


def _script_problems(script: str, depth: int = 0) -> list[_Problem]:
    if depth > 3:
        return []
    return _commands_problems(tokenize(script, range(len(script))), depth)


def _commands_problems(commands: Sequence[Command], depth: int = 0) -> list[_Problem]:
    problems: list[_Problem] = []
    looping = False
    for index, command in enumerate(commands):
        argv = command.argv
        if argv[:2] in (["while", "true"], ["while", ":"], ["until", "false"]):
            looping = True
        found = _argv_problems(argv, depth)
        if index > 0:
            # `start-things && tail -f app.log`: the tail, not the service, keeps it running.
            found = [_Problem(_FOLLOW_AFTER) if p.kind == FOLLOW else p for p in found]
        words = _unwrap(argv)
        if command.after == "&" and words:
            shown = _unwrap(words[1:]) if _base(words[0]) == "nohup" else words
            name = _base(shown[0]) if shown else "a command"
            found.insert(0, _Problem(f"runs `{name}` in the background with `&`"))
        if looping and words and _base(words[0]) == "sleep":
            found.append(_Problem("keeps the container alive with an endless `sleep` loop"))
            looping = False
        problems.extend(found)
    return problems


def _instruction_problems(ins: Instruction) -> list[_Problem]:
    argv = ins.json_args
    if argv is None:
        return _commands_problems(instruction_commands(ins))
    return _argv_problems(argv)


class BackgroundProcess(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP108",
        name="background-process",
        kind="dockerfile",
        title="Run one service in the foreground as the container's command",
        what=(
            "Flags the `CMD` or `ENTRYPOINT` the final image runs (shell form, or `sh -c "
            "'...'` in exec form) when it starts something in the background (`&`, `nohup`, "
            "`service x start`, `/etc/init.d/x start`, `systemctl start`, `apachectl start`, "
            "`pm2 start`, `cron` or `sshd` without their foreground flag) or keeps the "
            "container alive artificially (`tail -f /dev/null`, `sleep infinity`, a `while "
            "true; do sleep` loop). Process managers (`supervisord`, `s6-svscan`, "
            "`runsvdir`) are flagged with a milder message: they supervise their services, "
            "but still put several in one container; set `allow_process_managers` to accept "
            "them. `RUN` lines are left alone (starting a database to seed it during the "
            "build is fine), and so are earlier stages and overridden `CMD`s."
        ),
        why=(
            "One process per container lets the runtime supervise, restart and scale each "
            "service, deliver its signals and collect its logs. A backgrounded process is "
            "orphaned from that: `docker stop` sends SIGTERM to PID 1 only, so it is killed "
            "without a chance to shut down cleanly; when it crashes nothing notices and the "
            "container keeps running; and its output often goes nowhere. `tail -f /dev/null` "
            "and `sleep infinity` hide a dead service behind a healthy-looking container."
        ),
        before=(
            "FROM php:8.3-fpm\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends nginx\n"
            "CMD service nginx start && php-fpm -D && tail -f /dev/null\n"
        ),
        after=None,
        fix=FixSafety.NONE,
        fix_notes=(
            "Detect-only: the fix is a new layout, not an edit. Split the services into "
            "separate containers (compose services, or containers of one Kubernetes Pod that "
            "share localhost and volumes) and run each in the foreground as PID 1, e.g. "
            '`CMD ["nginx", "-g", "daemon off;"]` and `CMD ["php-fpm", "-F"]`.'
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/engine/containers/multi-service_container/",
            "https://docs.docker.com/build/building/best-practices/#decouple-applications",
            "https://kubernetes.io/docs/concepts/workloads/pods/#how-pods-manage-multiple-containers",
        ),
        options={"allow_process_managers": False},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        if not ctx.doc.stages:
            return
        start = start_command(ctx.doc.stages[-1])
        entrypoint, cmd = start.entrypoint, start.cmd
        targets: list[tuple[Instruction, list[_Problem]]] = []
        if entrypoint is not None:
            entry_argv = entrypoint.json_args
            script = _shell_script(_unwrap(entry_argv)) if entry_argv is not None else None
            if entry_argv is None:
                cmd = None  # a shell-form ENTRYPOINT ignores CMD
            elif script == "" and cmd is not None and cmd.json_args:
                # `ENTRYPOINT ["sh", "-c"]` runs the CMD's first word as its script.
                targets.append((cmd, _script_problems(cmd.json_args[0])))
                cmd = None
            targets.append((entrypoint, _instruction_problems(entrypoint)))
        if cmd is not None:
            targets.append((cmd, _instruction_problems(cmd)))
        allow_managers = bool(self.option(ctx, "allow_process_managers"))
        for ins, problems in sorted(targets, key=lambda t: t[0].line):
            message = self._message(ins, problems, allow_managers)
            if message is None:
                continue
            yield self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                suggestion=(
                    "run each service in its own container (compose services, or containers "
                    'of one Kubernetes Pod), in the foreground: `CMD ["nginx", "-g", '
                    '"daemon off;"]`, `CMD ["php-fpm", "-F"]`'
                ),
            )

    def _message(
        self, ins: Instruction, problems: list[_Problem], allow_managers: bool
    ) -> str | None:
        strong = [p for p in problems if p.kind == BACKGROUND]
        managers = [p for p in problems if p.kind == MANAGER]
        if not strong and (allow_managers or not managers):
            return None
        shown = problems if strong else managers
        texts: list[str] = []
        for p in shown:
            if p.text not in texts:
                texts.append(p.text)
        if strong:
            return f"{ins.keyword} " + "; ".join(texts)
        return (
            f"{ins.keyword} " + "; ".join(texts) + " in one container: the manager restarts "
            "them, but the runtime cannot restart, scale or collect the logs of each one"
        )
