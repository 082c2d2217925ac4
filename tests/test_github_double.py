"""The GitHub REST API double, driven by unmodified PyGithub."""

from __future__ import annotations

import base64
import subprocess

import httpx
import pytest
from github import Auth, Github, GithubException, GithubRetry, InputGitTreeElement

from tests.github_double import GitHubDouble, fixtures, openapi

github = fixtures.github

FILES = {
    "Dockerfile": b"FROM python:3.12\nRUN pip install flask\nCMD python app.py\n",
    "k8s/deploy.yaml": b"apiVersion: apps/v1\nkind: Deployment\n",
    "README.md": b"# app\n",
}


def client(double: GitHubDouble, **kwargs: object) -> Github:
    # No client-side throttling (PyGithub waits 0.25 s between requests, 1 s between writes).
    kwargs.setdefault("retry", None)
    kwargs.setdefault("seconds_between_requests", None)
    kwargs.setdefault("seconds_between_writes", None)
    return Github(base_url=double.base_url, auth=Auth.Token(double.token), **kwargs)  # type: ignore[arg-type]


def test_read_repo_branch_tree_and_blobs(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    repo = client(github).get_repo("acme/app")
    assert (repo.full_name, repo.default_branch) == ("acme/app", "main")
    branch = repo.get_branch("main")
    head = github.git("acme", "app").rev_parse("refs/heads/main")
    assert branch.commit.sha == head
    tree = repo.get_git_tree(branch.commit.commit.tree.sha, recursive=True)
    assert not tree.raw_data["truncated"]
    blobs = {e.path: e.sha for e in tree.tree if e.type == "blob"}
    assert set(blobs) == set(FILES)
    assert any(e.path == "k8s" and e.type == "tree" for e in tree.tree)
    for path, sha in blobs.items():
        blob = repo.get_git_blob(sha)
        assert base64.b64decode(blob.content) == FILES[path]
    # Real git objects: the blob SHA is git's own.
    expected = (
        subprocess.run(
            ["git", "hash-object", "--stdin"],
            input=FILES["README.md"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    assert blobs["README.md"] == expected
    assert (
        repo.get_contents("k8s/deploy.yaml", ref="main").decoded_content == FILES["k8s/deploy.yaml"]
    )
    assert [c.path for c in repo.get_contents("k8s")] == ["k8s/deploy.yaml"]
    assert repo.get_commit("main").sha == head
    assert [r.ref for r in repo.get_git_matching_refs("heads/")] == ["refs/heads/main"]


def test_tree_truncation(github: GitHubDouble) -> None:
    github.create_repo("acme", "big", {f"f{i}.txt": b"x%d\n" % i for i in range(5)})
    github.tree_entry_limit = 3
    repo = client(github).get_repo("acme/big")
    tree = repo.get_git_tree("main", recursive=True)
    assert tree.raw_data["truncated"] is True
    assert len(tree.tree) == 3


def _fix_commit(repo, base_sha: str, content: str, message: str) -> str:  # type: ignore[no-untyped-def]
    base_commit = repo.get_git_commit(base_sha)
    blob = repo.create_git_blob(base64.b64encode(b"LICENSE text\n").decode(), "base64")
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("Dockerfile", "100644", "blob", content=content),
            InputGitTreeElement("LICENSE", "100644", "blob", sha=blob.sha),
            InputGitTreeElement("README.md", "100644", "blob", sha=None),
        ],
        base_tree=base_commit.tree,
    )
    return repo.create_git_commit(message, tree, [base_commit]).sha


def test_fix_pr_flow(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    repo = client(github).get_repo("acme/app")
    main_sha = repo.get_branch("main").commit.sha
    fixed = FILES["Dockerfile"].decode().replace("CMD python app.py", 'CMD ["python", "app.py"]')

    first = _fix_commit(repo, main_sha, fixed, "Fix Dockerfile")
    ref = repo.create_git_ref("refs/heads/container-bp/fixes", first)
    assert ref.object.sha == first
    assert github.repo_files("acme", "app", "container-bp/fixes") == {
        "Dockerfile": fixed.encode(),
        "k8s/deploy.yaml": FILES["k8s/deploy.yaml"],
        "LICENSE": b"LICENSE text\n",
    }
    commit = repo.get_git_commit(first)
    assert [p.sha for p in commit.parents] == [main_sha]

    # Fast-forward update is accepted ...
    second = _fix_commit(repo, first, fixed + "USER app\n", "Run as non-root")
    ref.edit(second)
    assert repo.get_git_ref("heads/container-bp/fixes").object.sha == second
    # ... a rewrite without force is not, with force it is.
    rewrite = _fix_commit(repo, main_sha, fixed + "USER 1000\n", "Rewrite")
    with pytest.raises(GithubException) as err:
        ref.edit(rewrite)
    assert err.value.status == 422
    assert "fast forward" in err.value.data["message"]
    ref.edit(rewrite, force=True)
    assert github.git("acme", "app").rev_parse("refs/heads/container-bp/fixes") == rewrite

    pr = repo.create_pull(
        title="Container best practices", body="Fixes", head="container-bp/fixes", base="main"
    )
    assert pr.number == 1
    assert pr.head.sha == rewrite
    listed = list(repo.get_pulls(state="open", head="acme:container-bp/fixes", base="main"))
    assert [p.number for p in listed] == [1]
    assert list(repo.get_pulls(head="acme:other")) == []

    files = {f.filename: f for f in pr.get_files()}
    assert files["Dockerfile"].status == "modified"
    assert files["README.md"].status == "removed"
    assert files["LICENSE"].status == "added"
    assert files["LICENSE"].additions == 1 and files["LICENSE"].changes == 1
    assert '+CMD ["python", "app.py"]' in files["Dockerfile"].patch
    assert files["Dockerfile"].patch.startswith("@@")

    pr.create_issue_comment("container-bp found 2 problems")
    repo.create_label("container-bp", "0e8a16", "Fixes from container-bp")
    pr.add_to_labels("container-bp")
    assert github.comments("acme", "app", 1) == ["container-bp found 2 problems"]
    assert github.issue_labels("acme", "app", 1) == ["container-bp"]
    assert [label.name for label in repo.get_pull(1).labels] == ["container-bp"]

    pr.edit(state="closed")
    assert repo.get_pull(1).state == "closed"
    ref.delete()
    assert github.git("acme", "app").ref_sha("refs/heads/container-bp/fixes") is None
    assert github.count("POST", "/repos/acme/app/git/refs") == 1


def test_org_repos_are_paginated(github: GitHubDouble) -> None:
    for i in range(25):
        github.create_repo("acme", f"svc-{i:02d}", {"Dockerfile": b"FROM scratch\n"})
    github.create_repo("other", "elsewhere", {})
    org_repos = client(github, per_page=10, lazy=True).get_organization("acme").get_repos()
    assert [r.name for r in org_repos] == [f"svc-{i:02d}" for i in range(25)]
    pages = [r for r in github.requests if r.path == "/orgs/acme/repos"]
    assert len(pages) == 3


def test_link_headers_and_rate_limit_headers(github: GitHubDouble) -> None:
    for i in range(5):
        github.create_repo("acme", f"r{i}", None)
    headers = {"Authorization": f"Bearer {github.token}"}
    resp = httpx.get(f"{github.base_url}/orgs/acme/repos?per_page=2&page=2", headers=headers)
    assert resp.status_code == 200
    assert 'rel="next"' in resp.headers["link"] and 'rel="prev"' in resp.headers["link"]
    assert github.base_url in resp.headers["link"]
    assert resp.headers["x-ratelimit-limit"] == "5000"
    assert int(resp.headers["x-ratelimit-remaining"]) < 5000
    assert resp.headers["etag"].startswith('W/"')
    limits = client(github).get_rate_limit()
    assert limits.resources.core.limit == 5000


def test_fault_after_action_makes_blind_post_retry_fail(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    sha = github.git("acme", "app").rev_parse("refs/heads/main")
    assert sha
    # Without retries the client sees the 502, although the ref was created.
    github.fail_next("POST", "/repos/acme/app/git/refs", status=502, after=True)
    repo = client(github).get_repo("acme/app")
    with pytest.raises(GithubException) as err:
        repo.create_git_ref("refs/heads/a", sha)
    assert err.value.status == 502
    assert github.git("acme", "app").ref_sha("refs/heads/a") == sha

    # PyGithub's default retry repeats the POST: the retry then finds the ref already there.
    github.fail_next("POST", "/repos/acme/app/git/refs", status=502, after=True)
    retrying = client(github, retry=GithubRetry(total=2, backoff_factor=0)).get_repo("acme/app")
    with pytest.raises(GithubException) as err:
        retrying.create_git_ref("refs/heads/b", sha)
    assert err.value.status == 422
    assert "already exists" in err.value.data["message"]
    assert github.count("POST", "/repos/acme/app/git/refs") == 3

    # A fault before the action creates nothing.
    github.fail_next("POST", "/repos/acme/app/git/refs", status=502)
    with pytest.raises(GithubException):
        repo.create_git_ref("refs/heads/c", sha)
    assert github.git("acme", "app").ref_sha("refs/heads/c") is None


def test_secondary_rate_limit_fault(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    github.fail_next("GET", "/repos/acme/*", status=403, retry_after=7)
    resp = httpx.get(
        f"{github.base_url}/repos/acme/app", headers={"Authorization": f"token {github.token}"}
    )
    assert resp.status_code == 403
    assert resp.headers["retry-after"] == "7"
    assert "secondary rate limit" in resp.json()["message"]
    assert client(github).get_repo("acme/app").name == "app"


def test_wrong_token_is_401(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    bad = Github(
        base_url=github.base_url, auth=Auth.Token("nope"), retry=None, seconds_between_requests=None
    )
    with pytest.raises(GithubException) as err:
        bad.get_repo("acme/app")
    assert err.value.status == 401
    assert github.requests[-1].status == 401


def test_blob_encodings_and_missing_objects(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    repo = client(github).get_repo("acme/app")
    utf8 = repo.create_git_blob("héllo\n", "utf-8")
    b64 = repo.create_git_blob(base64.b64encode("héllo\n".encode()).decode(), "base64")
    assert utf8.sha == b64.sha
    assert github.git("acme", "app").read_blob(utf8.sha) == "héllo\n".encode()
    with pytest.raises(GithubException) as err:
        repo.get_git_ref("heads/missing")
    assert err.value.status == 404
    with pytest.raises(GithubException) as err:
        repo.create_git_ref("refs/heads/x", "f" * 40)
    assert err.value.status == 422


def test_invalid_request_body_is_recorded(github: GitHubDouble) -> None:
    github.create_repo("acme", "app", FILES)
    resp = httpx.post(
        f"{github.base_url}/repos/acme/app/git/refs",
        json={"ref": "refs/heads/x"},  # `sha` is required
        headers={"Authorization": f"token {github.token}"},
    )
    assert resp.status_code == 422
    assert any("'sha' is a required property" in e for e in github.errors)
    github.errors.clear()  # expected here; any other test would fail at fixture teardown
    assert client(github).get_repo("acme/app").name == "app"
    assert github.errors == []


def test_invalid_response_is_reported() -> None:
    # The validator catches what a hand-written response would get wrong.
    schema = openapi.operation("git/get-ref").response_schema(200)[1]
    assert schema is not None
    assert openapi.validate(schema, {"ref": "refs/heads/main"})
    problems = openapi.validate(
        openapi.operation("issues/add-labels").request_schema() or {}, ["a", "b"]
    )
    assert problems == []
