"""The machine reports: JSON against its own schema, SARIF against the official one, GitHub."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from bot import __version__
from bot.cli import main
from bot.report import github_report, json_report, render, sarif_report
from bot.report.ruledoc import explain_markdown, explain_text
from fixers.engine import Selection
from fixers.model import Edit, FileResult, Finding, Fix, FixSafety, Severity, Skipped
from fixers.registry import find_rule
from fixers.run import RunResult, discover, run
from fixers.source import LocalSource

ROOT = Path(__file__).resolve().parent.parent
REPORT_SCHEMA = ROOT / "bot" / "schemas" / "report.schema.json"
SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
FORMATS = ("json", "sarif", "github")


@cache
def _validator(path: Path) -> Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validator_for(schema)  # whichever draft the schema declares
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


def assert_valid(data: Any, schema: Path) -> None:
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def _finding(**kw: Any) -> Finding:
    base: dict[str, Any] = {
        "rule": "CBP101",
        "path": "app/Dockerfile",
        "line": 1,
        "end_line": 1,
        "message": "base image `python` has no tag",
        "severity": Severity.WARNING,
    }
    base.update(kw)
    return Finding(**base)


TEXT = "FROM python\nRUN echo hi\nFROM python\n"
FIXED = "FROM python:3.12\nRUN echo hi\nFROM python\n"


def _scan_result() -> RunResult:
    """Every shape a finding can take: fixes, hints, severities, odd paths, a skipped file."""
    fix = Fix((Edit(11, 11, ":3.12"),), FixSafety.SAFE, "pin it")
    odd = "odd dir/a,b:c%/Dockerfile"
    return RunResult(
        files=[
            FileResult(
                path="app/Dockerfile",
                kind="dockerfile",
                original=TEXT,
                findings=[
                    _finding(fix=fix),
                    _finding(
                        line=2,
                        end_line=2,
                        column=5,
                        severity=Severity.ERROR,
                        fix=Fix((Edit(12, 15, "ECHO"),), FixSafety.UNSAFE, "shout"),
                    ),
                    _finding(line=3, end_line=3, suggestion="pin a tag", severity=Severity.INFO),
                ],
            ),
            FileResult(
                path=odd,
                kind="dockerfile",
                original="FROM python\r\n",
                findings=[_finding(path=odd, message="multi\nline 100%")],
            ),
            FileResult(path="clean/Dockerfile", kind="dockerfile", original="FROM scratch\n"),
        ],
        skipped=[Skipped("big/Dockerfile", "larger than 1024 KiB")],
    )


def _fix_result() -> RunResult:
    applied = _finding(fix=Fix((Edit(11, 11, ":3.12"),), FixSafety.SAFE, "pin it"))
    remaining = _finding(
        line=3, end_line=3, fix=Fix((Edit(40, 40, ":3.12"),), FixSafety.UNSAFE, "pin it")
    )
    file_result = FileResult(
        path="app/Dockerfile",
        kind="dockerfile",
        original=TEXT,
        fixed=FIXED,
        findings=[applied, remaining],
        applied=[applied],
        remaining=[remaining],
        rejected=["CBP101 line 3: the rule still fires after the fix"],
    )
    return RunResult(files=[file_result])


def _render(fmt: str, result: RunResult, **kw: bool) -> str:
    args = {"explain": False, "fixing": False, "diff": False, "unsafe": False, **kw}
    return render(fmt, result, **args)


def _engine_result(tmp_path: Path, *, fix: bool = False) -> RunResult:
    (tmp_path / "Dockerfile").write_text("FROM python\n", encoding="utf-8")
    source = LocalSource(tmp_path)
    # One rule, so the assertions below do not depend on which other rules exist.
    return run(source, discover(source), Selection(only=frozenset({"CBP101"})), fix=fix)


# --- JSON ---------------------------------------------------------------------------------


def test_json_scan_matches_schema_and_shape() -> None:
    data = json.loads(_render("json", _scan_result()))
    assert_valid(data, REPORT_SCHEMA)
    assert data["version"] == 1
    assert data["tool"] == {"name": "container-bp", "version": __version__}
    assert data["mode"] == "scan"
    assert data["files_scanned"] == 3
    assert data["files_skipped"] == [{"path": "big/Dockerfile", "reason": "larger than 1024 KiB"}]
    first, second, third, fourth = data["findings"]
    assert first == {
        "rule": "CBP101",
        "name": "unpinned-base-image",
        "path": "app/Dockerfile",
        "line": 1,
        "end_line": 1,
        "column": 1,
        "severity": "warning",
        "message": "base image `python` has no tag",
        "fix": "safe",
        "suggestion": None,
    }
    assert (second["fix"], second["severity"], second["column"]) == ("unsafe", "error", 5)
    assert (third["fix"], third["suggestion"]) == ("none", "pin a tag")
    assert fourth["message"] == "multi\nline 100%"
    assert data["summary"] == {
        "findings": 4,
        "fixable": 2,
        "by_severity": {"error": 1, "warning": 2, "info": 1},
        "by_rule": {"CBP101": 4},
    }
    assert not {"fixed", "rejected", "diffs", "dry_run"} & data.keys()


def test_json_schema_declares_every_field() -> None:
    # The schema must not lag the code: every key written is a key documented.
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    data = json_report.report(_fix_result(), fixing=True, diff=True)
    assert set(data) == set(schema["properties"])
    assert set(data["findings"][0]) == set(schema["$defs"]["finding"]["properties"])
    assert set(data["summary"]) == set(schema["$defs"]["summary"]["properties"])


def test_json_fix_mode_reports_remaining_fixed_rejected_and_diffs() -> None:
    data = json.loads(_render("json", _fix_result(), fixing=True, diff=True))
    assert_valid(data, REPORT_SCHEMA)
    assert data["mode"] == "fix"
    assert data["dry_run"] is True
    assert [f["line"] for f in data["findings"]] == [3]
    assert [f["line"] for f in data["fixed"]] == [1]
    assert data["rejected"] == ["app/Dockerfile: CBP101 line 3: the rule still fires after the fix"]
    assert data["diffs"]["app/Dockerfile"].startswith("--- a/app/Dockerfile\n+++ b/app/Dockerfile")
    assert "+FROM python:3.12" in data["diffs"]["app/Dockerfile"]
    summary = data["summary"]
    assert (summary["fixed"], summary["files_changed"], summary["fixable_with_unsafe"]) == (1, 1, 1)
    with_unsafe = json.loads(_render("json", _fix_result(), fixing=True, unsafe=True))
    assert with_unsafe["summary"]["fixable_with_unsafe"] == 0
    assert "diffs" not in with_unsafe


def test_json_empty() -> None:
    for fixing in (False, True):
        data = json.loads(_render("json", RunResult(), fixing=fixing))
        assert_valid(data, REPORT_SCHEMA)
        assert data["findings"] == []
        assert data["files_scanned"] == 0
        assert data["summary"]["findings"] == 0


def test_json_unknown_rule_keeps_its_code() -> None:
    result = RunResult(files=[FileResult("D", "dockerfile", findings=[_finding(rule="CBP999")])])
    data = json.loads(_render("json", result))
    assert_valid(data, REPORT_SCHEMA)
    assert data["findings"][0]["name"] == "CBP999"


# --- SARIF --------------------------------------------------------------------------------


def _sarif(result: RunResult, **kw: bool) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_render("sarif", result, **kw))
    assert_valid(data, SARIF_SCHEMA)
    return data


def test_vendored_sarif_schema_rejects_nonsense() -> None:
    # Guards the test itself: a schema that accepts anything would prove nothing.
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"level": "bad"}]}]}
    assert list(_validator(SARIF_SCHEMA).iter_errors(bad))


def test_sarif_scan_is_valid_and_complete() -> None:
    data = _sarif(_scan_result())
    assert data["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert data["version"] == "2.1.0"
    (run_,) = data["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "container-bp"
    assert driver["semanticVersion"] == __version__
    assert driver["informationUri"].startswith("https://")

    (rule,) = driver["rules"]
    doc = find_rule("CBP101")
    assert doc is not None
    assert rule["id"] == "CBP101"
    assert rule["name"] == "UnpinnedBaseImage"
    assert rule["shortDescription"]["text"] == doc.doc.title
    assert rule["fullDescription"]["text"] == doc.doc.what
    assert rule["help"] == {"text": explain_text(doc.doc), "markdown": explain_markdown(doc.doc)}
    assert rule["helpUri"] == doc.doc.references[0]
    assert rule["defaultConfiguration"]["level"] == "warning"
    assert rule["properties"]["precision"] == "high"
    assert "security" in rule["properties"]["tags"]  # Checkov has the same check
    assert "security-severity" not in rule["properties"]  # warnings carry none

    results = run_["results"]
    assert [r["level"] for r in results] == ["warning", "error", "note", "warning"]
    assert all(r["ruleId"] == "CBP101" and r["ruleIndex"] == 0 for r in results)
    loc = results[1]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "app/Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 2, "endLine": 2, "startColumn": 5}
    odd = results[3]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert odd["uri"] == "odd%20dir/a%2Cb%3Ac%25/Dockerfile"
    assert results[2]["message"]["text"] == "base image `python` has no tag\n\nhint: pin a tag"
    assert results[0]["fixes"][0]["artifactChanges"][0]["replacements"] == [
        {"deletedRegion": {"charOffset": 11, "charLength": 0}, "insertedContent": {"text": ":3.12"}}
    ]
    assert "fixes" not in results[2]

    (notification,) = run_["invocations"][0]["toolExecutionNotifications"]
    assert run_["invocations"][0]["executionSuccessful"] is True
    assert notification["message"]["text"] == "skipped: larger than 1024 KiB"
    where = notification["locations"][0]["physicalLocation"]["artifactLocation"]
    assert where["uri"] == "big/Dockerfile"


def test_sarif_error_rules_are_security_with_severity() -> None:
    doc = find_rule("CBP101")
    assert doc is not None
    error_doc = type(doc.doc)(**{**doc.doc.__dict__, "severity": Severity.ERROR, "peers": {}})
    descriptor = sarif_report.rule_descriptor(error_doc)
    assert descriptor["defaultConfiguration"]["level"] == "error"
    assert "security" in descriptor["properties"]["tags"]
    assert float(descriptor["properties"]["security-severity"]) >= 7.0
    plain = type(doc.doc)(**{**doc.doc.__dict__, "peers": {}, "references": ()})
    descriptor = sarif_report.rule_descriptor(plain)
    assert "security" not in descriptor["properties"]["tags"]
    assert "helpUri" not in descriptor


def test_sarif_rule_index_points_at_the_rule() -> None:
    result = RunResult(
        files=[
            FileResult(
                "D",
                "dockerfile",
                original="FROM a\nFROM b\n",
                findings=[_finding(rule="CBP999", path="D"), _finding(path="D")],
            )
        ]
    )
    run_ = _sarif(result)["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["CBP101", "CBP999"]
    for r in run_["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]


def _fingerprints(text: str, line: int | list[int]) -> list[str]:
    lines = line if isinstance(line, list) else [line]
    findings = [_finding(path="D", line=n, end_line=n) for n in lines]
    result = RunResult(files=[FileResult("D", "dockerfile", original=text, findings=findings)])
    return [
        r["partialFingerprints"]["containerBp/v1"] for r in _sarif(result)["runs"][0]["results"]
    ]


def test_sarif_fingerprint_survives_line_moves_only() -> None:
    (before,) = _fingerprints("FROM python\n", 1)
    (moved,) = _fingerprints("# a comment\n\nFROM python  \n", 3)
    (changed,) = _fingerprints("FROM python:latest\n", 1)
    assert before == moved
    assert before != changed
    twins = _fingerprints("FROM python\nFROM python\n", [1, 2])
    assert len(set(twins)) == 2  # identical lines stay distinct alerts


def test_sarif_fix_mode_uses_remaining_and_fixed_text() -> None:
    data = _sarif(_fix_result(), fixing=True)
    run_ = data["runs"][0]
    (result,) = run_["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert "fixes" in result  # the fixed file is on disk: its offsets hold
    (rejected,) = run_["invocations"][0]["toolExecutionNotifications"]
    assert rejected["level"] == "note"
    assert "the rule still fires" in rejected["message"]["text"]
    dry = _sarif(_fix_result(), fixing=True, diff=True)
    assert "fixes" not in dry["runs"][0]["results"][0]  # --diff wrote nothing: offsets do not hold


def test_sarif_empty() -> None:
    data = _sarif(RunResult())
    (run_,) = data["runs"]
    assert run_["results"] == []
    assert run_["tool"]["driver"]["rules"] == []
    assert run_["invocations"] == [{"executionSuccessful": True}]


def test_sarif_absolute_path_is_a_file_uri() -> None:
    result = RunResult(
        files=[FileResult("/tmp/x y/D", "dockerfile", findings=[_finding(path="/tmp/x y/D")])]
    )
    loc = _sarif(result)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "file:///tmp/x%20y/D"}


def test_pascal_case() -> None:
    assert sarif_report.pascal_case("unpinned-base-image") == "UnpinnedBaseImage"
    assert sarif_report.pascal_case("apt-get-no-recommends") == "AptGetNoRecommends"


# --- GitHub -------------------------------------------------------------------------------


def test_github_escaping() -> None:
    assert github_report.escape_data("100%\r\nnext: a,b") == "100%25%0D%0Anext: a,b"
    assert github_report.escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


def test_github_annotations() -> None:
    lines = _render("github", _scan_result()).splitlines()
    assert lines[0] == (
        "::warning file=app/Dockerfile,line=1,endLine=1,col=1,"
        "title=CBP101 unpinned-base-image::base image `python` has no tag"
    )
    assert lines[1].startswith("::error file=app/Dockerfile,line=2,endLine=2,col=5,")
    assert lines[2].startswith("::notice ")
    assert lines[2].endswith("::base image `python` has no tag%0Ahint: pin a tag")
    assert lines[3] == (
        "::warning file=odd dir/a%2Cb%3Ac%25/Dockerfile,line=1,endLine=1,col=1,"
        "title=CBP101 unpinned-base-image::multi%0Aline 100%25"
    )
    assert lines[4] == "::warning file=big/Dockerfile::skipped: larger than 1024 KiB"
    assert lines[-1] == "4 finding(s) (2 fixable) in 3 file(s) scanned, 1 skipped"
    assert len(lines) == 6


def test_github_explain_adds_why() -> None:
    doc = find_rule("CBP101")
    assert doc is not None
    first = _render("github", _scan_result(), explain=True).splitlines()[0]
    assert first.endswith(github_report.escape_data("\nwhy: " + doc.doc.why))


def test_github_fix_mode() -> None:
    lines = _render("github", _fix_result(), fixing=True).splitlines()
    assert lines[0] == (
        "::warning file=app/Dockerfile::fix not applied: "
        "CBP101 line 3: the rule still fires after the fix"
    )
    assert lines[1].startswith("::warning file=app/Dockerfile,line=3,")
    assert lines[-1].startswith("fixed 1 finding(s) in 1 file(s); 1 left")
    assert len(lines) == 3
    dry = _render("github", _fix_result(), fixing=True, diff=True).splitlines()
    assert dry[0] == "::group::diff app/Dockerfile"
    assert "+FROM python:3.12" in dry
    assert "::endgroup::" in dry
    assert dry[-1].startswith("would fix 1 finding(s)")


def test_github_empty() -> None:
    assert (
        _render("github", RunResult())
        == "0 finding(s) (0 fixable) in 0 file(s) scanned, 0 skipped\n"
    )


# --- the real engine and the CLI ----------------------------------------------------------


@pytest.mark.parametrize("fixing", [False, True])
def test_real_engine_results_render_valid(tmp_path: Path, fixing: bool) -> None:
    result = _engine_result(tmp_path, fix=fixing)
    assert result.findings, "FROM python should be flagged"
    data = json.loads(_render("json", result, fixing=fixing, diff=fixing))
    assert_valid(data, REPORT_SCHEMA)
    assert data["findings"][0]["rule"] == "CBP101"
    sarif = _sarif(result, fixing=fixing, diff=fixing)
    (sarif_result,) = sarif["runs"][0]["results"]
    assert sarif_result["ruleId"] == "CBP101"
    assert sarif_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "Dockerfile"
    )
    github = _render("github", result, fixing=fixing, diff=fixing)
    assert github.startswith("::warning file=Dockerfile,line=1,")


def test_cli_sarif(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python\n", encoding="utf-8")
    out = tmp_path / "out.sarif"
    assert (
        main(["scan", str(tmp_path), "--format", "sarif", "-o", str(out), "--rules", "CBP101"]) == 1
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert_valid(data, SARIF_SCHEMA)
    (result,) = data["runs"][0]["results"]
    assert result["ruleId"] == "CBP101"


def test_cli_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run from the checkout's root, as the Action does: URIs are relative to %SRCROOT%.
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM python\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["scan", ".", "--format", "sarif", "-o", "out.sarif"]) == 1
    data = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    assert_valid(data, SARIF_SCHEMA)
    loc = data["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "svc/Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert main(["scan", ".", "--format", "json", "-o", "out.json"]) == 1
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert_valid(report, REPORT_SCHEMA)
    assert report["findings"][0]["path"] == "svc/Dockerfile"


CLEAN_DOCKERFILE = """\
FROM alpine:3.20@sha256:1111111111111111111111111111111111111111111111111111111111111111
RUN apk add --no-cache tini
USER 10001:10001
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["/app"]
"""


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_clean_tree_exits_zero(tmp_path: Path, fmt: str) -> None:
    # Clean for every rule: a pinned static image, a numeric non-root user, an init, exec form.
    (tmp_path / "Dockerfile").write_text(CLEAN_DOCKERFILE, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["scan", str(tmp_path), "--format", fmt, "-o", str(out)]) == 0
    if fmt == "json":
        assert_valid(json.loads(out.read_text(encoding="utf-8")), REPORT_SCHEMA)
    elif fmt == "sarif":
        assert_valid(json.loads(out.read_text(encoding="utf-8")), SARIF_SCHEMA)
    else:
        assert out.read_text(encoding="utf-8").startswith("0 finding(s)")


def test_sarif_fingerprint_never_hashes_a_secret_value() -> None:
    a = _fingerprints("ENV API_TOKEN=hunter2\n", 1)
    b = _fingerprints("ENV API_TOKEN=correct-horse\n", 1)
    c = _fingerprints("ENV API_TOKEN hunter2\n", 1)
    d = _fingerprints("ENV API_TOKEN other\n", 1)
    assert a == b and c == d
