"""The GitHub double's reviews, SARIF uploads, repository flags and token behaviour, driven by
unmodified PyGithub (and httpx where PyGithub has no call)."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import httpx
import pytest
from github import Auth, Github, GithubException
from github.PullRequest import PullRequest

from tests.github_double import GitHubDouble, fixtures
from tests.github_double.gitstore import patch_lines

github = fixtures.github

BASE = "".join(f"line {i}\n" for i in range(1, 31)).encode()
# Commit 1 rewrites line 3 and inserts a line after line 4; commit 2 rewrites old line 25
# (new line 26): the PR diff of app.py has two hunks, new lines 1-8 and 23-29.
STEP1 = BASE.replace(b"line 3\n", b"LINE three\n").replace(b"line 4\n", b"line 4\ninserted\n")
STEP2 = STEP1.replace(b"line 25\n", b"LINE 25\n")
SARIF = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [{"tool": {"driver": {"name": "container-bp"}}, "results": []}],
}


def client(double: GitHubDouble, token: str | None = None, lazy: bool = False) -> Github:
    return Github(
        base_url=double.base_url,
        auth=Auth.Token(token or double.token),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=lazy,
    )


def headers(double: GitHubDouble, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or double.token}"}


def two_commit_pr(double: GitHubDouble) -> PullRequest:
    double.create_repo("acme", "app", {"app.py": BASE, "README.md": b"# app\n"})
    git = double.git("acme", "app")
    git.update_ref("refs/heads/fix", git.ref_sha("refs/heads/main") or "")
    double.commit_files("acme", "app", "fix", {"app.py": STEP1}, message="one")
    double.commit_files("acme", "app", "fix", {"app.py": STEP2}, message="two")
    repo = client(double).get_repo("acme/app")
    return repo.create_pull(title="Fix", body="Fixes", head="fix", base="main")


def _expect(status: int, call: Any) -> dict[str, Any]:
    with pytest.raises(GithubException) as err:
        call()
    assert err.value.status == status
    data: dict[str, Any] = err.value.data
    return data


def test_review_with_single_and_multi_line_comments(github: GitHubDouble) -> None:
    pr = two_commit_pr(github)
    assert pr.commits == 2
    hunks = next(f.patch for f in pr.get_files() if f.filename == "app.py")
    assert hunks.count("\n@@") == 1  # two hunks

    review = pr.create_review(
        body="container-bp review",
        event="COMMENT",
        comments=[
            {"path": "app.py", "line": 3, "side": "RIGHT", "body": "single"},
            {
                "path": "app.py",
                "start_line": 2,
                "start_side": "RIGHT",
                "line": 5,
                "side": "RIGHT",
                "body": "multi",
            },
            {"path": "app.py", "line": 26, "body": "second hunk, side defaults to RIGHT"},
            {"path": "app.py", "line": 3, "side": "LEFT", "body": "the removed line"},
            {"path": "app.py", "position": 4, "body": "legacy position: the added line"},
        ],
    )
    assert review.state == "COMMENTED"
    head = github.git("acme", "app").ref_sha("refs/heads/fix")
    assert review.commit_id == head
    assert review.user.login == github.login

    listed = list(pr.get_reviews())
    assert [(r.id, r.body) for r in listed] == [(review.id, "container-bp review")]
    comments = list(pr.get_review_comments())
    got = [(c.body, c.line, c.start_line, c.side, c.start_side) for c in comments]
    assert got == [
        ("single", 3, None, "RIGHT", None),
        ("multi", 5, 2, "RIGHT", "RIGHT"),
        ("second hunk, side defaults to RIGHT", 26, None, "RIGHT", None),
        ("the removed line", 3, None, "LEFT", None),
        ("legacy position: the added line", 3, None, "RIGHT", None),
    ]
    single, multi = comments[0], comments[1]
    assert single.pull_request_review_id == review.id
    assert single.commit_id == single.original_commit_id == head
    assert single.original_line == 3 and single.path == "app.py"
    assert single.diff_hunk.startswith("@@ -1,7 +1,8 @@")
    assert single.diff_hunk.endswith("+LINE three")
    assert multi.diff_hunk.endswith("+inserted")
    assert comments[2].diff_hunk.startswith("@@ -22,7 +23,7 @@")
    assert comments[3].diff_hunk.endswith("-line 3")
    assert single.position == comments[4].position == 4
    assert comments[3].position == 3
    assert pr.review_comments == 0  # as created; a fresh read counts them
    assert client(github).get_repo("acme/app").get_pull(1).review_comments == 5
    assert github.review_comments("acme", "app", 1)[0]["body"] == "single"
    assert [r["state"] for r in github.reviews("acme", "app", 1)] == ["COMMENTED"]


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        (
            {"path": "app.py", "line": 15, "side": "RIGHT", "body": "outside the diff"},
            "Pull request review thread line must be part of the diff and"
            " Pull request review thread diff hunk can't be blank",
        ),
        (
            {"path": "app.py", "start_line": 5, "line": 26, "body": "two hunks"},
            "Pull request review thread start line must be part of the same hunk as the line.",
        ),
        (
            {"path": "app.py", "start_line": 5, "line": 3, "body": "backwards"},
            "Pull request review thread start line must precede the end line",
        ),
        (
            {"path": "app.py", "line": 8, "side": "LEFT", "body": "LEFT has no line 8 here"},
            "Pull request review thread line must be part of the diff and"
            " Pull request review thread diff hunk can't be blank",
        ),
        (
            {"path": "README.md", "line": 1, "body": "not in the PR"},
            "Pull request review thread path is invalid and"
            " Pull request review thread diff hunk can't be blank",
        ),
    ],
)
def test_review_comment_outside_the_diff_is_422(
    github: GitHubDouble, comment: Any, message: str
) -> None:
    pr = two_commit_pr(github)
    good: Any = {"path": "app.py", "line": 3, "body": "fine"}
    data = _expect(
        422, lambda: pr.create_review(body="x", event="COMMENT", comments=[good, comment])
    )
    assert data["message"] == "Unprocessable Entity"
    assert data["errors"] == [message]
    # All or nothing: the valid comment was not stored either.
    assert github.reviews("acme", "app", 1) == []
    assert github.review_comments("acme", "app", 1) == []


def test_review_events_commits_and_pending_reviews(github: GitHubDouble) -> None:
    pr = two_commit_pr(github)
    repo = client(github).get_repo("acme/app")
    data = _expect(422, lambda: pr.create_review(body="ok", event="APPROVE"))
    assert data["errors"] == ["Can not approve your own pull request"]
    data = _expect(422, lambda: pr.create_review(body="no", event="REQUEST_CHANGES"))
    assert data["errors"] == ["Can not request changes on your own pull request"]
    assert _expect(422, lambda: pr.create_review(event="COMMENT"))["errors"]
    main = repo.get_commit("main")  # the base: not part of the pull request
    data = _expect(422, lambda: pr.create_review(commit=main, body="x", event="COMMENT"))
    assert data["errors"] == ["commit_id is not part of the pull request"]
    unknown = httpx.post(
        f"{github.base_url}/repos/acme/app/pulls/1/reviews",
        json={"commit_id": "f" * 40, "body": "x", "event": "COMMENT"},
        headers=headers(github),
    )
    assert unknown.status_code == 422

    # An older commit of the PR is fine; its diff decides where comments may go.
    first = repo.get_commit("fix~1")
    older = pr.create_review(
        commit=first, event="COMMENT", comments=[{"path": "app.py", "line": 5, "body": "c"}]
    )
    assert older.commit_id == first.sha
    data = _expect(
        422,
        lambda: pr.create_review(
            commit=first, event="COMMENT", comments=[{"path": "app.py", "line": 26, "body": "c"}]
        ),
    )
    assert "line must be part of the diff" in data["errors"][0]

    # Another author's PR can be approved.
    github.pulls("acme", "app")[0]["user"] = "octocat"
    assert pr.create_review(event="APPROVE").state == "APPROVED"

    # No event: a pending review, whose comments stay hidden; only one per user.
    pending = pr.create_review(comments=[{"path": "app.py", "line": 3, "body": "draft"}])
    assert pending.state == "PENDING"
    assert "draft" not in [c.body for c in pr.get_review_comments()]
    data = _expect(422, lambda: pr.create_review(body="again"))
    assert data["errors"] == ["User can only have one pending review per pull request"]
    assert [r.state for r in pr.get_reviews()] == ["COMMENTED", "APPROVED", "PENDING"]


def test_human_replies_and_pagination(github: GitHubDouble) -> None:
    pr = two_commit_pr(github)
    pr.create_review(
        event="COMMENT", comments=[{"path": "app.py", "line": 3, "body": f"c{i}"} for i in range(3)]
    )
    root = github.review_comments("acme", "app", 1)[0]
    reply = github.add_review_comment("acme", "app", 1, "app.py", 3, "why?", in_reply_to=root["id"])
    answer = github.add_review_comment(
        "acme", "app", 1, "app.py", 3, "because", user="acme", in_reply_to=reply["id"]
    )
    fresh = github.add_review_comment("acme", "app", 1, "app.py", 26, "new thread")
    with pytest.raises(ValueError, match="part of the diff"):
        github.add_review_comment("acme", "app", 1, "app.py", 15, "outside")
    with pytest.raises(ValueError):
        github.add_review_comment("acme", "app", 1, "app.py", 4, "x", in_reply_to=root["id"])

    listed = {c.id: c for c in pr.get_review_comments()}
    assert listed[reply["id"]].in_reply_to_id == root["id"]
    assert listed[answer["id"]].in_reply_to_id == root["id"]  # replies join the root thread
    assert listed[answer["id"]].user.login == "acme"
    assert listed[answer["id"]].author_association == "OWNER"
    assert listed[reply["id"]].user.login == "octocat"
    assert listed[fresh["id"]].diff_hunk.endswith("+LINE 25")
    raw = {c["id"]: c for c in github.review_comments("acme", "app", 1)}
    assert raw[reply["id"]]["user"]["type"] == "User"
    assert "in_reply_to_id" not in raw[fresh["id"]]
    # Each human comment comes with its own COMMENTED review.
    assert [r["user"]["login"] for r in github.reviews("acme", "app", 1)] == [
        github.login,
        "octocat",
        "acme",
        "octocat",
    ]

    page = httpx.get(
        f"{github.base_url}/repos/acme/app/pulls/1/comments?per_page=2&sort=created&direction=desc",
        headers=headers(github),
    )
    assert page.status_code == 200
    assert [c["id"] for c in page.json()] == [fresh["id"], answer["id"]]
    assert 'rel="next"' in page.headers["link"]
    reviews = httpx.get(
        f"{github.base_url}/repos/acme/app/pulls/1/reviews?per_page=3&page=2",
        headers=headers(github),
    )
    assert [r["user"]["login"] for r in reviews.json()] == ["octocat"]


def test_fail_next_covers_the_new_operations(github: GitHubDouble) -> None:
    pr = two_commit_pr(github)
    github.fail_next("POST", "/repos/acme/app/pulls/*/reviews", status=502, after=True)
    _expect(502, lambda: pr.create_review(body="x", event="COMMENT"))
    assert len(github.reviews("acme", "app", 1)) == 1  # the review exists anyway
    github.fail_next("GET", "/repos/acme/app/pulls/1/comments", status=500)
    _expect(500, lambda: list(pr.get_review_comments()))
    assert list(pr.get_review_comments()) == []


def _sarif_payload(doc: Any) -> str:
    return base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()


def test_sarif_upload_round_trip(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
    sha = github.git("acme", "app").ref_sha("refs/heads/main")
    resp = httpx.post(
        f"{github.base_url}/repos/acme/app/code-scanning/sarifs",
        json={"commit_sha": sha, "ref": "refs/heads/main", "sarif": _sarif_payload(SARIF)},
        headers=headers(github),
    )
    assert resp.status_code == 202
    receipt = resp.json()
    assert (
        receipt["url"] == f"{github.base_url}/repos/acme/app/code-scanning/sarifs/{receipt['id']}"
    )
    status = httpx.get(receipt["url"], headers=headers(github))
    assert status.status_code == 200
    assert status.json()["processing_status"] == "complete"
    assert receipt["id"] in status.json()["analyses_url"]
    assert github.sarifs("acme", "app") == [SARIF]
    upload = github.sarif_uploads("acme", "app")[0]
    assert (upload["commit_sha"], upload["ref"]) == (sha, "refs/heads/main")
    missing = httpx.get(f"{receipt['url']}-nope", headers=headers(github))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "sarif",
    [
        "not base64 at all!",
        base64.b64encode(json.dumps(SARIF).encode()).decode(),  # not gzip
        base64.b64encode(gzip.compress(b"{not json")).decode(),
        _sarif_payload({**SARIF, "version": "2.0.0"}),
        _sarif_payload({"version": "2.1.0"}),  # no runs
        _sarif_payload([SARIF]),
    ],
)
def test_bad_sarif_payload_is_rejected(github: GitHubDouble, sarif: str) -> None:
    github.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
    sha = github.git("acme", "app").ref_sha("refs/heads/main")
    resp = httpx.post(
        f"{github.base_url}/repos/acme/app/code-scanning/sarifs",
        json={"commit_sha": sha, "ref": "refs/heads/main", "sarif": sarif},
        headers=headers(github),
    )
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("Invalid request.")
    assert github.sarifs("acme", "app") == []


def test_sarif_for_an_unknown_commit_is_rejected(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
    resp = httpx.post(
        f"{github.base_url}/repos/acme/app/code-scanning/sarifs",
        json={"commit_sha": "a" * 40, "ref": "refs/heads/main", "sarif": _sarif_payload(SARIF)},
        headers=headers(github),
    )
    assert resp.status_code == 400


def test_repository_flags_and_archived_writes(github: GitHubDouble) -> None:
    github.create_repo("acme", "old", {"Dockerfile": b"FROM scratch\n"}, archived=True)
    github.create_repo("acme", "copy", {"Dockerfile": b"FROM scratch\n"}, fork=True)
    github.create_repo("acme", "gone", None, disabled=True, visibility="internal")
    gh = client(github)
    old = gh.get_repo("acme/old")
    assert (old.archived, old.fork) == (True, False)
    gone = gh.get_repo("acme/gone")
    assert (gone.raw_data["disabled"], gone.private, gone.raw_data["visibility"]) == (
        True,
        True,
        "internal",
    )
    org = client(github, lazy=True).get_organization("acme")
    flags = {r.name: (r.archived, r.fork) for r in org.get_repos()}
    assert flags == {"old": (True, False), "copy": (False, True), "gone": (False, False)}
    install = httpx.get(f"{github.base_url}/installation/repositories", headers=headers(github))
    listed = {r["name"]: r for r in install.json()["repositories"]}
    assert listed["old"]["archived"] and listed["copy"]["fork"] and listed["gone"]["disabled"]

    sha = old.get_branch("main").commit.sha
    data = _expect(403, lambda: old.create_git_ref("refs/heads/x", sha))
    assert data["message"] == "Repository was archived so is read-only."
    assert github.git("acme", "old").ref_sha("refs/heads/x") is None
    gh.get_repo("acme/copy").create_git_ref("refs/heads/x", sha)  # other repos stay writable


def test_read_only_token_reads_but_cannot_write(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
    github.add_token("ghs_readonly0123", read_only=True)
    repo = client(github, "ghs_readonly0123").get_repo("acme/app")
    sha = repo.get_branch("main").commit.sha
    data = _expect(403, lambda: repo.create_git_ref("refs/heads/x", sha))
    assert data["message"] == "Resource not accessible by integration"
    sarif = httpx.post(
        f"{github.base_url}/repos/acme/app/code-scanning/sarifs",
        json={"commit_sha": sha, "ref": "refs/pull/1/merge", "sarif": _sarif_payload(SARIF)},
        headers=headers(github, "ghs_readonly0123"),
    )
    assert sarif.status_code == 403
    assert github.git("acme", "app").ref_sha("refs/heads/x") is None
    client(github).get_repo("acme/app").create_git_ref("refs/heads/x", sha)


def test_read_only_tokens_given_to_the_constructor(tmp_path: Any) -> None:
    with GitHubDouble(root=tmp_path / "gh", read_only_tokens=("ghs_ro",)) as double:
        double.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
        repo = client(double, "ghs_ro").get_repo("acme/app")
        _expect(403, lambda: repo.create_git_blob("x", "utf-8"))
        assert not double.errors


def test_conditional_get_is_free(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
    url = f"{github.base_url}/repos/acme/app"
    first = httpx.get(url, headers=headers(github))
    etag = first.headers["etag"]
    used = github.rate_used
    again = httpx.get(url, headers={**headers(github), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert github.rate_used == used
    assert again.headers["x-ratelimit-used"] == str(used)
    assert github.requests[-1].status == 304
    # Weak and strong forms of the same tag match; a stale one costs a request.
    strong = etag.removeprefix("W/")
    assert httpx.get(url, headers={**headers(github), "If-None-Match": strong}).status_code == 304
    stale = httpx.get(url, headers={**headers(github), "If-None-Match": 'W/"stale"'})
    assert stale.status_code == 200
    assert github.rate_used == used + 1


def test_expired_token_is_401(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", {"Dockerfile": b"FROM scratch\n"})
    gh = client(github)
    assert gh.get_repo("acme/app").name == "app"
    github.expire_token()
    data = _expect(401, lambda: gh.get_repo("acme/app"))
    assert data["message"] == "Bad credentials"
    assert github.requests[-1].status == 401


def test_patch_lines_numbers_both_sides() -> None:
    patch = (
        "@@ -1,2 +1,2 @@\n keep\n-old\n+new\n\\ No newline at end of file\n@@ -9 +9,2 @@\n x\n+y"
    )
    lines = patch_lines(patch)
    assert [(d.position, d.kind, d.old, d.new) for d in lines] == [
        (0, "@", None, None),
        (1, " ", 1, 1),
        (2, "-", 2, None),
        (3, "+", None, 2),
        (4, "\\", None, None),
        (5, "@", None, None),
        (6, " ", 9, 9),
        (7, "+", None, 10),
    ]
    assert [d.hunk for d in lines] == [0, 0, 0, 0, 0, 1, 1, 1]
    assert patch_lines(None) == []
