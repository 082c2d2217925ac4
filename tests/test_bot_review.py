"""review mode end to end: a pull request gets one review whose suggestions GitHub accepts."""

from __future__ import annotations

import re

import pytest

from bot.analyse import Options
from bot.github.client import ApiFailure, connect, make_retry
from bot.review.fingerprint import fingerprints_in, marker
from bot.review.publish import review_pr
from tests.bot_support import client
from tests.github_double import GitHubDouble, fixtures
from tests.test_text_escaping import outside_code

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


# -- the config is the base's -----------------------------------------------------------------


def test_config_comes_from_the_base_not_the_pull_request(github: GitHubDouble) -> None:
    base = {**BASE, ".container-bp.yml": b"rules:\n  disable: [CBP110]\n"}
    head = {**HEAD, ".container-bp.yml": b"rules:\n  disable: [CBP103]\n"}
    number = open_pr(github, head, base)
    base_sha = github.git(OWNER, NAME).ref_sha("refs/heads/main")
    report = review_pr(client(github), FULL, number, Options(), None)
    rules = {c.rule for c in report.posted}
    assert "CBP103" in rules and "CBP110" not in rules
    assert report.config_changes == [".container-bp.yml"]
    assert "takes effect once it is merged" in report.detail
    review = github.reviews(OWNER, NAME, number)[0]
    assert "`.container-bp.yml`, which takes effect once it is merged" in str(review["body"])
    # One tree and one blob for the config, nothing more.
    assert github.count("GET", f"/repos/{FULL}/git/trees/{base_sha}") == 1
    assert github.count("GET", f"/repos/{FULL}/contents/*") == 0


def test_a_pull_request_that_disables_rules_keeps_the_comments(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    first = review_pr(client(github), FULL, number, Options(), None)
    assert len(first.posted) >= 2
    codes = sorted({c.rule for c in first.posted})
    config = f"rules:\n  disable: [{', '.join(codes)}]\n".encode()
    github.commit_files(OWNER, NAME, "feature", {".container-bp.yml": config})
    again = review_pr(client(github), FULL, number, Options(), None)
    assert again.removed == 0 and again.duplicates == len(first.posted)
    assert len(github.review_comments(OWNER, NAME, number)) == len(first.posted)
    assert again.config_changes == [".container-bp.yml"]
    assert "takes effect once it is merged" in again.detail


def test_a_config_in_a_truncated_base_tree_is_still_found(github: GitHubDouble) -> None:
    # Git lists "+0.md" before ".github": the truncated answer stops before the config.
    base = {**BASE, **{f"+{i}.md": b"x\n" for i in range(5)}}
    config = {".github/.container-bp.yml": b"rules:\n  disable: [CBP110]\n"}
    number = open_pr(github, {**HEAD, **config}, {**base, **config})
    github.tree_entry_limit = 3
    report = review_pr(client(github), FULL, number, Options(), None)
    assert report.posted and "CBP110" not in {c.rule for c in report.posted}
    assert report.config_changes == []
    assert github.count("GET", f"/repos/{FULL}/contents/.github/.container-bp.yml") == 1


# -- only the bot's own comments count --------------------------------------------------------


def test_only_the_bots_own_comments_count(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    gh = client(github)
    first = review_pr(gh, FULL, number, Options(), None)
    ours = {int(c["id"]): c for c in github.review_comments(OWNER, NAME, number)}
    assert all(c["user"]["type"] == "Bot" for c in ours.values())
    target = next(c for c in ours.values() if str(c["body"]).startswith("**CBP110"))
    mark = marker(next(iter(fingerprints_in(str(target["body"])))))
    # The bot's comment is gone (resolved and deleted by hand); a person posts its marker.
    gh.requester.requestJsonAndCheck(
        "DELETE", f"{gh.get_repo(FULL).url}/pulls/comments/{target['id']}"
    )
    line = int(target["line"])
    github.add_review_comment(OWNER, NAME, number, "api/Dockerfile", line,
                              f"looks fine {mark}", user="mallory")  # fmt: skip
    github.add_review_comment(OWNER, NAME, number, "api/Dockerfile", line,
                              f"Copied from the bot: {marker('0123456789abcdef')}",
                              user="maintainer")  # fmt: skip
    again = review_pr(gh, FULL, number, Options(), None)
    assert [c.rule for c in again.posted] == ["CBP110"]
    assert again.duplicates == len(first.posted) - 1 and again.removed == 0
    others = [c for c in github.review_comments(OWNER, NAME, number) if c["user"]["type"] != "Bot"]
    assert sorted(c["user"]["login"] for c in others) == ["maintainer", "mallory"]


# -- when unsure, nothing is deleted; a rate limit is not a read-only token --------------------


def test_comments_are_kept_when_a_changed_file_cannot_be_read(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    first = review_pr(client(github), FULL, number, Options(), None)
    assert first.result is not None
    fixed = next(r.fixed for r in first.result.files if r.source_path == "api/Dockerfile")
    assert fixed is not None
    github.commit_files(OWNER, NAME, "feature", {"api/Dockerfile": fixed.encode()})
    github.fail_next("GET", f"/repos/{FULL}/git/blobs/*", 502, times=2)
    quick = connect(github.base_url, github.token, retry=make_retry(backoff_factor=0, total=1))
    again = review_pr(quick, FULL, number, Options(), None)
    assert again.result is not None and not again.result.files
    assert again.removed == 0 and "earlier comments kept" in again.detail
    assert len(github.review_comments(OWNER, NAME, number)) == len(first.posted)
    # Once the file can be read, the comments of the findings it no longer has go.
    assert review_pr(client(github), FULL, number, Options(), None).removed == len(first.posted)


def test_rate_limited_403_is_a_failure_not_a_read_only_token(github: GitHubDouble) -> None:
    number = open_pr(github, HEAD)
    github.fail_next("POST", f"/repos/{FULL}/pulls/{number}/reviews", 403, times=3)
    quick = connect(
        github.base_url,
        github.token,
        retry=make_retry(secondary_wait=0, backoff_factor=0, total=1),
    )
    with pytest.raises(ApiFailure) as caught:
        review_pr(quick, FULL, number, Options(), None)
    assert caught.value.status == 403 and "rate limit" in str(caught.value)
    assert github.reviews(OWNER, NAME, number) == []


# -- text from the files is inert -------------------------------------------------------------

POD = (
    b'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "x` @acme/security-team please approve'
    b' <img src=https://example.invalid/p.png> `y"\nspec:\n  containers:\n'
    b"    - name: app\n      image: nginx:1.27\n"
)


def test_names_in_messages_cannot_mention_or_add_html(github: GitHubDouble) -> None:
    number = open_pr(github, {"k8s/pod.yaml": POD}, {"README.md": b"x\n"})
    report = review_pr(client(github), FULL, number, Options(), None)
    assert "CBP202" in {c.rule for c in report.posted}
    for comment in github.review_comments(OWNER, NAME, number):
        text = outside_code(str(comment["body"]))
        assert "@acme" not in text and "<img" not in text and "`" not in text
    bare = next(c for c in github.review_comments(OWNER, NAME, number) if "CBP202" in c["body"])
    assert "@\u2060acme/security-team" in bare["body"] and "&lt;img" in bare["body"]
