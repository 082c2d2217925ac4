"""fix-pr mode end to end: the engine, PyGithub and the GitHub double (real git underneath)."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.analyse import Options
from bot.fixpr.publish import BRANCH, Outcome, Settings, fix_pr
from bot.fixpr.state import decode
from bot.github.client import ApiFailure
from tests.bot_support import client, demo_files
from tests.github_double import GitHubDouble, fixtures

github = fixtures.github

OWNER, NAME, FULL = "acme", "shop", "acme/shop"
SETTINGS = Settings(labels=("container-bp", "dependencies"))
DOCKERFILE = b"FROM python:3.12-slim\nCOPY . /app\nCMD python /app/main.py\n"


def run(double: GitHubDouble, settings: Settings = SETTINGS) -> object:
    return fix_pr(client(double), FULL, settings, None)


def open_prs(double: GitHubDouble) -> list[dict[str, object]]:
    return [p for p in double.pulls(OWNER, NAME) if p["state"] == "open"]


def branch_sha(double: GitHubDouble) -> str | None:
    return double.git(OWNER, NAME).ref_sha(f"refs/heads/{BRANCH}")


def test_demo_repository_gets_one_pr_with_every_fix_explained(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, demo_files())
    report = fix_pr(client(github), FULL, SETTINGS, None)
    assert report.outcome == Outcome.OPENED, report.detail
    prs = open_prs(github)
    assert len(prs) == 1 and prs[0]["number"] == report.pr_number
    pr = prs[0]
    base = github.repo_files(OWNER, NAME, "main")
    head = github.repo_files(OWNER, NAME, BRANCH)
    assert report.result is not None
    changed = {r.source_path: r.fixed for r in report.result.files if r.changed}
    assert changed and set(head) == set(base)
    for path in base:
        expected = changed.get(path)
        assert head[path] == (expected.encode() if expected else base[path]), path
    body = str(pr["body"])
    state = decode(body)
    assert state is not None and state.head_sha == branch_sha(github)
    for result in report.result.files:
        for finding in result.applied:
            assert finding.rule in body and result.path in body
    assert github.issue_labels(OWNER, NAME, int(pr["number"])) == ["container-bp", "dependencies"]
    # The branch is one commit on top of the base, made through the Git Data API.
    git = github.git(OWNER, NAME)
    head_commit = git.read_commit(str(branch_sha(github)))
    assert list(head_commit.parents) == [git.ref_sha("refs/heads/main")]


def test_rerun_without_changes_writes_nothing(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    assert run(github).outcome == Outcome.OPENED  # type: ignore[attr-defined]
    before_sha, before_requests = branch_sha(github), len(github.requests)
    report = run(github)
    assert report.outcome == Outcome.UNCHANGED  # type: ignore[attr-defined]
    assert branch_sha(github) == before_sha and len(github.pulls(OWNER, NAME)) == 1
    writes = [r for r in github.requests[before_requests:] if r.method != "GET"]
    assert writes == []
    assert len(github.requests) - before_requests <= 3  # repo, base ref, pull list


def test_new_finding_updates_the_same_pr_by_fast_forward(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    first = run(github)
    old_head = branch_sha(github)
    github.commit_files(OWNER, NAME, "main", {"worker/Dockerfile": DOCKERFILE})
    report = run(github)
    assert report.outcome == Outcome.UPDATED  # type: ignore[attr-defined]
    assert report.pr_number == first.pr_number  # type: ignore[attr-defined]
    assert len(github.pulls(OWNER, NAME)) == 1
    git = github.git(OWNER, NAME)
    new_head = str(branch_sha(github))
    assert old_head is not None and git.is_ancestor(old_head, new_head)  # never force-pushed
    assert git.is_ancestor(str(git.ref_sha("refs/heads/main")), new_head)
    head_files = github.repo_files(OWNER, NAME, BRANCH)
    assert b"dumb-init" in head_files["worker/Dockerfile"]


def test_pr_closed_when_nothing_is_left(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    report = run(github)
    fixed = github.repo_files(OWNER, NAME, BRANCH)
    github.commit_files(OWNER, NAME, "main", dict(fixed))  # someone applied the fixes by hand
    closed = run(github)
    assert closed.outcome == Outcome.CLOSED  # type: ignore[attr-defined]
    pr = github.pulls(OWNER, NAME)[0]
    assert pr["state"] == "closed" and pr["number"] == report.pr_number  # type: ignore[attr-defined]
    assert any("Nothing is left to fix" in c for c in github.comments(OWNER, NAME, 1))
    assert branch_sha(github) is None  # its own branch, deleted
    assert run(github).outcome == Outcome.CLEAN  # type: ignore[attr-defined]


def test_human_commit_on_the_bot_branch_is_never_overwritten(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github)
    human = github.commit_files(OWNER, NAME, BRANCH, {"NOTES.md": b"keep me\n"})
    github.commit_files(OWNER, NAME, "main", {"worker/Dockerfile": DOCKERFILE})
    report = run(github)
    assert report.outcome == Outcome.BLOCKED  # type: ignore[attr-defined]
    assert branch_sha(github) == human
    assert len(github.comments(OWNER, NAME, 1)) == 1
    run(github)  # says it once
    assert len(github.comments(OWNER, NAME, 1)) == 1 and branch_sha(github) == human


def test_not_reopened_after_a_person_closed_it_until_the_fixes_change(
    github: GitHubDouble,
) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github)
    github.pulls(OWNER, NAME)[0]["state"] = "closed"  # closed unmerged by a person
    assert run(github).outcome == Outcome.DECLINED  # type: ignore[attr-defined]
    assert len(github.pulls(OWNER, NAME)) == 1
    github.commit_files(OWNER, NAME, "main", {"worker/Dockerfile": DOCKERFILE})
    report = run(github)
    assert report.outcome == Outcome.OPENED and report.pr_number == 2  # type: ignore[attr-defined]
    assert len(open_prs(github)) == 1


def test_dry_run_and_clean_repository_write_nothing(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    dry = Settings(dry_run=True)
    assert run(github, dry).outcome == Outcome.DRY_RUN  # type: ignore[attr-defined]
    assert all(r.method == "GET" for r in github.requests)
    github.create_repo(OWNER, "clean", {"README.md": b"# nothing here\n"})
    report = fix_pr(client(github), "acme/clean", SETTINGS, None)
    assert report.outcome == Outcome.CLEAN and not github.pulls(OWNER, "clean")


def test_options_decide_the_fixes(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github, Settings(options=Options(skip=frozenset({"CBP102"}))))
    assert b"dumb-init" not in github.repo_files(OWNER, NAME, BRANCH)["Dockerfile"]
    report = run(github, Settings())  # a changed setting is a new run, not "unchanged"
    assert report.outcome == Outcome.UPDATED  # type: ignore[attr-defined]
    assert b"dumb-init" in github.repo_files(OWNER, NAME, BRANCH)["Dockerfile"]


# ------------------------------------------------------------------ faults


def test_502_after_creating_the_pr_does_not_duplicate_it(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    github.fail_next("POST", f"/repos/{FULL}/pulls", 502, after=True)
    report = run(github)
    assert report.outcome == Outcome.OPENED  # type: ignore[attr-defined]
    assert github.count("POST", f"/repos/{FULL}/pulls") == 1
    assert len(github.pulls(OWNER, NAME)) == 1


def test_502_before_the_commit_leaves_nothing_behind(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    github.fail_next("POST", f"/repos/{FULL}/git/commits", 502)
    with pytest.raises(ApiFailure) as caught:
        run(github)
    assert "502" in str(caught.value)
    assert branch_sha(github) is None and not github.pulls(OWNER, NAME)
    assert run(github).outcome == Outcome.OPENED  # type: ignore[attr-defined]
    assert len(github.pulls(OWNER, NAME)) == 1


def test_secondary_rate_limit_is_waited_out(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    github.fail_next("POST", f"/repos/{FULL}/pulls", 403, retry_after=1)
    report = run(github)
    assert report.outcome == Outcome.OPENED  # type: ignore[attr-defined]
    assert github.count("POST", f"/repos/{FULL}/pulls") == 2
    assert len(github.pulls(OWNER, NAME)) == 1


@pytest.mark.parametrize("status", [409, 422])
def test_ref_update_conflict_starts_over(github: GitHubDouble, status: int) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github)
    github.commit_files(OWNER, NAME, "main", {"worker/Dockerfile": DOCKERFILE})
    github.fail_next("PATCH", f"/repos/{FULL}/git/refs/heads/{BRANCH}", status)
    report = run(github)
    assert report.outcome == Outcome.UPDATED  # type: ignore[attr-defined]
    assert github.count("PATCH", f"/repos/{FULL}/git/refs/heads/{BRANCH}") == 2
    assert b"dumb-init" in github.repo_files(OWNER, NAME, BRANCH)["worker/Dockerfile"]


def test_two_racing_runs_end_with_one_pr_and_no_lost_commit(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE, "b/Dockerfile": DOCKERFILE})
    reports: list[object] = []
    threads = [threading.Thread(target=lambda: reports.append(run(github))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(github.pulls(OWNER, NAME)) == 1
    outcomes = sorted(str(r.outcome) for r in reports)  # type: ignore[attr-defined]
    assert outcomes[0] in ("opened", "unchanged", "updated")
    head = github.repo_files(OWNER, NAME, BRANCH)
    assert b"dumb-init" in head["Dockerfile"] and b"dumb-init" in head["b/Dockerfile"]


def test_expired_token_is_a_clear_error_without_the_token(
    github: GitHubDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    gh = client(github)
    github.expire_token()
    with pytest.raises(ApiFailure) as caught:
        fix_pr(gh, FULL, SETTINGS, None)
    assert "401" in str(caught.value) and "Bad credentials" in str(caught.value)
    assert github.token not in str(caught.value) and github.token not in caplog.text


def test_merged_pr_with_a_human_commit_does_not_block_the_next_one(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github)
    human = github.commit_files(OWNER, NAME, BRANCH, {"NOTES.md": b"keep me\n"})
    github.commit_files(OWNER, NAME, "main", github.repo_files(OWNER, NAME, BRANCH))
    pr = github.pulls(OWNER, NAME)[0]
    pr.update(state="closed", merged_at="2026-11-23T12:00:00Z", head_sha=human)
    github.commit_files(OWNER, NAME, "main", {"worker/Dockerfile": DOCKERFILE})
    report = run(github)
    assert report.outcome == Outcome.OPENED  # type: ignore[attr-defined]
    assert github.git(OWNER, NAME).is_ancestor(human, str(branch_sha(github)))


def test_a_failed_first_pr_does_not_leave_the_bot_blocked_by_itself(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    # The first run moves the branch, then may not open the PR (a repository setting).
    github.fail_next(
        "POST", f"/repos/{FULL}/pulls", 403,
        message="GitHub Actions is not permitted to create or approve pull requests.",
    )  # fmt: skip
    with pytest.raises(ApiFailure):
        run(github)
    assert branch_sha(github) is not None and not github.pulls(OWNER, NAME)
    report = run(github)  # the setting fixed: the bot knows its own commit by its trailer
    assert report.outcome == Outcome.OPENED  # type: ignore[attr-defined]
    assert len(github.pulls(OWNER, NAME)) == 1


def test_an_unreadable_file_never_closes_or_shrinks_the_pr(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github)
    head = branch_sha(github)
    github.commit_files(OWNER, NAME, "main", {"README.md": b"new\n"})  # the base moves
    github.fail_next("GET", f"/repos/{FULL}/git/blobs/*", 502, times=20)
    report = run(github)
    assert report.outcome == Outcome.INCOMPLETE  # type: ignore[attr-defined]
    assert github.pulls(OWNER, NAME)[0]["state"] == "open" and branch_sha(github) == head
    github.faults.clear()
    assert run(github).outcome == Outcome.UPDATED  # type: ignore[attr-defined]


def test_a_blocked_pr_is_not_closed_when_the_base_gets_clean(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    run(github)
    human = github.commit_files(OWNER, NAME, BRANCH, {"NOTES.md": b"keep me\n"})
    fixed = github.repo_files(OWNER, NAME, BRANCH)
    fixed.pop("NOTES.md")
    github.commit_files(OWNER, NAME, "main", dict(fixed))  # fixed by hand on the base
    report = run(github)
    assert report.outcome == Outcome.BLOCKED  # type: ignore[attr-defined]
    assert github.pulls(OWNER, NAME)[0]["state"] == "open" and branch_sha(github) == human


def test_each_base_branch_gets_its_own_pr(github: GitHubDouble) -> None:
    github.create_repo(OWNER, NAME, {"Dockerfile": DOCKERFILE})
    github.commit_files(OWNER, NAME, "release/1.x", {"b/Dockerfile": DOCKERFILE})
    assert run(github).outcome == Outcome.OPENED  # type: ignore[attr-defined]
    other = run(github, Settings(base="release/1.x"))
    assert other.outcome == Outcome.OPENED  # type: ignore[attr-defined]
    heads = sorted(str(p["head"]) for p in open_prs(github))
    assert heads == [BRANCH, f"{BRANCH}-release-1.x"]
    assert run(github, Settings(base="release/1.x")).outcome == Outcome.UNCHANGED  # type: ignore[attr-defined]
