"""The GitHub double's pulls/delete-review-comment, issues/list-comments and orgs/get, driven by
unmodified PyGithub (and httpx where PyGithub has no call)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from github import Auth, Github, GithubException
from github.PullRequest import PullRequest

from tests.github_double import GitHubDouble, fixtures

github = fixtures.github

BASE = "".join(f"line {i}\n" for i in range(1, 21)).encode()
CHANGED = BASE.replace(b"line 3\n", b"LINE three\n").replace(b"line 9\n", b"LINE nine\n")


def client(double: GitHubDouble, **kwargs: Any) -> Github:
    return Github(
        base_url=double.base_url,
        auth=Auth.Token(double.token),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        **kwargs,
    )


def open_pr(double: GitHubDouble, gh: Github | None = None) -> PullRequest:
    double.create_repo("acme", "app", {"app.py": BASE}, owner_type="Organization")
    git = double.git("acme", "app")
    git.update_ref("refs/heads/fix", git.ref_sha("refs/heads/main") or "")
    double.commit_files("acme", "app", "fix", {"app.py": CHANGED}, message="fix")
    repo = (gh or client(double)).get_repo("acme/app")
    return repo.create_pull(title="Fix", body="Fixes", head="fix", base="main")


def _status(call: Any) -> int:
    with pytest.raises(GithubException) as err:
        call()
    status: int = err.value.status
    return status


def test_delete_review_comment(github: GitHubDouble) -> None:
    pr = open_pr(github)
    pr.create_review(
        body="review",
        event="COMMENT",
        comments=[
            {"path": "app.py", "line": 3, "side": "RIGHT", "body": "first"},
            {"path": "app.py", "line": 9, "side": "RIGHT", "body": "second"},
        ],
    )
    human = github.add_review_comment("acme", "app", pr.number, "app.py", 3, "a person's")
    listed = {c.body: c for c in pr.get_review_comments()}
    assert set(listed) == {"first", "second", "a person's"}

    listed["first"].delete()
    assert [c.body for c in pr.get_review_comments()] == ["second", "a person's"]
    assert [c["body"] for c in github.review_comments("acme", "app", pr.number)] == [
        "second",
        "a person's",
    ]
    assert client(github).get_repo("acme/app").get_pull(pr.number).review_comments == 2
    # The review stays; only its comment is gone.
    assert [r.body for r in pr.get_reviews()] == ["review", ""]

    assert _status(listed["first"].delete) == 404  # already deleted
    url = f"{github.base_url}/repos/acme/app/pulls/comments/{human['id']}"
    auth = {"Authorization": f"Bearer {github.token}"}
    assert httpx.delete(url, headers=auth).status_code == 204
    assert [c.body for c in pr.get_review_comments()] == ["second"]
    other = f"{github.base_url}/repos/acme/app/pulls/comments/999999"
    assert httpx.delete(other, headers=auth).status_code == 404
    assert github.count("DELETE", "/repos/acme/app/pulls/comments/*") == 4


def test_delete_review_comment_of_a_pending_review(github: GitHubDouble) -> None:
    pr = open_pr(github)
    pr.create_review(comments=[{"path": "app.py", "line": 3, "body": "draft"}])
    assert list(pr.get_review_comments()) == []  # pending comments are not listed
    assert [r["state"] for r in github.reviews("acme", "app", pr.number)] == ["PENDING"]
    stored = github.repos[("acme", "app")].review_comments[pr.number]
    url = f"{github.base_url}/repos/acme/app/pulls/comments/{stored[0]['id']}"
    auth = {"Authorization": f"Bearer {github.token}"}
    assert httpx.delete(url, headers=auth).status_code == 204  # the token's own pending review
    assert stored == []


def test_delete_review_comment_needs_write_access(github: GitHubDouble) -> None:
    pr = open_pr(github)
    pr.create_review(event="COMMENT", comments=[{"path": "app.py", "line": 9, "body": "x"}])
    cid = next(iter(pr.get_review_comments())).id
    github.add_token("ghs_readonly0123", read_only=True)
    url = f"{github.base_url}/repos/acme/app/pulls/comments/{cid}"
    resp = httpx.delete(url, headers={"Authorization": "Bearer ghs_readonly0123"})
    assert resp.status_code == 403
    assert [c.id for c in pr.get_review_comments()] == [cid]


def test_list_issue_comments_with_pagination(github: GitHubDouble) -> None:
    pr = open_pr(github, client(github, per_page=2))
    for i in range(5):
        pr.create_issue_comment(f"comment {i}")
    comments = list(pr.get_issue_comments())
    assert [c.body for c in comments] == [f"comment {i}" for i in range(5)]
    assert comments[0].user.login == github.login
    pages = [r for r in github.requests if r.path == f"/repos/acme/app/issues/{pr.number}/comments"]
    assert [r.method for r in pages] == ["POST"] * 5 + ["GET"] * 3
    assert pr.comments == 0  # the object was fetched before the comments were made
    assert client(github).get_repo("acme/app").get_pull(pr.number).comments == 5

    auth = {"Authorization": f"Bearer {github.token}"}
    url = f"{github.base_url}/repos/acme/app/issues/{pr.number}/comments"
    page = httpx.get(url, params={"per_page": 2, "page": 3}, headers=auth)
    assert [c["body"] for c in page.json()] == ["comment 4"]
    assert 'rel="prev"' in page.headers["link"] and 'rel="next"' not in page.headers["link"]
    later = httpx.get(url, params={"since": "2999-01-01T00:00:00Z"}, headers=auth)
    assert later.json() == []
    assert httpx.get(url, params={"since": "yesterday"}, headers=auth).status_code == 422
    missing = f"{github.base_url}/repos/acme/app/issues/99/comments"
    assert httpx.get(missing, headers=auth).status_code == 404


def test_list_issue_comments_when_there_are_none(github: GitHubDouble) -> None:
    pr = open_pr(github)
    assert list(pr.get_issue_comments()) == []


def test_get_org(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", {"README.md": b"# app\n"}, owner_type="Organization")
    github.create_repo(
        "acme", "secret", {"README.md": b"# s\n"}, owner_type="Organization", private=True
    )
    github.create_repo("octocat", "hello", {"README.md": b"# hi\n"})
    gh = client(github)
    org = gh.get_organization("acme")
    assert (org.login, org.type, org.public_repos, org.total_private_repos) == (
        "acme",
        "Organization",
        1,
        1,
    )
    assert org.url == f"{github.base_url}/orgs/acme"
    assert org.id == gh.get_repo("acme/app").owner.id
    assert {r.name for r in org.get_repos()} == {"app", "secret"}
    assert _status(lambda: gh.get_organization("nobody").login) == 404
    # A user account is not an organization.
    assert _status(lambda: gh.get_organization("octocat").login) == 404
