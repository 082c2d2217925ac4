"""Which repository Python modules the final image runs, from its CMD/ENTRYPOINT.

Pure functions over a parsed Dockerfile, used by ``DockerfileKind.related`` so that the Python
rules (CBP4xx) check the modules an image starts, and nothing else:

- ``python app.py``, ``python -m pkg.mod``, an executable ``/app/main.py``;
- the servers ``gunicorn app:app``, ``uvicorn main:app``, ``hypercorn main:app`` (also as
  ``python -m gunicorn ...``; ``--chdir``/``--app-dir`` move where the module is looked up);
- ``flask --app app run`` (or ``FLASK_APP``; without either Flask tries ``wsgi`` then ``app``);
- behind ``opentelemetry-instrument``, ``ddtrace-run``, ``newrelic-admin run-program`` and
  ``poetry``/``pipenv``/``pdm``/``uv run``.

A module is looked up where Python would: relative to the WORKDIR (the current directory is
on ``sys.path`` for ``-m`` and the servers), as ``pkg/mod.py`` or the package
``pkg/mod/__init__.py`` (``__main__.py`` for ``-m``). The in-image path is mapped back to the
build context through COPY/ADD exactly as the entrypoint scripts are
(``fixers.dockerfile.entrypoints``: the build context is the Dockerfile's directory); guesses
that do not exist are dropped quietly by the run (related files are optional).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fixers.dockerfile.commands import SHELLS, tokenize
from fixers.dockerfile.entrypoints import (
    copy_map,
    final_stage,
    in_image_paths,
    in_repository,
    is_windows,
    join_workdir,
    lineage,
    program,
    source_candidates,
    start_command,
)
from fixers.dockerfile.parser import Dockerfile, Instruction, Stage

_PYTHON = re.compile(r"^(?:python|pypy)(?:\d+(?:\.\d+)*)?$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "flask"})
# Options of python itself that take the next word.
_PYTHON_VALUE_OPTIONS = frozenset({"-W", "-X", "--check-hash-based-pycs"})
# Options of gunicorn, uvicorn and hypercorn that take the next word (so it is not the app).
_SERVER_VALUE_OPTIONS = frozenset(
    {"-b", "--bind", "-w", "--workers", "-k", "--worker-class", "-c", "--config", "-t",
     "--timeout", "--chdir", "--app-dir", "--host", "--port", "--uds", "--fd", "--log-level",
     "--log-config", "--access-logfile", "--error-logfile", "--log-file", "--threads",
     "--graceful-timeout", "--keep-alive", "--max-requests", "--max-requests-jitter", "-u",
     "--user", "-g", "--group", "-e", "--env", "--pythonpath", "--worker-connections",
     "--forwarded-allow-ips", "--root-path", "--loop", "--http", "--ws", "--lifespan",
     "--interface", "--env-file", "--ssl-keyfile", "--ssl-certfile", "--certfile", "--keyfile",
     "--limit-concurrency", "--limit-max-requests", "--timeout-keep-alive",
     "--timeout-graceful-shutdown", "--worker-tmp-dir", "--umask", "--backlog", "-p", "--pid",
     "-n", "--name", "--access-logformat", "--access-log-format", "--logger-class",
     "--log-syslog-to", "--statsd-host", "--reload-dir", "--reload-include",
     "--reload-exclude", "--header", "--ws-max-size", "--limit-request-line",
     "--limit-request-fields", "--limit-request-field_size", "--proxy-protocol",
     "--server-names", "--keep-alive-timeout", "--insecure-bind", "--quic-bind",
     "-A", "--app"}
)  # fmt: skip
_CHDIR_OPTIONS = frozenset({"--chdir", "--app-dir"})
_RUNNERS = frozenset({"poetry", "pipenv", "pdm", "uv", "hatch", "rye"})
_FLASK_APP_ENV = re.compile(r"(?:^|\s)FLASK_APP[=\s]\s*([\"']?)([^\s\"']+)\1")


@dataclass(frozen=True)
class _Target:
    name: str  # a path (``app.py``, ``src/app.py``) or a dotted module (``pkg.mod``)
    is_module: bool
    main: bool = False  # run with ``-m``: a package means its ``__main__.py``
    chdir: str | None = None  # where the server looks the module up (``--chdir``)


def _option_value(words: Sequence[str], i: int) -> tuple[str | None, str | None, int]:
    """(option, value, next index) for ``--opt value``/``--opt=value`` at ``words[i]``."""
    word = words[i]
    if word.startswith("--") and "=" in word:
        option, value = word.split("=", 1)
        return option, value, i + 1
    if word in _SERVER_VALUE_OPTIONS:
        return word, words[i + 1] if i + 1 < len(words) else None, i + 2
    return word, None, i + 1


def _app_module(spec: str) -> _Target | None:
    """``pkg.mod:app`` / ``app:create_app()`` / ``app.py`` / ``src/app.py`` as a target."""
    name = spec.split(":", 1)[0]
    if name.endswith(".py") or "/" in name:
        return _Target(name, is_module=False)
    if _MODULE.match(name):
        return _Target(name, is_module=True)
    return None


def _server_targets(server: str, args: Sequence[str], env: dict[str, str]) -> list[_Target]:
    chdir: str | None = None
    app: str | None = None
    positional: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            positional.extend(args[i + 1 :])
            break
        if word.startswith("-"):
            option, value, i = _option_value(args, i)
            if option in _CHDIR_OPTIONS and value:
                chdir = value
            elif option in ("-A", "--app") and value:
                app = value
            continue
        positional.append(word)
        i += 1
    if server == "flask":
        spec = app or env.get("FLASK_APP")
        specs = [spec] if spec else ["wsgi", "app"]
    else:
        specs = positional[:1]
    targets = []
    for spec in specs:
        target = _app_module(spec)
        if target is not None:
            targets.append(_Target(target.name, target.is_module, chdir=chdir))
    return targets


def _python_targets(args: Sequence[str], env: dict[str, str]) -> list[_Target]:
    """What ``python <args>`` runs: a script, or a module (``-m``)."""
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word in _PYTHON_VALUE_OPTIONS:
            i += 1
            continue
        if word.startswith("--"):
            continue
        if not word.startswith("-") or word == "-":
            return [_Target(word, is_module=False)] if word.endswith(".py") else []
        # A cluster of one-letter flags: `-u`, `-OO`, `-Wignore`, `-um pkg`, `-c '...'`.
        for index, letter in enumerate(word[1:], start=1):
            rest = word[index + 1 :]
            if letter == "c":
                return []  # python -c '...': no file
            if letter in "WX":
                i += 0 if rest else 1
                break
            if letter == "m":
                module = rest or (args[i] if i < len(args) else "")
                after = args[i:] if rest else args[i + 1 :]
                if module in SERVERS:
                    return _server_targets(module, after, env)
                return [_Target(module, is_module=True, main=True)] if _MODULE.match(module) else []
    return []


def _environment(stage: Stage, words: Sequence[str]) -> dict[str, str]:
    """``FLASK_APP`` from ENV in the stage's lineage, or a ``FLASK_APP=...`` command prefix."""
    env: dict[str, str] = {}
    for s in lineage(stage):
        for ins in s.instructions:
            if ins.keyword == "ENV":
                m = _FLASK_APP_ENV.search(ins.args)
                if m and "$" not in m.group(2):
                    env["FLASK_APP"] = m.group(2)
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name.isidentifier():
            break
        if name == "FLASK_APP" and value and "$" not in value:
            env["FLASK_APP"] = value
    return env


def _past_wrappers(argv: Sequence[str]) -> list[str]:
    """The command a tracing agent or a project runner starts: ``opentelemetry-instrument
    python app.py``, ``ddtrace-run gunicorn app:app``, ``newrelic-admin run-program ...``,
    ``poetry run ...`` (also ``pipenv``, ``pdm``, ``uv``)."""
    rest = list(argv)
    for _ in range(4):  # wrappers may nest: `uv run ddtrace-run python app.py`
        if not rest:
            break
        name = posixpath.basename(rest[0])
        if name == "opentelemetry-instrument":
            i = 1
            while i < len(rest) and rest[i].startswith("-"):
                i += 1 if "=" in rest[i] else 2  # every option of it takes a value
            rest = rest[i:]
        elif name == "ddtrace-run":
            i = 1
            while i < len(rest) and rest[i].startswith("-"):
                i += 1
            rest = rest[i:]
        elif name == "newrelic-admin" and rest[1:2] == ["run-program"]:
            rest = rest[2:]
        elif name in _RUNNERS and rest[1:2] == ["run"]:
            i = 2
            while i < len(rest) and rest[i].startswith("-"):
                i += 1
            rest = rest[i:]
        else:
            break
    return rest


def targets_of(words: Sequence[str], stage: Stage) -> tuple[list[_Target], str | None]:
    """The Python targets one command line runs, and the program word when that is itself a
    ``.py`` file (an executable script)."""
    env = _environment(stage, words)
    argv = _past_wrappers(program(words))
    if not argv or not argv[0] or "$" in argv[0]:
        return [], None
    name = posixpath.basename(argv[0])
    if _PYTHON.match(name):
        return _python_targets(argv[1:], env), None
    if name in SERVERS:
        return _server_targets(name, argv[1:], env), None
    if name.endswith(".py"):
        return [], argv[0]
    return [], None


def _command_lines(ins: Instruction) -> list[list[str]]:
    """The command lines of a CMD/ENTRYPOINT: the JSON list, or each shell command (and those
    of ``sh -c '...'``)."""
    if ins.json_args is not None:
        lines = [list(ins.json_args)]
    else:
        lines = [c.argv for c in tokenize(ins.logical, range(len(ins.logical))) if c.words]
    out: list[list[str]] = []
    for words in lines:
        out.append(words)
        if words and posixpath.basename(words[0]) in SHELLS and "-c" in words[1:]:
            index = words.index("-c", 1)
            if index + 1 < len(words):
                script = words[index + 1]
                out.extend(c.argv for c in tokenize(script, range(len(script))) if c.words)
    return out


def _in_image(target: _Target, workdir: str | None) -> list[str]:
    base = join_workdir(workdir, target.chdir) if target.chdir else workdir
    if base is None:
        return []
    if not target.is_module:
        path = join_workdir(base, target.name)
        return [path] if path else []
    stem = posixpath.join(base, *target.name.split("."))
    package = "__main__.py" if target.main else "__init__.py"
    return [stem + ".py", posixpath.join(stem, package)]


def python_sources(doc: Dockerfile) -> list[str]:
    """Build-context paths of the Python modules the final image runs."""
    stage = final_stage(doc)
    if stage is None or is_windows(stage):
        return []
    start = start_command(stage)
    copies, workdir, path_dirs = copy_map(stage)
    lines: list[list[str]] = []
    ep, cmd = start.entrypoint, start.cmd
    if ep is not None and ep.json_args != []:
        ep_lines = _command_lines(ep)
        if ep.json_args is not None and cmd is not None and cmd.json_args is not None:
            lines.append(ep_lines[0] + list(cmd.json_args))  # ENTRYPOINT ["python"] + CMD
        lines.extend(ep_lines)
    if cmd is not None:
        lines.extend(_command_lines(cmd))
    in_image: list[str] = []
    for words in lines:
        targets, script = targets_of(words, stage)
        if script is not None:
            in_image.extend(in_image_paths(script, workdir, path_dirs))
        for target in targets:
            in_image.extend(_in_image(target, workdir))
    found: list[str] = []
    for target_path in dict.fromkeys(in_image):
        for copy in reversed(copies):  # the last COPY to write a path wins
            candidates = source_candidates(copy, target_path)
            if candidates:
                found.extend(c for c in candidates if c.endswith(".py"))
                break
    return list(dict.fromkeys(found))


def python_modules(doc: Dockerfile, dockerfile_path: str) -> list[str]:
    """Repository paths of the Python modules the final image runs (the build context taken
    to be the Dockerfile's directory; paths that would leave the repository are dropped)."""
    return in_repository(dockerfile_path, python_sources(doc))
