"""The action's inputs, the runner's environment and the files and commands it writes back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from bot.action import outputs
from bot.action.inputs import (
    DEFAULTS,
    ActionInputs,
    InputError,
    RunnerEnv,
    load_event,
    pick_mode,
    read_inputs,
    read_runner_env,
)
from bot.action.outputs import annotation_lines, append_summary, mask, set_outputs
from bot.report.github_report import escape_data
from fixers.model import Finding, Severity

TOKEN = "ghs_Secret0123456789abcdef"


def parse_output_file(text: str) -> dict[str, str]:
    """The runner's reading of a GITHUB_OUTPUT file (actions/runner FileCommandManager)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            key, value = line.split("=", 1)
        elif heredoc >= 0:
            key, delimiter = line.split("<<", 1)
            assert key and delimiter, f"invalid line {line!r}"
            body: list[str] = []
            while True:
                assert i < len(lines), f"matching delimiter not found: {delimiter}"
                if lines[i].rstrip("\r") == delimiter:
                    i += 1
                    break
                body.append(lines[i])
                i += 1
            value = "\n".join(body)
        else:
            raise AssertionError(f"invalid line {line!r}")
        assert key, f"empty name in {line!r}"
        values[key] = value
    return values


# ---- GITHUB_OUTPUT


def test_outputs_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=step\n", encoding="utf-8")
    values = {
        "findings": "3",
        "empty": "",
        "pr-url": "https://github.com/o/r/pull/7?a=b",
        "arrows": "a<<b=c",
        "multi": "line one\nline two\n\n",
        "crlf": "a\r\nb",
        "lone-cr": "a\rb",
        "unicode": "café ✓\n日本",
        "looks-like-heredoc": "x<<EOF\nEOF",
    }
    set_outputs(path, values)
    set_outputs(path, {"findings": "4"})  # appended: the last value wins, as on the runner
    parsed = parse_output_file(path.read_bytes().decode("utf-8"))  # no newline translation
    assert parsed == {"earlier": "step", **values, "findings": "4"}


def test_multiline_values_use_a_fresh_random_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "output"
    set_outputs(path, {"a": "1\n2", "b": "3\n4"})
    text = path.read_text(encoding="utf-8")
    delimiters = [line.split("<<", 1)[1] for line in text.splitlines() if "<<" in line]
    assert len(delimiters) == len(set(delimiters)) == 2
    for delimiter in delimiters:
        assert delimiter.startswith("ghadelimiter_")
        uuid.UUID(delimiter.removeprefix("ghadelimiter_"))


def test_a_value_holding_the_delimiter_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = uuid.UUID(int=42)
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    path = tmp_path / "output"
    with pytest.raises(ValueError, match="delimiter"):
        set_outputs(path, {"body": f"x\nghadelimiter_{fixed}\ninjected=1"})
    assert not path.exists()  # nothing half-written


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "a\nb", "1st", "a b"])
def test_bad_output_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="output name"):
        set_outputs(tmp_path / "output", {name: "v"})


def test_writers_do_nothing_off_a_runner() -> None:
    set_outputs(None, {"findings": "1"})
    append_summary(None, "# nothing")


# ---- step summary


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    append_summary(path, "# one")
    append_summary(path, "two\n")
    assert path.read_text(encoding="utf-8") == "# one\ntwo\n"


def test_summary_is_cut_to_the_limit_on_a_line(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    lines = [f"| row {i} | ✓ détail |" for i in range(100_000)]
    markdown = "\n".join(lines) + "\n"
    assert len(markdown.encode("utf-8")) > outputs.SUMMARY_LIMIT
    append_summary(path, markdown)
    data = path.read_bytes()
    assert len(data) <= outputs.SUMMARY_LIMIT
    text = data.decode("utf-8")
    kept, note = text.split("\n> [!NOTE]\n", 1)
    assert kept.endswith("|\n") and markdown.startswith(kept)
    omitted = len(markdown.encode("utf-8")) - len(kept.encode("utf-8"))
    assert f"at most 1 MiB per step; {omitted} bytes were left out." in note


def test_summary_counts_what_the_file_holds(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    path.write_text("x" * 900 + "\n", encoding="utf-8")
    append_summary(path, "line\n" * 100, limit=1200)
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 1200
    assert "Summary cut short" in text
    assert "line\n" in text


def test_summary_closes_an_open_code_fence(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    markdown = "## Diff\n```diff\n" + "+added line\n" * 200 + "```\n"
    append_summary(path, markdown, limit=800)
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 800
    before_note = text.split("\n> [!NOTE]", 1)[0]
    assert before_note.endswith("```\n")
    assert sum(line.startswith("```") for line in before_note.splitlines()) == 2


def test_summary_with_no_room_left_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    path.write_text("x" * 1000, encoding="utf-8")
    append_summary(path, "more\n" * 50, limit=1010)
    assert path.read_text(encoding="utf-8") == "x" * 1000


# ---- annotations


def _finding(i: int, severity: Severity) -> Finding:
    return Finding("CBP101", f"svc{i}/Dockerfile", i + 1, i + 1, f"finding {i}", severity)


def test_annotations_under_the_cap_are_all_shown() -> None:
    findings = [_finding(i, Severity.WARNING) for i in range(10)]
    lines = annotation_lines(findings)
    assert len(lines) == 10
    assert all(line.startswith("::warning file=svc") for line in lines)


def test_annotations_are_capped_per_kind_with_one_notice() -> None:
    findings = (
        [_finding(i, Severity.ERROR) for i in range(25)]
        + [_finding(100 + i, Severity.WARNING) for i in range(3)]
        + [_finding(200 + i, Severity.INFO) for i in range(12)]
    )
    lines = annotation_lines(findings)
    kinds = [line[2:].split(" ", 1)[0].split("::", 1)[0] for line in lines]
    assert kinds.count("error") == 10
    assert kinds.count("warning") == 3
    # The count notice takes one of the ten notice places, so it is not dropped itself.
    assert kinds.count("notice") == 10
    last = lines[-1]
    assert last.startswith("::notice title=container-bp::18 more findings")
    assert "15 errors, 3 notices" in last and "See the job summary." in last
    # The first of each kind, in the order found.
    assert "svc0/Dockerfile" in lines[0] and "svc9/Dockerfile" in lines[9]
    assert not any("svc10/Dockerfile" in line for line in lines)


def test_annotation_limit_is_adjustable() -> None:
    findings = [_finding(i, Severity.ERROR) for i in range(4)]
    lines = annotation_lines(findings, limit=2, more_in="the SARIF report")
    assert len(lines) == 3
    assert "2 more findings (2 errors)" in lines[-1]
    assert lines[-1].endswith("See the SARIF report.")
    with pytest.raises(ValueError):
        annotation_lines(findings, limit=0)


def test_mask() -> None:
    assert mask(TOKEN) == f"::add-mask::{TOKEN}"
    assert mask("a%b\nc") == "::add-mask::" + escape_data("a%b\nc") == "::add-mask::a%25b%0Ac"
    assert mask("") == ""


# ---- inputs


def test_inputs_off_a_runner_take_the_defaults() -> None:
    inputs = read_inputs({})
    assert inputs == ActionInputs(
        token="",
        mode="auto",
        paths=(".",),
        config=None,
        unsafe_fixes=False,
        pin_digests=True,
        base_branch=None,
        labels=("container-bp",),
        dry_run=False,
        org=None,
        repos=(),
        max_open_prs=10,
        sarif_file=None,
        upload_sarif=False,
        shard=None,
    )


def test_inputs_as_the_runner_passes_them() -> None:
    # Every input present, hyphens kept in the names, as the runner sets them.
    env = {f"INPUT_{name.upper()}": value for name, value in DEFAULTS.items()}
    env.update(
        {
            "INPUT_GITHUB-TOKEN": f"  {TOKEN}\n",
            "INPUT_MODE": "sweep",
            "INPUT_PATHS": "docker/\n deploy/k8s , compose.yml\n\n",
            "INPUT_UNSAFE-FIXES": "True",
            "INPUT_PIN-DIGESTS": "FALSE",
            "INPUT_BASE-BRANCH": "develop",
            "INPUT_LABELS": "container-bp\ndependencies",
            "INPUT_ORG": "my-org",
            "INPUT_REPOS": "my-org/api, my-org/web-*",
            "INPUT_MAX-OPEN-PRS": "5",
            "INPUT_SHARD": "2/3",
        }
    )
    inputs = read_inputs(env)
    assert inputs.token == TOKEN
    assert inputs.mode == "sweep"
    assert inputs.paths == ("docker/", "deploy/k8s", "compose.yml")
    assert (inputs.unsafe_fixes, inputs.pin_digests) == (True, False)
    assert inputs.base_branch == "develop"
    assert inputs.labels == ("container-bp", "dependencies")
    assert inputs.org == "my-org"
    assert inputs.repos == ("my-org/api", "my-org/web-*")
    assert inputs.max_open_prs == 5
    assert inputs.shard == (2, 3)


def test_underscore_names_are_a_fallback() -> None:
    assert read_inputs({"INPUT_GITHUB_TOKEN": TOKEN}).token == TOKEN
    assert read_inputs({"INPUT_DRY_RUN": "true"}).dry_run is True
    both = {"INPUT_BASE-BRANCH": "runner", "INPUT_BASE_BRANCH": "local"}
    assert read_inputs(both).base_branch == "runner"
    # Off a runner, the token may come from the usual variable.
    assert read_inputs({"GITHUB_TOKEN": TOKEN}).token == TOKEN


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("", False),  # empty: the default
        (" true ", True),  # trimmed, as @actions/core does
    ],
)
def test_booleans(value: str, expected: bool) -> None:
    assert read_inputs({"INPUT_DRY-RUN": value}).dry_run is expected


@pytest.mark.parametrize("value", ["yes", "1", "on", "tRue", "y"])
def test_bad_booleans_name_the_input(value: str) -> None:
    with pytest.raises(InputError) as caught:
        read_inputs({"INPUT_UPLOAD-SARIF": value})
    message = str(caught.value)
    assert "'upload-sarif'" in message and repr(value) in message
    assert "true, True, TRUE, false, False, FALSE" in message


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("MODE", "fix", "must be one of auto, fix-pr, review, report, sweep"),
        ("MAX-OPEN-PRS", "0", "at least 1"),
        ("MAX-OPEN-PRS", "ten", "at least 1"),
        ("MAX-OPEN-PRS", "٣", "at least 1"),
        ("SHARD", "4/3", "K/N"),
        ("SHARD", "0/3", "K/N"),
        ("SHARD", "2", "K/N"),
    ],
)
def test_bad_values_name_the_input(name: str, value: str, words: str) -> None:
    with pytest.raises(InputError, match=words) as caught:
        read_inputs({f"INPUT_{name}": value})
    assert f"'{name.lower()}'" in str(caught.value)


def test_the_token_never_appears_in_errors_or_repr() -> None:
    broken = TOKEN[:10] + "\n" + TOKEN[10:]
    with pytest.raises(InputError) as caught:
        read_inputs({"INPUT_GITHUB-TOKEN": broken})
    message = str(caught.value)
    assert "'github-token'" in message
    assert TOKEN[:10] not in message and TOKEN[10:] not in message
    inputs = read_inputs({"INPUT_GITHUB-TOKEN": TOKEN})
    assert TOKEN not in repr(inputs) and TOKEN not in str(inputs)


@pytest.mark.parametrize(
    ("mode", "event", "expected"),
    [
        ("auto", "push", "fix-pr"),
        ("auto", "workflow_dispatch", "fix-pr"),
        ("auto", "pull_request", "review"),
        ("auto", "pull_request_target", "review"),
        ("auto", "schedule", "sweep"),
        ("auto", "release", "report"),
        ("auto", "merge_group", "report"),
        ("auto", "", "report"),
        ("report", "push", "report"),
        ("fix-pr", "pull_request", "fix-pr"),
        ("sweep", "push", "sweep"),
        ("review", "schedule", "review"),
    ],
)
def test_pick_mode(mode: str, event: str, expected: str) -> None:
    assert pick_mode(mode, event) == expected


def test_pick_mode_refuses_unknown_modes() -> None:
    with pytest.raises(InputError, match="'mode'"):
        pick_mode("fixpr", "push")


# ---- runner environment and event


def test_runner_env() -> None:
    env = read_runner_env(
        {
            "GITHUB_API_URL": "https://ghe.example/api/v3/",
            "GITHUB_SERVER_URL": "https://ghe.example",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_SHA": "a" * 40,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_OUTPUT": "/github/file_commands/set_output_1",
            "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary_1",
        }
    )
    assert env == RunnerEnv(
        api_url="https://ghe.example/api/v3",
        server_url="https://ghe.example",
        repository="o/r",
        event_name="push",
        event_path="/github/workflow/event.json",
        sha="a" * 40,
        ref="refs/heads/main",
        workspace="/github/workspace",
        output_path="/github/file_commands/set_output_1",
        summary_path="/github/file_commands/step_summary_1",
    )
    assert read_runner_env({}) == RunnerEnv()
    assert RunnerEnv().api_url == "https://api.github.com"


def test_load_event(tmp_path: Path) -> None:
    assert load_event(None) == {}
    assert load_event(tmp_path / "missing.json") == {}
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"pull_request": {"number": 7}}), encoding="utf-8")
    assert load_event(path) == {"pull_request": {"number": 7}}
    path.write_text("[1]", encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON object"):
        load_event(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_event(path)
