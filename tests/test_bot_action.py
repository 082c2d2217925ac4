"""`container-bp action` as the runner starts it: environment in, files and API calls out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bot_support import client, demo_files
from tests.github_double import GitHubDouble, fixtures

github = fixtures.github

OWNER, NAME, FULL = "acme", "shop", "acme/shop"


def runner_env(double: GitHubDouble, tmp: Path, event: str, payload: dict[str, object],
               **inputs: str) -> dict[str, str]:  # fmt: skip
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(payload))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "CONTAINER_BP_OFFLINE": "1",
        "CONTAINER_BP_GITHUB_THROTTLE": "0",
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": double.base_url,
        "GITHUB_SERVER_URL": double.base_url + "/_html",
        "GITHUB_REPOSITORY": FULL,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_SHA": double.git(OWNER, NAME).ref_sha("refs/heads/main") or "",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_WORKSPACE": str(tmp / "workspace"),
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "INPUT_GITHUB-TOKEN": double.token,
    }
    (tmp / "workspace").mkdir(exist_ok=True)
    env.update({f"INPUT_{k.upper().replace('_', '-')}": v for k, v in inputs.items()})
    return env


def action(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip


def outputs(tmp: Path) -> dict[str, str]:
    values = {}
    for line in (tmp / "output").read_text().splitlines():
        if "=" in line and "<<" not in line:
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_push_opens_one_pr_for_the_demo_repository(github: GitHubDouble, tmp_path: Path) -> None:
    github.create_repo(OWNER, NAME, demo_files())
    env = runner_env(github, tmp_path, "push", {"ref": "refs/heads/main"})
    done = action(env)
    assert done.returncode == 0, done.stdout + done.stderr
    # The one line with the token is the command that tells the runner to mask it.
    shown = [line for line in done.stdout.splitlines() if github.token in line]
    assert shown == [f"::add-mask::{github.token}"] and github.token not in done.stderr
    prs = github.pulls(OWNER, NAME)
    assert len(prs) == 1
    out = outputs(tmp_path)
    assert out["pr-number"] == str(prs[0]["number"]) and out["pr-url"]
    assert int(out["findings"]) > 0 and int(out["fixable"]) > 0
    summary = (tmp_path / "summary.md").read_text()
    assert "opened" in summary
    # Second push, nothing changed: nothing new.
    again = action(env)
    assert again.returncode == 0 and len(github.pulls(OWNER, NAME)) == 1
    assert "unchanged" in again.stdout


def feature_pr(double: GitHubDouble, head_repo: str) -> tuple[int, dict[str, object]]:
    """A pull request adding a Dockerfile, and the event payload the runner would give."""
    double.create_repo(OWNER, NAME, {"README.md": b"x\n"})
    double.commit_files(
        OWNER, NAME, "feature", {"Dockerfile": b"FROM python:3.12-slim\nCMD python app.py\n"}
    )
    pr = client(double).get_repo(FULL).create_pull(base="main", head="feature", title="t")
    payload = {
        "pull_request": {
            "number": pr.number,
            "head": {"repo": {"full_name": head_repo}, "sha": pr.head.sha},
            "base": {"repo": {"full_name": FULL}},
        }
    }
    return pr.number, payload


def test_pull_request_event_posts_a_review(github: GitHubDouble, tmp_path: Path) -> None:
    number, payload = feature_pr(github, FULL)
    done = action(runner_env(github, tmp_path, "pull_request", payload))
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(github.reviews(OWNER, NAME, number)) == 1
    assert "1 comments posted" in done.stdout or "comments posted" in done.stdout


def test_fork_pull_request_only_annotates(github: GitHubDouble, tmp_path: Path) -> None:
    number, payload = feature_pr(github, "someone/shop")
    before = len(github.requests)
    done = action(runner_env(github, tmp_path, "pull_request", payload))
    assert done.returncode == 0, done.stdout + done.stderr
    assert github.reviews(OWNER, NAME, number) == []
    assert "::warning file=Dockerfile" in done.stdout
    assert all(r.method == "GET" for r in github.requests[before:])


def test_report_mode_writes_and_uploads_sarif(github: GitHubDouble, tmp_path: Path) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": b"FROM python:3.12-slim\nCMD python a.py\n"})
    env = runner_env(
        github, tmp_path, "push", {}, mode="report", upload_sarif="true",
        sarif_file=str(tmp_path / "out.sarif"),
    )  # fmt: skip
    (tmp_path / "workspace" / "Dockerfile").write_text("FROM python:3.12-slim\nCMD python a.py\n")
    done = action(env)
    assert done.returncode == 0, done.stdout + done.stderr
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    uploaded = github.sarifs(OWNER, NAME)
    assert len(uploaded) == 1 and uploaded[0]["runs"][0]["results"]
    assert outputs(tmp_path)["sarif-file"] == str(tmp_path / "out.sarif")
    assert github.pulls(OWNER, NAME) == []


def test_bad_input_is_a_clear_error(github: GitHubDouble, tmp_path: Path) -> None:
    github.create_repo(OWNER, NAME, {"README.md": b"x\n"})
    done = action(runner_env(github, tmp_path, "push", {}, dry_run="maybe"))
    assert done.returncode == 2
    assert "dry-run" in done.stdout
    assert github.token not in done.stdout.replace(f"::add-mask::{github.token}", "")


def test_repository_text_cannot_issue_workflow_commands(
    github: GitHubDouble, tmp_path: Path
) -> None:
    evil = '"x\\n::warning title=Security::Approved\\n##[add-mask]container-bp": 1\n'
    github.create_repo(
        OWNER, NAME, {".container-bp.yml": evil.encode(), "Dockerfile": b"FROM python:3.12\n"}
    )
    done = action(runner_env(github, tmp_path, "push", {}))
    assert done.returncode == 0, done.stdout + done.stderr
    live = True  # outside a ::stop-commands:: region
    token = ""
    for line in done.stdout.splitlines():
        if line.startswith("::stop-commands::"):
            live, token = False, line.removeprefix("::stop-commands::")
            continue
        if not live and line == f"::{token}::":
            live = True
            continue
        if live:
            assert not line.startswith("::warning title=Security"), line
            assert "##[add-mask]" not in line, line
