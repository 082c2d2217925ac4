"""review mode end to end: a pull request gets one review whose suggestions GitHub accepts."""

from __future__ import annotations

import re

from bot.analyse import Options
from bot.review.publish import review_pr
from tests.bot_support import client
from tests.github_double import GitHubDouble, fixtures

github = fixtures.github

OWNER, NAME, FULL = "acme", "shop", "acme/shop"
BASE = {
    "README.md": b"# shop\n",
    "api/Dockerfile": b"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n",
}
HEAD = {
    "api/Dockerfile": (
        b"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
        b"RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
        b"CMD python app.py\n"
    ),
}
SUGGESTION = re.compile(r"```+suggestion\n(.*?)```+", re.DOTALL)


def open_pr(double: GitHubDouble, files: dict[str, bytes], base: dict[str, bytes] = BASE) -> int:
    double.create_repo(OWNER, NAME, base)
    double.commit_files(OWNER, NAME, "feature", files, message="feature work")
    pr = client(double).get_repo(FULL).create_pull(base="main", head="feature", title="Feature")
    return pr.number


def apply(text: str, comments: list[dict[str, object]]) -> str:
    """Apply suggestion comments the way GitHub's "Commit suggestion" does."""
    lines = text.splitlines(keepends=True)
    for c in sorted(comments, key=lambda c: int(c["line"]), reverse=True):  # type: ignore[arg-type]
        m = SUGGESTION.search(str(c["body"]))
        if not m:
            continue
        start = int(c.get("start_line") or c["line"])  # type: ignore[call-overload]
        end = int(c["line"])  # type: ignore[call-overload]
        lines[start - 1 : end] = m.group(1).splitlines(keepends=True)
    return "".join(lines)


def test_one_review_with_suggestions_github_accepts(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    report = review_pr(client(github), FULL, number, Options(), None)
    assert report.review_id is not None and report.posted, report.detail
    reviews = github.reviews(OWNER, NAME, number)
    assert len(reviews) == 1 and reviews[0]["state"] == "COMMENTED"
    comments = github.review_comments(OWNER, NAME, number)
    assert len(comments) == len(report.posted)
    rules = {c.rule for c in report.posted}
    assert {"CBP103", "CBP110"} <= rules
    assert all("container-bp:fp=" in str(c["body"]) for c in comments)
    # Committing every suggestion gives what `container-bp fix` writes.
    assert report.result is not None
    fixed = next(r.fixed for r in report.result.files if r.source_path == "api/Dockerfile")
    head = HEAD["api/Dockerfile"].decode()
    assert apply(head, comments) == fixed


def test_rerun_posts_no_duplicates(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    first = review_pr(client(github), FULL, number, Options(), None)
    again = review_pr(client(github), FULL, number, Options(), None)
    assert again.review_id is None and not again.posted
    assert again.duplicates == len(first.posted)
    assert len(github.reviews(OWNER, NAME, number)) == 1


def test_untouched_lines_are_not_commented(github: GitHubDouble) -> None:
    base = {"api/Dockerfile": b"FROM python:3.12-slim\nCMD python app.py\n"}
    head = {"api/Dockerfile": b"FROM python:3.12-slim\nCMD python app.py\nEXPOSE 8000\n"}
    number = open_pr(github, head, base)
    report = review_pr(client(github), FULL, number, Options(), None)
    assert not report.posted and report.outside
    assert {o.finding.rule for o in report.outside} >= {"CBP103"}
    assert github.reviews(OWNER, NAME, number) == []


def test_comment_cap_summarises_the_rest(github: GitHubDouble) -> None:
    files = {
        f"svc{i:02d}/Dockerfile": b"FROM python:3.12-slim\nRUN apt-get update && apt-get"
        b" install -y --no-install-recommends curl\nCMD python app.py\n"
        for i in range(14)
    }
    number = open_pr(github, files, {"README.md": b"x\n"})
    report = review_pr(client(github), FULL, number, Options(), None)
    assert len(report.posted) == 30 and report.overflow
    review = github.reviews(OWNER, NAME, number)[0]
    assert f"{len(report.overflow)} more" in str(review["body"])


def test_read_only_token_falls_back_without_failing(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    github.add_token("ghs_forkreadonly000000", read_only=True)
    from bot.github.client import connect

    gh = connect(github.base_url, "ghs_forkreadonly000000")
    report = review_pr(gh, FULL, number, Options(), None)
    assert report.read_only and report.review_id is None
    assert github.reviews(OWNER, NAME, number) == []


def test_502_after_posting_does_not_post_twice(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    github.fail_next("POST", f"/repos/{FULL}/pulls/{number}/reviews", 502, after=True)
    report = review_pr(client(github), FULL, number, Options(), None)
    assert report.posted
    assert len(github.reviews(OWNER, NAME, number)) == 1
    assert github.count("POST", f"/repos/{FULL}/pulls/{number}/reviews") == 1


def test_502_before_posting_is_retried_once(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    github.fail_next("POST", f"/repos/{FULL}/pulls/{number}/reviews", 502)
    report = review_pr(client(github), FULL, number, Options(), None)
    assert report.review_id is not None
    assert len(github.reviews(OWNER, NAME, number)) == 1


def test_comments_whose_finding_is_gone_are_deleted_unless_answered(
    github: GitHubDouble,
) -> None:
    number = open_pr(github, HEAD)
    first = review_pr(client(github), FULL, number, Options(), None)
    assert len(first.posted) >= 2
    comments = github.review_comments(OWNER, NAME, number)
    answered = next(c for c in comments if "CBP110" in str(c["body"]))
    github.add_review_comment(
        OWNER, NAME, number, "api/Dockerfile", int(answered["line"]), "We need the lists.",
        in_reply_to=int(answered["id"]),
    )  # fmt: skip
    # The author fixes everything by hand: every finding is gone.
    assert first.result is not None
    fixed = next(r.fixed for r in first.result.files if r.source_path == "api/Dockerfile")
    assert fixed is not None
    github.commit_files(OWNER, NAME, "feature", {"api/Dockerfile": fixed.encode()})
    again = review_pr(client(github), FULL, number, Options(), None)
    assert again.removed == len(first.posted) - 1 and not again.posted
    left = github.review_comments(OWNER, NAME, number)
    assert {int(c["id"]) for c in left if "container-bp:fp=" in str(c["body"])} == {
        int(answered["id"])
    }
    assert any(c["body"] == "We need the lists." for c in left)


def test_paths_narrow_the_review(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    report = review_pr(client(github), FULL, number, Options(), None, paths=("deploy",))
    assert report.result is None and not report.posted
    assert github.reviews(OWNER, NAME, number) == []
