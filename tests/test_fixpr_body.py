"""The fix pull request's title, body and state marker, and the Actions job summary."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import __version__
from bot.fixpr.body import (
    config_disable_snippet,
    config_ignore_snippet,
    github_anchor,
    pr_body,
    pr_title,
)
from bot.fixpr.state import PrState, decode, encode, fixes_digest
from bot.markdown import code, fenced
from bot.summary import FINDING_ROWS, job_summary
from fixers.config import find_config, load_config, parse_config
from fixers.engine import Selection
from fixers.model import Finding, Severity, Skipped
from fixers.registry import docs, find_rule
from fixers.run import RunResult, discover, run
from fixers.source import LocalSource

ROOT = Path(__file__).resolve().parent.parent
REPO_URL = "https://github.com/OWNER/container-bp-action"
STATE = PrState(base_sha="a" * 40, fixes_digest="d" * 64, version=__version__)

DOCKERFILE = """\
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl
CMD python app.py
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: once
          image: busybox:latest
          imagePullPolicy: IfNotPresent
          command: ["true"]
"""


class MemorySource:
    """Files held in a dict: all the engine needs of a source."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def walk(self, under: str = "") -> Iterator[str]:
        prefix = under.strip("/") + "/" if under.strip("/") else ""
        return iter(sorted(p for p in self.files if p.startswith(prefix)))

    def read_text(self, path: str) -> str:
        try:
            return self.files[path]
        except KeyError:
            raise FileNotFoundError(path) from None


def fix(files: dict[str, str], *, unsafe: bool = False) -> RunResult:
    source = MemorySource(files)
    return run(source, discover(source), Selection(), fix=True, unsafe=unsafe)


def scan(files: dict[str, str]) -> RunResult:
    source = MemorySource(files)
    return run(source, discover(source), Selection())


@pytest.fixture(scope="module")
def small() -> RunResult:
    return fix({"app/Dockerfile": DOCKERFILE, "k8s/job.yaml": JOB}, unsafe=True)


@pytest.fixture(scope="module")
def huge() -> RunResult:
    files = {f"svc{i:03}/Dockerfile": DOCKERFILE for i in range(300)}
    return fix(files, unsafe=True)


def fences_balanced(text: str) -> bool:
    """Every fenced code block that opens also closes (CommonMark's rules, simplified)."""
    open_fence: str | None = None
    for line in text.splitlines():
        m = re.match(r" {0,3}(`{3,}|~{3,})", line)
        if open_fence is None:
            if m:
                open_fence = m.group(1)
        elif (
            m
            and m.group(1)[0] == open_fence[0]
            and len(m.group(1)) >= len(open_fence)
            and not line.strip().strip(open_fence[0])
        ):
            open_fence = None
    return open_fence is None


def table_rows(body: str, heading: str) -> list[str]:
    section = body.split(heading, 1)[1]
    return [line for line in section.split("\n\n", 3)[1].splitlines()[2:] if line]


def unescaped_pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


# -- the body ---------------------------------------------------------------------------------


def test_title_counts_findings_and_files(small: RunResult) -> None:
    applied = sum(len(r.applied) for r in small.files)
    assert pr_title(small) == (
        f"container-bp: fix {applied} container best-practice findings in 2 files"
    )
    one = fix({"Dockerfile": "FROM python:3.12-slim\nCMD python app.py\n"})
    assert "fix 2 container best-practice findings in 1 file" in pr_title(one)


def test_every_applied_finding_is_a_row_of_the_changes_table(small: RunResult) -> None:
    body = pr_body(small, state=STATE, repo_url=REPO_URL, unsafe=True)
    rows = table_rows(body, "## Changes")
    applied = [f for r in small.files for f in r.applied]
    assert len(rows) == len(applied) > 5
    for f in applied:
        doc = find_rule(f.rule)
        assert doc is not None
        cells = f"[{f.rule} `{doc.doc.name}`][{f.rule}] | `{f.path}` | {f.line} |"
        assert any(cells in row for row in rows), cells
    # Each linked rule resolves to its section of docs/rules.md.
    reference = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for rule_code in {f.rule for f in applied}:
        doc = find_rule(rule_code)
        assert doc is not None
        anchor = github_anchor(f"{doc.doc.code} {doc.doc.name}")
        assert f"[{rule_code}]: {REPO_URL}/blob/HEAD/docs/rules.md#{anchor}\n" in body
        assert f"\n## {doc.doc.code} {doc.doc.name}\n" in reference


def test_without_a_repo_url_rules_are_plain(small: RunResult) -> None:
    body = pr_body(small, state=STATE)
    assert "](" not in body.split("## Why these changes")[0]
    assert "| CBP103 `shell-form-command` |" in body


def test_a_section_per_rule_with_why_example_safety_and_ignore(small: RunResult) -> None:
    body = pr_body(small, state=STATE, unsafe=True)
    for rule_code in sorted({f.rule for r in small.files for f in r.applied}):
        rule = find_rule(rule_code)
        assert rule is not None
        doc = rule.doc
        section = body.split(f"### {doc.code} {doc.name} — {doc.title}\n", 1)[1]
        section = section.split("\n### ", 1)[0].split("\n## ", 1)[0]
        assert doc.why in section
        assert doc.before.rstrip() in section and doc.after is not None
        assert doc.after.rstrip() in section
        assert f"```{ {'k8s': 'yaml'}.get(doc.kind, doc.kind) }\n" in section
        assert "**Fix safety:**" in section and doc.fix_notes in section
        assert f"`# container-bp ignore={doc.code} <reason>`" in section
        assert f"rules:\n  disable: [{doc.code}]" in section
        if doc.kind == "k8s":
            assert f'container-bp.io/ignore: "{doc.code}"' in section
    # CBP205's fix is unsafe: the body says so.
    assert "unsafe: it may change what the container does" in body
    # Remaining findings get a table and a section of their own.
    assert "## Not fixed automatically" in body and "### CBP101 unpinned-base-image" in body


def test_unsafe_fixes_not_applied_are_hinted(small: RunResult) -> None:
    safe = fix({"app/Dockerfile": DOCKERFILE, "k8s/job.yaml": JOB})
    body = pr_body(safe, state=STATE)
    rows = table_rows(body, "## Not fixed automatically\n\nThese")
    assert any("CBP205" in row and "an unsafe fix exists" in row for row in rows)
    assert "Only safe fixes" in body
    assert "unsafe, so it is not applied here" in body


def test_config_snippets_parse_and_do_what_they_say(small: RunResult) -> None:
    all_docs = docs()
    odd = ["Dockerfile", "a b/[x]*?.yaml", "dir/#notes/!Dockerfile", 'q"uote\\/Dockerfile ']
    for doc in all_docs:
        config = parse_config(config_disable_snippet(doc), "t.yml", all_docs)
        assert not config.is_enabled(doc)
        assert all(config.is_enabled(d) for d in all_docs if d is not doc)
        config = parse_config(config_ignore_snippet(doc, odd), "t.yml", all_docs)
        assert config.is_enabled(doc)
        for path in odd:
            assert config.ignores(path, doc, None), path
        assert not config.ignores("sub/Dockerfile", doc, None)
        assert not config.ignores("a b/x.yaml", doc, None)
    # The snippets in the body itself parse too.
    body = pr_body(small, state=STATE, unsafe=True)
    snippets = re.findall(r"```yaml\n((?:rules|ignore):.*?)```", body, re.DOTALL)
    assert len(snippets) >= 2 * len({f.rule for r in small.files for f in r.applied})
    for snippet in snippets:
        config = parse_config(snippet, "body.yml", all_docs)
        assert config.disable or config.ignore


def test_diffs_are_collapsed_per_file(small: RunResult) -> None:
    body = pr_body(small, state=STATE, unsafe=True)
    for r in small.files:
        assert re.search(rf"<details><summary><code>{r.path}</code> \(\d+ lines changed\)", body)
    assert "```diff\n--- a/app/Dockerfile\n+++ b/app/Dockerfile\n" in body
    assert fences_balanced(body)


def test_long_diffs_are_cut_outside_the_fence() -> None:
    text = "".join(f"RUN echo {i}\n" for i in range(400))
    result = fix({"Dockerfile": f"FROM python:3.12-slim\n{text}CMD python app.py\n"})
    result.files[0].fixed = (result.files[0].fixed or "").replace("RUN echo", "RUN  echo")
    body = pr_body(result, state=STATE)
    assert "_The diff is cut after 200 lines" in body
    assert fences_balanced(body)


def test_footer_and_state_marker_last(small: RunResult) -> None:
    body = pr_body(small, state=STATE)
    assert f"Generated by container-bp {__version__}" in body
    assert "`.container-bp.yml`" in body.split("---\n")[-1]
    assert body.rstrip("\n").endswith(encode(STATE))
    assert decode(body) == STATE


def test_pipes_and_backticks_do_not_break_tables() -> None:
    result = fix({"we|ird`dir/Dockerfile": DOCKERFILE})
    file = result.files[0]
    assert file.applied
    messages = [
        "a | b ` c",
        "`d|e` and ``f`|g`` then \\| h",
        "<script>alert(1)</script> *not* _emphasis_",
        "line\nbreak",
    ]
    file.remaining = [
        Finding("CBP108", file.path, 3, 3, m, Severity.WARNING, suggestion=m) for m in messages
    ]
    body = pr_body(result, state=STATE, repo_url=REPO_URL)
    changes = table_rows(body, "## Changes")
    assert len(changes) == len(file.applied)
    assert all(unescaped_pipes(row) == 5 for row in changes)
    left = table_rows(body, "## Not fixed automatically\n\nThese")
    assert len(left) == len(file.remaining)
    assert all(unescaped_pipes(row) == 6 for row in left), left
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "<code>d&#124;e</code>" in body
    assert "| <code>we&#124;ird&#96;dir&#47;Dockerfile</code> |" in body
    summary = job_summary(result, mode="fix")
    rows = [line for line in summary.splitlines() if line.startswith("| CBP")]
    assert rows and all(unescaped_pipes(row) == 5 for row in rows)


def test_code_and_fences_hold_any_backticks() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    block = fenced("one\n```\ntwo\n", "diff")
    assert block.startswith("````diff\n") and block.endswith("\n````")
    assert fences_balanced(block + "\n" + fenced("~~~~\n````` x", "sh"))


def test_huge_result_fits_and_keeps_the_marker(huge: RunResult) -> None:
    applied = sum(len(r.applied) for r in huge.files)
    assert applied >= 900
    for limit in (65_000, 20_000, 4_000):
        body = pr_body(huge, state=STATE, repo_url=REPO_URL, unsafe=True, limit=limit)
        assert len(body) <= limit, (limit, len(body))
        assert body.rstrip("\n").endswith(encode(STATE))
        assert decode(body) == STATE
        assert fences_balanced(body)
        assert "shortened to fit GitHub's size limit" in body
    body = pr_body(huge, state=STATE, limit=65_000)
    assert "…and " in body and "## Diffs" not in body
    assert all(unescaped_pipes(row) == 5 for row in table_rows(body, "## Changes"))


def test_degrades_step_by_step(small: RunResult) -> None:
    full = pr_body(small, state=STATE, unsafe=True)
    some = pr_body(small, state=STATE, unsafe=True, limit=len(full) - 1)
    assert len(some) < len(full)
    assert "_The diffs of 1 file are left out" in some
    assert "### CBP103" in some and "**Fix safety:**" in some
    none = pr_body(small, state=STATE, unsafe=True, limit=len(full) - 2000)
    assert "## Diffs" not in none and "**Fix safety:**" not in none
    assert "**Why it matters.**" in none and "shortened to fit" in none
    tiny = pr_body(small, state=STATE, unsafe=True, limit=1500)
    assert len(tiny) <= 1500 and decode(tiny) == STATE


# -- the state --------------------------------------------------------------------------------


def test_state_round_trips_and_tolerates_garbage() -> None:
    odd = PrState(base_sha="b" * 40, fixes_digest="x", version="1.0 --> <!-- }")
    assert decode(encode(odd)) == odd
    assert "-->" not in encode(odd)[:-3]
    full = STATE.replace(head_sha="c" * 40, closed_by_bot=True, blocked_sha="e" * 40)
    assert decode("text\r\n\r\n" + encode(full) + "\r\n") == full
    assert decode(f"{encode(odd)}\n\nlater\n{encode(STATE)}") == STATE  # the last one
    for garbage in (
        None,
        "",
        "no marker here",
        "<!-- container-bp:state not json -->",
        "<!-- container-bp:state [1, 2] -->",
        '<!-- container-bp:state {"base_sha": "a", "version": "1"} -->',
        '<!-- container-bp:state {"base_sha": 1, "fixes_digest": "d", "version": "1"} -->',
        '<!-- container-bp:state {"base_sha":"a","fixes_digest":"d","version":"1",'
        '"closed_by_bot":"yes"} -->',
        "<!-- container-bp:state {",
    ):
        assert decode(garbage) is None, garbage
    assert decode('<!--container-bp:state {"base_sha":"a","fixes_digest":"d","version":"1"}-->')


def test_fixes_digest_depends_on_content_not_order() -> None:
    one = fixes_digest({"a/Dockerfile": "FROM x\n", "b.yaml": "kind: Pod\n"})
    assert one == fixes_digest({"b.yaml": "kind: Pod\n", "a/Dockerfile": "FROM x\n"})
    assert one != fixes_digest({"a/Dockerfile": "FROM y\n", "b.yaml": "kind: Pod\n"})
    assert fixes_digest({"a": "bc"}) != fixes_digest({"ab": "c"})
    assert re.fullmatch(r"[0-9a-f]{64}", one)


# -- the job summary --------------------------------------------------------------------------


def test_job_summary_counts_and_lists(small: RunResult) -> None:
    result = RunResult(
        files=small.files,
        skipped=[Skipped("bin/blob", "binary file (contains NUL bytes)")],
        errors=[Skipped("k8s/bad.yaml", "internal error: KeyError: 'x'")],
    )
    url = "https://github.com/o/r/pull/7"
    text = job_summary(result, mode="fix", pr_url=url, outside=3)
    applied = sum(len(r.applied) for r in small.files)
    remaining = sum(len(r.remaining) for r in small.files)
    counts = f"| 2 | {len(small.findings)} | "
    assert text.startswith("## container-bp fix\n") and counts in text
    assert f"| {applied} | {remaining} |" in text
    assert f"<{url}>" in text and "3 more findings outside the changed lines" in text
    assert "`bin/blob`: binary file" in text and "`k8s/bad.yaml`: internal error" in text
    assert text.count("| fixed |") == applied

    scanned = job_summary(scan({"Dockerfile": DOCKERFILE}), mode="scan")
    assert "| Fixed |" not in scanned and "| yes |" in scanned and "| fixed |" not in scanned
    assert "No findings." in job_summary(scan({"README.md": "hi"}), mode="scan")


def test_job_summary_caps_rows(huge: RunResult) -> None:
    text = job_summary(huge, mode="fix")
    rows = [line for line in text.splitlines() if line.startswith("| CBP")]
    total = sum(len(r.applied) + len(r.remaining) for r in huge.files)
    assert len(rows) == FINDING_ROWS
    assert f"…and {total - FINDING_ROWS} more." in text
    small_text = job_summary(huge, mode="fix", limit=3_000)
    assert len(small_text.encode()) <= 3_000 and "…and " in small_text


# -- the demo repository ----------------------------------------------------------------------


def test_demo_repository_body_fits() -> None:
    root = ROOT / "fixtures" / "demo-repo"
    source = LocalSource(root)
    path = find_config(root)
    config = load_config(path, docs()) if path is not None else None
    selection = Selection(config=config) if config is not None else Selection()
    result = run(source, discover(source), selection, fix=True)
    body = pr_body(result, state=STATE, repo_url=REPO_URL)
    assert len(body) < 65_000, f"the demo repository's body is {len(body)} characters"
    assert decode(body) == STATE and fences_balanced(body)
    assert sum(len(r.applied) for r in result.files) == len(table_rows(body, "## Changes"))
