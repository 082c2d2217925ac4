"""sweep mode end to end: an organisation of 25 repositories over 3 shards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.fixpr.publish import Outcome, Settings
from bot.github.memo import Memory
from bot.sweep.repos import Candidate, list_repositories, select
from bot.sweep.run import sweep
from bot.sweep.shard import in_shard, matrix, parse_shard
from tests.bot_support import client
from tests.github_double import GitHubDouble, fixtures

github = fixtures.github

DOCKERFILE = b"FROM python:3.12-slim\nCOPY . /app\nCMD python /app/main.py\n"


def make_org(double: GitHubDouble, n: int = 25) -> list[str]:
    names = []
    for i in range(n):
        files = {"Dockerfile": DOCKERFILE} if i % 5 else {"README.md": b"# docs only\n"}
        double.create_repo("acme", f"svc-{i:02d}", files, owner_type="Organization")
        names.append(f"acme/svc-{i:02d}")
    return names


def test_selection_skips_archived_disabled_forks_and_filters() -> None:
    found = [
        Candidate("acme/a"),
        Candidate("acme/b", archived=True),
        Candidate("acme/c", disabled=True),
        Candidate("acme/d", fork=True),
        Candidate("acme/legacy-x"),
    ]
    assert [c.full_name for c in select(found)] == ["acme/a", "acme/legacy-x"]
    assert [c.full_name for c in select(found, ["!acme/legacy-*"])] == ["acme/a"]
    assert [c.full_name for c in select(found, ["acme/leg*"])] == ["acme/legacy-x"]


def test_shards_cover_every_repository_once() -> None:
    names = [f"acme/r{i}" for i in range(100)]
    shards = [in_shard(names, (i, 3)) for i in (1, 2, 3)]
    assert sorted(n for shard in shards for n in shard) == sorted(names)
    assert all(shards)
    plan = matrix(names, 3)
    assert [e["shard"] for e in plan["include"]] == ["1/3", "2/3", "3/3"]  # type: ignore[index]
    assert parse_shard("2/3") == (2, 3)


def test_org_sweep_over_three_shards_respects_the_cap(github: GitHubDouble) -> None:
    names = make_org(github)
    gh = client(github)
    listed = [c.full_name for c in select(list_repositories(gh, "acme"))]
    assert listed == sorted(names)
    settings = Settings()
    reports = []
    for i in (1, 2, 3):
        shard = in_shard(listed, (i, 3))
        result = sweep(gh, shard, settings, None, max_open_prs=6)
        assert not result.failures
        reports += result.reports
        opened = result.count(Outcome.OPENED)
        assert opened <= 6
    assert sorted(r.repo for r in reports) == sorted(names)
    prs = {n: github.pulls("acme", n.split("/")[1]) for n in names}
    assert all(len(p) <= 1 for p in prs.values())
    docs_only = {f"acme/svc-{i:02d}" for i in range(0, 25, 5)}
    assert all(not prs[n] for n in docs_only)
    capped = [r for r in reports if r.outcome == Outcome.CAPPED]
    opened = [r for r in reports if r.outcome == Outcome.OPENED]
    assert len(opened) + len(capped) == 20 and len(opened) <= 18


def test_rerun_of_an_unchanged_org_costs_a_few_reads_per_repository(github: GitHubDouble) -> None:
    names = make_org(github, 6)
    gh = client(github)
    sweep(gh, names, Settings(), None, max_open_prs=10)
    before = len(github.requests)
    again = sweep(gh, names, Settings(), None, max_open_prs=10)
    assert {r.outcome for r in again.reports} <= {Outcome.UNCHANGED, Outcome.CLEAN}
    per_repo = (len(github.requests) - before) / len(names)
    assert per_repo <= 5, per_repo


def test_sweep_cli_plan_prints_a_matrix(github: GitHubDouble, tmp_path: Path) -> None:
    make_org(github, 7)
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_TOKEN": github.token,
        "GITHUB_API_URL": github.base_url,
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "CONTAINER_BP_OFFLINE": "1",
        "CONTAINER_BP_GITHUB_THROTTLE": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "sweep", "plan", "--org", "acme", "--shards", "3"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert sum(e["repositories"] for e in plan["include"]) == 7
    assert (tmp_path / "out").read_text().startswith("matrix={")
    assert github.token not in done.stdout + done.stderr


def test_remembered_unchanged_repositories_cost_no_rate_limit(
    github: GitHubDouble, tmp_path: Path
) -> None:
    names = make_org(github, 6)
    gh = client(github)
    state = tmp_path / "state.json"
    first = sweep(gh, names, Settings(), None, max_open_prs=10, memory=Memory(state))
    assert state.is_file() and not first.failures
    used = github.rate_used
    again = sweep(gh, names, Settings(), None, max_open_prs=10, memory=Memory(state))
    assert github.rate_used == used  # every request was a 304
    assert [r.outcome for r in again.reports] == [
        Outcome.UNCHANGED if r.pr_number else Outcome.CLEAN for r in first.reports
    ]
    assert [r.pr_number for r in again.reports] == [r.pr_number for r in first.reports]
    # A change on one base: only that repository is read again, and its PR is updated.
    github.commit_files("acme", "svc-01", "main", {"b/Dockerfile": DOCKERFILE})
    third = sweep(gh, names, Settings(), None, max_open_prs=10, memory=Memory(state))
    outcomes = {r.repo: r.outcome for r in third.reports}
    assert outcomes.pop("acme/svc-01") == Outcome.UPDATED
    assert set(outcomes.values()) <= {Outcome.UNCHANGED, Outcome.CLEAN}


def test_a_damaged_state_file_is_an_empty_memory(github: GitHubDouble, tmp_path: Path) -> None:
    names = make_org(github, 2)
    state = tmp_path / "state.json"
    state.write_text("{not json")
    result = sweep(client(github), names, Settings(), None, max_open_prs=10, memory=Memory(state))
    assert not result.failures and json.loads(state.read_text())["format"] == 1


def test_sweep_stops_before_the_rate_limit_runs_out(github: GitHubDouble) -> None:
    names = make_org(github, 8)
    github.rate_limit = 60
    result = sweep(client(github), names, Settings(), None, max_open_prs=10, reserve=20)
    assert result.deferred and not result.failures
    assert [r.repo for r in result.reports] + result.deferred == names
    assert github.rate_used <= github.rate_limit  # never ran into the wall


def test_memory_still_saves_work_with_a_new_token_each_run(
    github: GitHubDouble, tmp_path: Path
) -> None:
    """ETags belong to a token: with a new one each run (App tokens) there is no 304, but an
    unchanged base still ends the repository after one request."""
    names = make_org(github, 4)
    state = tmp_path / "state.json"
    sweep(client(github), names, Settings(), None, max_open_prs=10, memory=Memory(state))
    github.add_token("ghs_nexttoken000000000")
    from bot.github.client import connect

    gh = connect(github.base_url, "ghs_nexttoken000000000")
    before = len(github.requests)
    again = sweep(gh, names, Settings(), None, max_open_prs=10, memory=Memory(state))
    asked = [r for r in github.requests[before:] if r.path != "/rate_limit"]
    assert not again.failures and len(asked) == len(names)
    assert {r.outcome for r in again.reports} <= {Outcome.UNCHANGED, Outcome.CLEAN}


def test_an_unexpected_error_in_one_repository_does_not_stop_the_sweep(
    github: GitHubDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.sweep.run as sweep_run

    names = make_org(github, 3)
    real = sweep_run.fix_pr

    def flaky(gh: object, name: str, *args: object, **kwargs: object) -> object:
        if name == names[0]:
            raise ConnectionError("connection reset by peer")
        return real(gh, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep_run, "fix_pr", flaky)
    result = sweep(client(github), names, Settings(), None, max_open_prs=10)
    assert result.failures == [(names[0], "ConnectionError: connection reset by peer")]
    assert [r.repo for r in result.reports] == names[1:]
