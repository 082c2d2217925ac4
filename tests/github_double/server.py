"""An in-process GitHub REST API double over HTTP, backed by real bare git repositories.

Every request body and every response body is validated against GitHub's OpenAPI description
(`openapi.py`); problems are collected in `GitHubDouble.errors` (the `github` fixture fails the
test that caused them).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import gzip
import hashlib
import itertools
import json
import tempfile
import threading
import time
import urllib.parse
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import openapi
from .gitstore import DiffLine, GitError, GitRepo, patch_lines

DOCS = "https://docs.github.com/rest"
JSON = dict[str, Any]
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
SARIF_MAX_BYTES = 10 * 1024 * 1024  # GitHub's limit on the gzip-compressed SARIF upload

# GitHub's review-thread validation messages (422 "Unprocessable Entity").
THREAD_LINE = "Pull request review thread line must be part of the diff"
THREAD_HUNK = "Pull request review thread diff hunk can't be blank"
THREAD_START = "Pull request review thread start line must be part of the same hunk as the line."
THREAD_ORDER = "Pull request review thread start line must precede the end line"
THREAD_PATH = "Pull request review thread path is invalid"
THREAD_POSITION = "Pull request review thread position is invalid"
THREAD_SIDE = "Pull request review thread side must be LEFT or RIGHT"


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: JSON = {"message": message, "documentation_url": DOCS}
        if errors is not None:
            self.body["errors"] = errors
        self.headers: dict[str, str] = {}


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # without the query string
    status: int
    query: str = ""
    operation_id: str | None = None


@dataclass
class Fault:
    method: str
    path: str  # exact path or fnmatch pattern, query string not included
    status: int
    times: int
    after: bool
    body: JSON
    headers: dict[str, str]


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    git: GitRepo
    default_branch: str
    private: bool = False
    owner_type: str = "User"
    visibility: str = "public"
    archived: bool = False
    disabled: bool = False
    fork: bool = False
    pulls: dict[int, JSON] = field(default_factory=dict)
    labels: dict[str, JSON] = field(default_factory=dict)
    comments: dict[int, list[JSON]] = field(default_factory=dict)
    issue_labels: dict[int, list[str]] = field(default_factory=dict)
    reviews: dict[int, list[JSON]] = field(default_factory=dict)  # by pull number
    review_comments: dict[int, list[JSON]] = field(default_factory=dict)  # by pull number
    sarifs: dict[str, JSON] = field(default_factory=dict)  # by upload id
    next_number: int = 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, each keep-alive answer waits
    # for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, headers = self.server.double.handle(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    double: GitHubDouble


def _b64(data: bytes) -> str:
    raw = base64.b64encode(data).decode()
    return "".join(raw[i : i + 60] + "\n" for i in range(0, len(raw), 60))


def _sentence(parts: list[str]) -> str:
    """Join like Rails' `to_sentence`, which GitHub's validation errors use."""
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + ", and " + parts[-1]


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _etag_matches(if_none_match: str | None, etag: str | None) -> bool:
    if not if_none_match or not etag:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def _decode_sarif(encoded: str) -> JSON:
    """gzip + base64 SARIF text -> the SARIF 2.1.0 document, or ApiError 400/413."""
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except binascii.Error:
        raise ApiError(400, "Invalid request. sarif is not base64-encoded.") from None
    if len(raw) > SARIF_MAX_BYTES:
        raise ApiError(413, "Payload Too Large")
    try:
        doc = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, zlib.error):
        raise ApiError(400, "Invalid request. sarif is not gzip-compressed.") from None
    except ValueError:
        raise ApiError(400, "Invalid request. sarif is not valid JSON.") from None
    if not isinstance(doc, dict) or doc.get("version") != "2.1.0":
        raise ApiError(400, "Invalid request. sarif must be a SARIF 2.1.0 log (version 2.1.0).")
    if not isinstance(doc.get("runs"), list):
        raise ApiError(400, "Invalid request. sarif has no runs array.")
    return doc


def _find_line(lines: list[DiffLine], side: str, number: int) -> DiffLine | None:
    """The diff line showing line `number` of the new (RIGHT) or old (LEFT) file."""
    kinds = (" ", "+") if side == "RIGHT" else (" ", "-")
    for d in lines:
        if d.kind in kinds and (d.new if side == "RIGHT" else d.old) == number:
            return d
    return None


def _git_date(iso: str | None, default: int) -> str:
    if not iso:
        return f"@{default} +0000"
    parsed = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"@{int(parsed.timestamp())} +0000"


def _since(items: list[JSON], query: JSON) -> list[JSON]:
    """The ``since`` filter of GitHub's comment lists (by ``updated_at``)."""
    if "since" not in query:
        return items
    try:
        since = dt.datetime.fromisoformat(query["since"].replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "Invalid value for since") from None
    return [
        c
        for c in items
        if dt.datetime.fromisoformat(c["updated_at"].replace("Z", "+00:00")) >= since
    ]


class GitHubDouble:
    """A GitHub REST API double. Start with `start()` (or use the `github` fixture)."""

    def __init__(
        self,
        root: Path | None = None,
        token: str = "ghs_testtoken0123456789",
        login: str = "container-bp[bot]",
        require_auth: bool = True,
        rate_limit: int = 5000,
        read_only_tokens: Iterable[str] = (),
    ) -> None:
        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="github-double-")
        self.root = Path(root or self._tmp.name)  # type: ignore[union-attr]
        self.token = token
        # token -> read-only? (a read-only token is what a workflow run for a fork PR gets)
        self.tokens: dict[str, bool] = {token: False, **dict.fromkeys(read_only_tokens, True)}
        self.expired_tokens: set[str] = set()
        self.login = login
        self.require_auth = require_auth
        self.rate_limit = rate_limit
        self.rate_used = 0
        self.rate_reset = int(time.time()) + 3600
        self.tree_entry_limit = 100_000
        self.clock: Callable[[], int] = lambda: int(time.time())
        self.repos: dict[tuple[str, str], Repo] = {}
        self.errors: list[str] = []
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1000)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ------------------------------------------------------------ lifecycle
    def start(self) -> GitHubDouble:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.double = self
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> GitHubDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ test helpers
    def create_repo(
        self,
        owner: str,
        name: str,
        files: dict[str, bytes] | None = None,
        default_branch: str = "main",
        *,
        private: bool = False,
        owner_type: str = "User",
        message: str = "Initial commit",
        visibility: str | None = None,
        archived: bool = False,
        disabled: bool = False,
        fork: bool = False,
    ) -> None:
        """A repository with one real commit holding `files` on `default_branch`.
        `visibility` ("public", "private", "internal") overrides `private`; writes to an
        `archived` repository answer 403."""
        if visibility is None:
            visibility = "private" if private else "public"
        if visibility not in ("public", "private", "internal"):
            raise ValueError(f"visibility must be public, private or internal: {visibility}")
        with self.lock:
            git = GitRepo(self.root / owner / f"{name}.git", default_branch)
            repo = Repo(
                owner,
                name,
                next(self._ids),
                git,
                default_branch,
                private=visibility != "public",
                owner_type=owner_type,
                visibility=visibility,
                archived=archived,
                disabled=disabled,
                fork=fork,
            )
            self.repos[(owner, name)] = repo
            if files is not None:
                self.commit_files(owner, name, default_branch, files, message=message)

    def commit_files(
        self,
        owner: str,
        name: str,
        branch: str,
        files: dict[str, bytes | None],
        message: str = "Update files",
    ) -> str:
        """Commit on top of `branch` (created if missing): bytes write a file, None deletes it."""
        with self.lock:
            git = self._repo(owner, name).git
            parent = git.ref_sha(f"refs/heads/{branch}")
            flat = git.flat_tree(git.read_commit(parent).tree if parent else None)
            for path, content in files.items():
                if content is None:
                    flat.pop(path, None)
                else:
                    flat[path] = ("100644", "blob", git.hash_blob(content))
            who = ("Test Author", "author@example.com", f"@{self.clock()} +0000")
            sha = git.commit_tree(
                git.write_tree(flat), [parent] if parent else [], message, who, who
            )
            git.update_ref(f"refs/heads/{branch}", sha)
            return sha

    def repo_files(self, owner: str, name: str, ref: str | None = None) -> dict[str, bytes]:
        with self.lock:
            repo = self._repo(owner, name)
            sha = repo.git.rev_parse(f"{ref or repo.default_branch}^{{tree}}")
            if sha is None:
                raise KeyError(ref)
            return {
                path: repo.git.read_blob(blob)
                for path, (_, kind, blob) in repo.git.flat_tree(sha).items()
                if kind == "blob"
            }

    def git(self, owner: str, name: str) -> GitRepo:
        return self._repo(owner, name).git

    def pulls(self, owner: str, name: str) -> list[JSON]:
        return list(self._repo(owner, name).pulls.values())

    def comments(self, owner: str, name: str, number: int) -> list[str]:
        return [c["body"] for c in self._repo(owner, name).comments.get(number, [])]

    def issue_labels(self, owner: str, name: str, number: int) -> list[str]:
        return list(self._repo(owner, name).issue_labels.get(number, []))

    def reviews(self, owner: str, name: str, number: int) -> list[JSON]:
        """The pull request's reviews as the API renders them (pending ones included)."""
        with self.lock:
            repo = self._repo(owner, name)
            return [self._review_json(repo, r) for r in repo.reviews.get(number, [])]

    def review_comments(self, owner: str, name: str, number: int) -> list[JSON]:
        """The pull request's review comments as `pulls/list-review-comments` renders them
        (comments of a still pending review are not shown, as on GitHub)."""
        with self.lock:
            repo = self._repo(owner, name)
            return [
                self._review_comment_json(repo, c) for c in self._visible_comments(repo, number)
            ]

    def add_review_comment(
        self,
        owner: str,
        name: str,
        number: int,
        path: str,
        line: int,
        body: str,
        user: str = "octocat",
        in_reply_to: int | None = None,
    ) -> JSON:
        """Simulate a person's review comment on the RIGHT side of `path` at the PR head, or a
        reply to the thread of comment `in_reply_to` (then `path` and `line` must be the
        thread's). Each comment comes with its own COMMENTED review, as on GitHub."""
        with self.lock:
            repo = self._repo(owner, name)
            pr = repo.pulls[number]
            self._sync_pull(repo, pr)
            if in_reply_to is not None:
                parent = next(
                    (c for c in repo.review_comments.get(number, []) if c["id"] == in_reply_to),
                    None,
                )
                if parent is None:
                    raise KeyError(f"no review comment {in_reply_to} on pull {number}")
                if (parent["path"], parent["line"]) != (path, line):
                    raise ValueError(
                        f"comment {in_reply_to} is on {parent['path']}:{parent['line']},"
                        f" not {path}:{line}"
                    )
                anchor = {
                    k: parent[k]
                    for k in ("path", "line", "side", "start_line", "start_side", "position")
                }
                anchor.update(diff_hunk=parent["diff_hunk"], commit_id=parent["commit_id"])
                root = parent.get("in_reply_to_id") or parent["id"]
            else:
                commit = pr["head_sha"]
                found, problems = self._anchor(
                    self._pull_patches(repo, pr, commit), {"path": path, "line": line}
                )
                if found is None:
                    raise ValueError(f"{path}:{line}: {_sentence(problems)}")
                anchor = {**found, "commit_id": commit}
                root = None
            review = self._new_review(repo, number, user, "COMMENTED", "", anchor["commit_id"])
            comment = self._new_review_comment(repo, number, review, user, body, anchor, root)
            return self._review_comment_json(repo, comment)

    def sarif_uploads(self, owner: str, name: str) -> list[JSON]:
        """Every SARIF upload: id, commit_sha, ref, sarif (the decoded document) and the other
        request fields, oldest first."""
        with self.lock:
            return [dict(u) for u in self._repo(owner, name).sarifs.values()]

    def sarifs(self, owner: str, name: str) -> list[JSON]:
        """The decoded SARIF documents uploaded to the repository, oldest first."""
        return [u["sarif"] for u in self.sarif_uploads(owner, name)]

    def add_token(self, token: str, read_only: bool = False) -> None:
        """Accept another token; with a read-only one every write answers 403."""
        with self.lock:
            self.tokens[token] = read_only
            self.expired_tokens.discard(token)

    def expire_token(self, token: str | None = None) -> None:
        """Make `token` (default: every token) answer 401 "Bad credentials" from now on."""
        with self.lock:
            self.expired_tokens |= {token} if token is not None else {self.token, *self.tokens}

    def fail_next(
        self,
        method: str,
        path: str,
        status: int = 502,
        times: int = 1,
        *,
        after: bool = False,
        retry_after: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `times` requests matching method and path (exact or fnmatch pattern)
        with `status`. `after=True` performs the request first and then fails it (a 502 that
        still created the object). `retry_after` adds the header (403 secondary rate limit)."""
        if message is None:
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you"
                " try again."
                if status in (403, 429)
                else "Server Error"
            )
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        body = {"message": message, "documentation_url": DOCS}
        with self.lock:
            self.faults.append(Fault(method.upper(), path, status, times, after, body, headers))

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many logged requests match method and path (exact or fnmatch pattern)."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
        )

    # ------------------------------------------------------------ HTTP entry point
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            parsed = urllib.parse.urlsplit(raw_path)
            path = urllib.parse.unquote(parsed.path)
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
            op_id: str | None = None
            charged = False
            try:
                token = self._check_auth(headers)
                charged = path != "/rate_limit"
                if charged:
                    self.rate_used += 1
                if self.rate_used > self.rate_limit:
                    raise ApiError(403, "API rate limit exceeded for installation.")
                status, data, extra = self._handle(method, path, query, token, body)
            except ApiError as exc:
                status, data, extra = exc.status, exc.body, exc.headers
            matched = openapi.match(method, path)
            if matched:
                op_id = matched[0].operation_id
            payload, out_headers = self._finish(method, path, headers, status, data, extra)
            etag = out_headers.get("etag")
            if (
                method == "GET"
                and status == 200
                and _etag_matches(_header(headers, "if-none-match"), etag)
            ):
                # GitHub: a 304 answer to a conditional request is free of rate-limit cost.
                if charged:
                    self.rate_used -= 1
                status = 304
                payload, out_headers = self._finish(
                    method, path, headers, status, None, {"etag": etag or ""}
                )
            self.requests.append(LoggedRequest(method, path, status, parsed.query, op_id))
            return status, payload, out_headers

    def _finish(
        self,
        method: str,
        path: str,
        req_headers: dict[str, str],
        status: int,
        data: Any,
        extra: dict[str, str],
    ) -> tuple[bytes, dict[str, str]]:
        payload = b"" if data is None else json.dumps(data).encode()
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-request-id": f"DBL:{len(self.requests):06d}",
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(self.rate_limit - self.rate_used, 0)),
            "x-ratelimit-used": str(self.rate_used),
            "x-ratelimit-reset": str(self.rate_reset),
            "x-ratelimit-resource": "core",
        }
        if payload and status < 300:
            # GitHub's ETags depend on the token too: a new token never gets a 304.
            auth = (_header(req_headers, "authorization") or "").encode()
            digest = hashlib.sha256(auth + b"\0" + payload).hexdigest()[:40]
            headers["etag"] = f'W/"{digest}"'
        headers.update(extra)
        return payload, headers

    def _take_fault(self, method: str, path: str, after: bool) -> Fault | None:
        for fault in self.faults:
            if (
                fault.after == after
                and fault.method == method
                and fnmatch.fnmatchcase(path, fault.path)
            ):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _check_auth(self, headers: dict[str, str]) -> str | None:
        """The request's token (None when anonymous requests are allowed), else 401."""
        value = _header(headers, "authorization")
        if value is None:
            if self.require_auth:
                raise ApiError(401, "Requires authentication")
            return None
        scheme, _, token = value.partition(" ")
        token = token.strip()
        known = token == self.token or token in self.tokens
        if scheme.lower() not in ("token", "bearer") or not known or token in self.expired_tokens:
            raise ApiError(401, "Bad credentials")
        return token

    def _check_write(self, token: str | None, params: dict[str, str]) -> None:
        if token is not None and self.tokens.get(token, False):
            raise ApiError(403, "Resource not accessible by integration")
        repo = self.repos.get((params.get("owner", ""), params.get("repo", "")))
        if repo is not None and repo.archived:
            raise ApiError(403, "Repository was archived so is read-only.")

    def _handle(
        self, method: str, path: str, query: dict[str, str], token: str | None, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        fault = self._take_fault(method, path, after=False)
        if fault:
            return fault.status, fault.body, fault.headers
        matched = openapi.match(method, path)
        if matched is None:
            self.errors.append(f"{method} {path}: no operation of the OpenAPI subset matches")
            raise ApiError(404, "Not Found")
        op, params = matched
        handler = getattr(self, "op_" + op.operation_id.replace("/", "_").replace("-", "_"), None)
        if handler is None:
            self.errors.append(f"{method} {path}: {op.operation_id} is not served by the double")
            raise ApiError(404, "Not Found")
        if method in WRITE_METHODS:
            self._check_write(token, params)
        data: Any = None
        schema = op.request_schema()
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError(400, "Problems parsing JSON") from None
        if schema is not None:
            problems = openapi.validate(schema, data if data is not None else {})
            if problems:
                self.errors += [f"{method} {path} request: {p}" for p in problems]
                raise ApiError(422, "Invalid request.", [{"message": p} for p in problems])
        try:
            status, out, extra = handler(params, query, data)
        except ApiError as exc:
            status, out, extra = exc.status, exc.body, exc.headers
        except GitError as exc:
            status, out, extra = 422, {"message": str(exc), "documentation_url": DOCS}, {}
        documented, out_schema = op.response_schema(status)
        if documented and out_schema is not None:
            problems = openapi.validate(out_schema, out)
            self.errors += [f"{method} {path} -> {status} response: {p}" for p in problems]
        elif not documented and status < 300:
            self.errors.append(f"{method} {path}: status {status} not documented")
        fault = self._take_fault(method, path, after=True)
        if fault:
            return fault.status, fault.body, fault.headers
        return status, out, extra

    # ------------------------------------------------------------ JSON builders
    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get((owner, name))
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def _repo_url(self, repo: Repo) -> str:
        return f"{self.base_url}/repos/{repo.owner}/{repo.name}"

    def _html(self, suffix: str) -> str:
        return f"{self.base_url}/_html/{suffix}"

    def _now(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _user_of(self, login: str) -> JSON:
        return self._user(login, "Bot" if login.endswith("[bot]") else "User")

    def _user(self, login: str, kind: str = "User") -> JSON:
        url = f"{self.base_url}/users/{urllib.parse.quote(login)}"
        uid = int(hashlib.sha1(login.encode()).hexdigest()[:6], 16)
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "avatar_url": f"{self.base_url}/_avatars/{uid}",
            "gravatar_id": "",
            "url": url,
            "html_url": self._html(login),
            **{
                f"{k}_url": f"{url}/{k}"
                for k in (
                    "followers",
                    "following",
                    "gists",
                    "starred",
                    "subscriptions",
                    "organizations",
                    "repos",
                    "events",
                    "received_events",
                )
            },
            "type": kind,
            "site_admin": False,
            "user_view_type": "public",
        }

    def _repo_json(self, repo: Repo, schema: str = "full-repository") -> JSON:
        url = self._repo_url(repo)
        props = openapi.resolve({"$ref": f"#/components/schemas/{schema}"})["properties"]
        facts: JSON = {k: f"{url}/{k[: -len('_url')]}" for k in props if k.endswith("_url")}
        full = f"{repo.owner}/{repo.name}"
        facts.update(
            {
                "id": repo.id,
                "node_id": f"R_{repo.id}",
                "name": repo.name,
                "full_name": full,
                "owner": self._user(repo.owner, repo.owner_type),
                "private": repo.private,
                "visibility": repo.visibility,
                "html_url": self._html(full),
                "description": None,
                "fork": repo.fork,
                "url": url,
                "clone_url": f"{self.base_url}/_git/{full}.git",
                "git_url": f"git://127.0.0.1/{full}.git",
                "ssh_url": f"git@127.0.0.1:{full}.git",
                "svn_url": self._html(full),
                "mirror_url": None,
                "homepage": None,
                "language": None,
                "default_branch": repo.default_branch,
                "created_at": openapi.FIXED_TIME,
                "updated_at": openapi.FIXED_TIME,
                "pushed_at": openapi.FIXED_TIME,
                "archived": repo.archived,
                "disabled": repo.disabled,
                "is_template": False,
                "topics": [],
                "license": None,
                "permissions": {
                    "admin": False,
                    "maintain": False,
                    "push": True,
                    "triage": True,
                    "pull": True,
                },
                "allow_merge_commit": True,
                "allow_squash_merge": True,
                "allow_rebase_merge": True,
                "delete_branch_on_merge": False,
                "open_issues_count": sum(p["state"] == "open" for p in repo.pulls.values()),
                "network_count": 0,
                "subscribers_count": 0,
            }
        )
        for key in ("archive_url", "blobs_url", "git_refs_url", "trees_url"):
            facts[key] = f"{url}/{key.split('_url')[0].replace('git_', 'git/')}{{/sha}}"
        return openapi.fill_component(schema, facts, self.base_url)

    def _ref_json(self, repo: Repo, refname: str, sha: str, kind: str) -> JSON:
        url = self._repo_url(repo)
        return {
            "ref": refname,
            "node_id": f"REF_{hashlib.sha1(refname.encode()).hexdigest()[:12]}",
            "url": f"{url}/git/{refname}",
            "object": {"type": kind, "sha": sha, "url": f"{url}/git/{kind}s/{sha}"},
        }

    def _git_commit_json(self, repo: Repo, sha: str) -> JSON:
        info = repo.git.read_commit(sha)
        url = self._repo_url(repo)
        return {
            "sha": sha,
            "node_id": f"C_{sha[:16]}",
            "url": f"{url}/git/commits/{sha}",
            "html_url": self._html(f"{repo.owner}/{repo.name}/commit/{sha}"),
            "author": dict(zip(("name", "email", "date"), info.author, strict=True)),
            "committer": dict(zip(("name", "email", "date"), info.committer, strict=True)),
            "tree": {"sha": info.tree, "url": f"{url}/git/trees/{info.tree}"},
            "message": info.message,
            "parents": [
                {
                    "sha": p,
                    "url": f"{url}/git/commits/{p}",
                    "html_url": self._html(f"{repo.owner}/{repo.name}/commit/{p}"),
                }
                for p in info.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def _diff_entries(self, repo: Repo, old: str, new: str) -> list[JSON]:
        url = self._repo_url(repo)
        files = repo.git.diff_files(old, new)
        for f in files:
            quoted = urllib.parse.quote(str(f["filename"]))
            f["blob_url"] = self._html(f"{repo.owner}/{repo.name}/blob/{new}/{quoted}")
            f["raw_url"] = self._html(f"{repo.owner}/{repo.name}/raw/{new}/{quoted}")
            f["contents_url"] = f"{url}/contents/{quoted}?ref={new}"
            if f["patch"] is None:
                del f["patch"]
        return files

    def _commit_json(self, repo: Repo, sha: str) -> JSON:
        git_commit = self._git_commit_json(repo, sha)
        url = self._repo_url(repo)
        info = repo.git.read_commit(sha)
        old = info.parents[0] if info.parents else "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        files = self._diff_entries(repo, old, sha)
        adds = sum(int(f["additions"]) for f in files)
        dels = sum(int(f["deletions"]) for f in files)
        inner = {k: git_commit[k] for k in ("author", "committer", "message", "tree")}
        inner.update(
            url=git_commit["url"], comment_count=0, verification=git_commit["verification"]
        )
        return {
            "url": f"{url}/commits/{sha}",
            "sha": sha,
            "node_id": git_commit["node_id"],
            "html_url": git_commit["html_url"],
            "comments_url": f"{url}/commits/{sha}/comments",
            "commit": inner,
            "author": None,
            "committer": None,
            "parents": [
                {"sha": p["sha"], "url": f"{url}/commits/{p['sha']}", "html_url": p["html_url"]}
                for p in git_commit["parents"]
            ],
            "stats": {"additions": adds, "deletions": dels, "total": adds + dels},
            "files": files,
        }

    def _label_json(self, repo: Repo, label: JSON) -> JSON:
        name = urllib.parse.quote(label["name"])
        return {
            "id": label["id"],
            "node_id": f"LA_{label['id']}",
            "url": f"{self._repo_url(repo)}/labels/{name}",
            "name": label["name"],
            "description": label.get("description"),
            "color": label.get("color", "ededed"),
            "default": False,
        }

    def _sync_pull(self, repo: Repo, pr: JSON) -> None:
        """Follow the head and base branches (while they exist)."""
        for side in ("head", "base"):
            sha = repo.git.ref_sha(f"refs/heads/{pr[side]}")
            if sha:
                pr[f"{side}_sha"] = sha

    def _pull_json(self, repo: Repo, pr: JSON, schema: str = "pull-request") -> JSON:
        url = self._repo_url(repo)
        n = pr["number"]
        self._sync_pull(repo, pr)
        sides = {
            side: {
                "label": f"{repo.owner}:{pr[side]}",
                "ref": pr[side],
                "sha": pr[f"{side}_sha"],
                "user": self._user(repo.owner, repo.owner_type),
                "repo": self._repo_json(repo, "repository"),
            }
            for side in ("head", "base")
        }
        base_point = repo.git.merge_base(pr["base_sha"], pr["head_sha"]) or pr["base_sha"]
        files = repo.git.diff_files(base_point, pr["head_sha"])
        commits = repo.git.git("rev-list", "--count", f"{base_point}..{pr['head_sha']}")
        links = {
            "self": f"{url}/pulls/{n}",
            "html": self._html(f"{repo.owner}/{repo.name}/pull/{n}"),
            "issue": f"{url}/issues/{n}",
            "comments": f"{url}/issues/{n}/comments",
            "review_comments": f"{url}/pulls/{n}/comments",
            "review_comment": f"{url}/pulls/comments{{/number}}",
            "commits": f"{url}/pulls/{n}/commits",
            "statuses": f"{url}/statuses/{pr['head_sha']}",
        }
        facts = {
            "url": links["self"],
            "id": pr["id"],
            "node_id": f"PR_{pr['id']}",
            "html_url": links["html"],
            "diff_url": links["html"] + ".diff",
            "patch_url": links["html"] + ".patch",
            "issue_url": links["issue"],
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "number": n,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": self._user_of(pr.get("user", self.login)),
            "body": pr.get("body"),
            "labels": [
                self._label_json(repo, repo.labels[x]) for x in repo.issue_labels.get(n, [])
            ],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "closed_at": pr.get("closed_at"),
            "merged_at": pr.get("merged_at"),
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": sides["head"],
            "base": sides["base"],
            "_links": {k: {"href": v} for k, v in links.items()},
            "author_association": "NONE",
            "auto_merge": None,
            "draft": pr.get("draft", False),
            "merged": bool(pr.get("merged_at")),
            "mergeable": True,
            "rebaseable": True,
            "mergeable_state": "clean",
            "merged_by": None,
            "comments": len(repo.comments.get(n, [])),
            "review_comments": len(self._visible_comments(repo, n)),
            "maintainer_can_modify": pr.get("maintainer_can_modify", False),
            "commits": int(commits.decode().strip() or 0),
            "additions": sum(int(f["additions"]) for f in files),  # type: ignore[call-overload]
            "deletions": sum(int(f["deletions"]) for f in files),  # type: ignore[call-overload]
            "changed_files": len(files),
        }
        return openapi.fill_component(schema, facts, self.base_url)

    # ---- pull request reviews
    def _pull_patches(self, repo: Repo, pr: JSON, commit: str) -> dict[str, list[DiffLine]]:
        """path -> numbered patch lines of the pull request's diff as of `commit`."""
        base_point = repo.git.merge_base(pr["base_sha"], commit) or pr["base_sha"]
        out: dict[str, list[DiffLine]] = {}
        for f in repo.git.diff_files(base_point, commit):
            patch = f["patch"]
            out[str(f["filename"])] = patch_lines(patch if isinstance(patch, str) else None)
        return out

    def _anchor(
        self, patches: dict[str, list[DiffLine]], comment: JSON
    ) -> tuple[JSON | None, list[str]]:
        """Where a review comment lands in the diff (path, line, side, start_line, start_side,
        position, diff_hunk), or GitHub's reasons why it cannot."""
        lines = patches.get(comment["path"])
        if not lines:
            return None, [THREAD_PATH, THREAD_HUNK]
        start: DiffLine | None = None
        start_side: str | None = None
        if "line" in comment:
            side = comment.get("side", "RIGHT")
            if "start_line" in comment:
                start_side = comment.get("start_side", side)
            if side not in ("LEFT", "RIGHT") or start_side not in ("LEFT", "RIGHT", None):
                return None, [THREAD_SIDE]
            line = comment["line"]
            end = _find_line(lines, side, line)
            problems = [] if end else [THREAD_LINE]
            if start_side is not None:
                start = _find_line(lines, start_side, comment["start_line"])
                if start is None or end is None or start.hunk != end.hunk:
                    problems.append(THREAD_START)
                elif start.position >= end.position:
                    problems.append(THREAD_ORDER)
            if problems:
                return None, [*problems, *([] if end else [THREAD_HUNK])]
        elif "position" in comment:
            end = next(
                (
                    d
                    for d in lines
                    if d.position == comment["position"] and d.kind in (" ", "+", "-")
                ),
                None,
            )
            if end is None:
                return None, [THREAD_POSITION, THREAD_HUNK]
            side = "LEFT" if end.kind == "-" else "RIGHT"
            line = end.old if side == "LEFT" else end.new
        else:
            return None, [THREAD_LINE, THREAD_HUNK]
        assert end is not None
        hunk = [d.text for d in lines if d.hunk == end.hunk and d.position <= end.position]
        return {
            "path": comment["path"],
            "line": line,
            "side": side,
            "start_line": comment["start_line"] if start else None,
            "start_side": start_side if start else None,
            "position": end.position,
            "diff_hunk": "\n".join(hunk),
        }, []

    def _new_review(
        self, repo: Repo, number: int, user: str, state: str, body: str, commit: str
    ) -> JSON:
        review = {
            "id": next(self._ids),
            "number": number,
            "user": user,
            "state": state,
            "body": body,
            "commit_id": commit,
            "submitted_at": None if state == "PENDING" else self._now(),
        }
        repo.reviews.setdefault(number, []).append(review)
        return review

    def _new_review_comment(
        self,
        repo: Repo,
        number: int,
        review: JSON,
        user: str,
        body: str,
        anchor: JSON,
        in_reply_to: int | None,
    ) -> JSON:
        now = self._now()
        comment = {
            **anchor,
            "id": next(self._ids),
            "number": number,
            "review_id": review["id"],
            "user": user,
            "body": body,
            "in_reply_to_id": in_reply_to,
            "created_at": now,
            "updated_at": now,
        }
        repo.review_comments.setdefault(number, []).append(comment)
        return comment

    def _visible_comments(self, repo: Repo, number: int) -> list[JSON]:
        pending = {r["id"] for r in repo.reviews.get(number, []) if r["state"] == "PENDING"}
        return [c for c in repo.review_comments.get(number, []) if c["review_id"] not in pending]

    def _association(self, repo: Repo, login: str) -> str:
        return "OWNER" if login == repo.owner else "NONE"

    def _review_json(self, repo: Repo, review: JSON) -> JSON:
        n, rid = review["number"], review["id"]
        pr_url = f"{self._repo_url(repo)}/pulls/{n}"
        html = self._html(f"{repo.owner}/{repo.name}/pull/{n}#pullrequestreview-{rid}")
        facts = {
            "id": rid,
            "node_id": f"PRR_{rid}",
            "user": self._user_of(review["user"]),
            "body": review["body"],
            "state": review["state"],
            "html_url": html,
            "pull_request_url": pr_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "commit_id": review["commit_id"],
            "author_association": self._association(repo, review["user"]),
        }
        if review["submitted_at"]:
            facts["submitted_at"] = review["submitted_at"]
        out: JSON = openapi.fill_component("pull-request-review", facts, self.base_url)
        return out

    def _review_comment_json(self, repo: Repo, comment: JSON) -> JSON:
        n, cid = comment["number"], comment["id"]
        url = f"{self._repo_url(repo)}/pulls/comments/{cid}"
        pr_url = f"{self._repo_url(repo)}/pulls/{n}"
        html = self._html(f"{repo.owner}/{repo.name}/pull/{n}#discussion_r{cid}")
        facts = {
            "url": url,
            "pull_request_review_id": comment["review_id"],
            "id": cid,
            "node_id": f"PRRC_{cid}",
            "diff_hunk": comment["diff_hunk"],
            "path": comment["path"],
            "position": comment["position"],
            "original_position": comment["position"],
            "commit_id": comment["commit_id"],
            "original_commit_id": comment["commit_id"],
            "user": self._user_of(comment["user"]),
            "body": comment["body"],
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": self._association(repo, comment["user"]),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pr_url},
            },
            "start_line": comment["start_line"],
            "original_start_line": comment["start_line"],
            "start_side": comment["start_side"],
            "line": comment["line"],
            "original_line": comment["line"],
            "side": comment["side"],
            "subject_type": "line",
        }
        if comment["in_reply_to_id"] is not None:
            facts["in_reply_to_id"] = comment["in_reply_to_id"]
        out: JSON = openapi.fill_component("pull-request-review-comment", facts, self.base_url)
        return out

    def _paginate(
        self, path: str, query: dict[str, str], items: list[Any]
    ) -> tuple[list[Any], dict[str, str]]:
        try:
            per_page = min(max(int(query.get("per_page", 30)), 1), 100)
            page = max(int(query.get("page", 1)), 1)
        except ValueError:
            raise ApiError(422, "Invalid pagination parameter") from None
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []

        def link(n: int, rel: str) -> str:
            q = urllib.parse.urlencode({**query, "per_page": per_page, "page": n})
            return f'<{self.base_url}{path}?{q}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers

    def _commitish(self, repo: Repo, ref: str) -> str:
        sha = repo.git.rev_parse(f"{ref}^{{commit}}")
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return sha

    # ------------------------------------------------------------ operations
    # Each returns (status, body, extra headers); names follow the operationId.

    def op_repos_get(self, p: JSON, q: JSON, body: Any) -> Any:
        return 200, self._repo_json(self._repo(p["owner"], p["repo"])), {}

    def op_repos_get_branch(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        sha = repo.git.ref_sha(f"refs/heads/{p['branch']}")
        if sha is None:
            raise ApiError(404, "Branch not found")
        url = self._repo_url(repo)
        facts = {
            "name": p["branch"],
            "commit": self._commit_json(repo, sha),
            "_links": {
                "html": self._html(f"{repo.owner}/{repo.name}/tree/{p['branch']}"),
                "self": f"{url}/branches/{p['branch']}",
            },
            "protected": False,
            "protection": {
                "enabled": False,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{url}/branches/{p['branch']}/protection",
        }
        return 200, openapi.fill_component("branch-with-protection", facts, self.base_url), {}

    def op_git_get_ref(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        refname = f"refs/{p['ref']}"
        for name, sha, kind in repo.git.refs(refname):
            if name == refname:
                return 200, self._ref_json(repo, name, sha, kind), {}
        raise ApiError(404, "Not Found")

    def op_git_list_matching_refs(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        prefix = f"refs/{p['ref']}"
        refs = [r for r in repo.git.refs() if r[0].startswith(prefix)]
        return 200, [self._ref_json(repo, *r) for r in refs], {}

    def op_git_create_ref(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        refname, sha = body["ref"], body["sha"]
        if not refname.startswith("refs/") or refname.count("/") < 2:
            raise ApiError(
                422, "Reference name must start with 'refs/' and have at least two slashes."
            )
        kind = repo.git.object_type(sha) if len(sha) == 40 else None
        if kind is None:
            raise ApiError(422, "Object does not exist")
        if repo.git.ref_sha(refname) is not None:
            raise ApiError(422, "Reference already exists")
        repo.git.update_ref(refname, sha, "")
        out = self._ref_json(repo, refname, sha, kind)
        return 201, out, {"location": out["url"]}

    def op_git_update_ref(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        refname, sha = f"refs/{p['ref']}", body["sha"]
        old = repo.git.ref_sha(refname)
        if old is None:
            raise ApiError(422, "Reference does not exist")
        kind = repo.git.object_type(sha) if len(sha) == 40 else None
        if kind is None:
            raise ApiError(422, "Object does not exist")
        if not body.get("force") and not repo.git.is_ancestor(old, sha):
            raise ApiError(422, "Update is not a fast forward")
        repo.git.update_ref(refname, sha, old)
        return 200, self._ref_json(repo, refname, sha, kind), {}

    def op_git_delete_ref(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        refname = f"refs/{p['ref']}"
        if repo.git.ref_sha(refname) is None:
            raise ApiError(422, "Reference does not exist")
        repo.git.delete_ref(refname)
        return 204, None, {}

    def op_git_get_blob(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        sha = p["file_sha"]
        if len(sha) != 40 or repo.git.object_type(sha) != "blob":
            raise ApiError(404, "Not Found")
        data = repo.git.read_blob(sha)
        out = {
            "sha": sha,
            "node_id": f"B_{sha[:16]}",
            "size": len(data),
            "url": f"{self._repo_url(repo)}/git/blobs/{sha}",
            "content": _b64(data),
            "encoding": "base64",
        }
        return 200, out, {}

    def op_git_create_blob(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        encoding = body.get("encoding", "utf-8")
        if encoding == "base64":
            try:
                data = base64.b64decode(body["content"], validate=False)
            except ValueError:
                raise ApiError(422, "Invalid base64 content") from None
        elif encoding in ("utf-8", "utf8"):
            data = body["content"].encode()
        else:
            raise ApiError(422, f"encoding must be utf-8 or base64, not {encoding}")
        sha = repo.git.hash_blob(data)
        url = f"{self._repo_url(repo)}/git/blobs/{sha}"
        return 201, {"url": url, "sha": sha}, {"location": url}

    def _tree_json(self, repo: Repo, sha: str, recursive: bool) -> JSON:
        url = self._repo_url(repo)
        entries = []
        for e in repo.git.ls_tree(sha, recursive):
            entry: JSON = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
            if e.type == "blob":
                entry["size"] = e.size
                entry["url"] = f"{url}/git/blobs/{e.sha}"
            elif e.type == "tree":
                entry["url"] = f"{url}/git/trees/{e.sha}"
            entries.append(entry)
        truncated = len(entries) > self.tree_entry_limit
        return {
            "sha": sha,
            "url": f"{url}/git/trees/{sha}",
            "tree": entries[: self.tree_entry_limit],
            "truncated": truncated,
        }

    def op_git_get_tree(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        sha = repo.git.rev_parse(f"{p['tree_sha']}^{{tree}}")
        if sha is None:
            raise ApiError(404, "Not Found")
        recursive = "recursive" in q and q["recursive"] not in ("", "0", "false")
        return 200, self._tree_json(repo, sha, recursive), {}

    def op_git_create_tree(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        git = repo.git
        base = body.get("base_tree")
        if base is not None and git.object_type(base) != "tree":
            raise ApiError(422, "base_tree is not a valid tree oid")
        flat = git.flat_tree(base)
        for entry in body["tree"]:
            path = entry.get("path", "").strip("/")
            if not path:
                raise ApiError(422, "tree.path cannot be blank")
            if "content" in entry and entry.get("sha") is not None:
                raise ApiError(422, "Must supply either tree.sha or tree.content, not both")
            mode, kind = entry.get("mode", "100644"), entry.get("type", "blob")
            if "content" in entry:
                flat[path] = (mode, "blob", git.hash_blob(entry["content"].encode()))
                continue
            if "sha" not in entry:
                raise ApiError(422, "Must supply either tree.sha or tree.content")
            for existing in [k for k in flat if k == path or k.startswith(path + "/")]:
                del flat[existing]
            sha = entry["sha"]
            if sha is None:
                continue
            actual = git.object_type(sha) if len(sha) == 40 else None
            if kind == "tree" and actual == "tree":
                for sub, value in git.flat_tree(sha).items():
                    flat[f"{path}/{sub}"] = value
            elif kind == "commit" or actual == kind:
                flat[path] = (mode, kind, sha)
            else:
                raise ApiError(422, f"tree.sha {sha} is not a valid {kind}")
        sha = git.write_tree(flat)
        out = self._tree_json(repo, sha, False)
        return 201, out, {"location": out["url"]}

    def op_git_get_commit(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        sha = p["commit_sha"]
        if len(sha) != 40 or repo.git.object_type(sha) != "commit":
            raise ApiError(404, "Not Found")
        return 200, self._git_commit_json(repo, sha), {}

    def op_git_create_commit(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        git = repo.git
        if git.object_type(body["tree"]) != "tree":
            raise ApiError(422, "Tree SHA does not exist")
        parents = body.get("parents", [])
        for parent in parents:
            if git.object_type(parent) != "commit":
                raise ApiError(422, "Parent SHA does not exist or is not a commit object")
        now = self.clock()
        default = {"name": self.login, "email": "bot@users.noreply.example.com"}
        author = body.get("author") or default
        committer = body.get("committer") or author
        sha = git.commit_tree(
            body["tree"],
            parents,
            body["message"],
            (author["name"], author["email"], _git_date(author.get("date"), now)),
            (committer["name"], committer["email"], _git_date(committer.get("date"), now)),
        )
        out = self._git_commit_json(repo, sha)
        return 201, out, {"location": out["url"]}

    def op_repos_get_commit(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        return 200, self._commit_json(repo, self._commitish(repo, p["ref"])), {}

    def _content_entry(
        self, repo: Repo, path: str, mode: str, kind: str, sha: str, ref: str
    ) -> JSON:
        url = self._repo_url(repo)
        ctype = {"tree": "dir", "commit": "submodule"}.get(kind, "file")
        if mode == "120000":
            ctype = "symlink"
        quoted = urllib.parse.quote(path)
        git_url = f"{url}/git/{'trees' if kind == 'tree' else 'blobs'}/{sha}"
        html = self._html(f"{repo.owner}/{repo.name}/blob/{ref}/{quoted}")
        return {
            "type": ctype,
            "size": len(repo.git.read_blob(sha)) if kind == "blob" else 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": f"{url}/contents/{quoted}?ref={urllib.parse.quote(ref)}",
            "git_url": git_url if kind != "commit" else None,
            "html_url": html,
            "download_url": self._html(f"raw/{repo.owner}/{repo.name}/{ref}/{quoted}")
            if kind == "blob"
            else None,
            "_links": {"self": f"{url}/contents/{quoted}", "git": git_url, "html": html},
        }

    def op_repos_get_content(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        ref = q.get("ref") or repo.default_branch
        commit = repo.git.rev_parse(f"{ref}^{{commit}}")
        path = p["path"].strip("/")
        if commit is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        entries = {e.path: e for e in repo.git.ls_tree(commit, "/" in path)}
        if path not in entries:
            raise ApiError(404, "Not Found")
        e = entries[path]
        if e.type == "tree":
            items = [
                self._content_entry(repo, f"{path}/{c.path}", c.mode, c.type, c.sha, ref)
                for c in repo.git.ls_tree(e.sha)
            ]
            return 200, items, {}
        out = self._content_entry(repo, path, e.mode, e.type, e.sha, ref)
        if e.type == "blob":
            out.update(content=_b64(repo.git.read_blob(e.sha)), encoding="base64")
        return 200, out, {}

    def op_pulls_list(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        state = q.get("state", "open")
        pulls = [pr for pr in repo.pulls.values() if state == "all" or pr["state"] == state]
        if "head" in q:
            owner, _, branch = q["head"].rpartition(":")
            pulls = [
                pr for pr in pulls if (not owner or owner == repo.owner) and pr["head"] == branch
            ]
        if "base" in q:
            pulls = [pr for pr in pulls if pr["base"] == q["base"]]
        if q.get("direction", "desc") == "desc":
            pulls.reverse()
        page, headers = self._paginate(f"/repos/{repo.owner}/{repo.name}/pulls", q, pulls)
        return 200, [self._pull_json(repo, pr, "pull-request-simple") for pr in page], headers

    def op_pulls_create(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        head = body["head"].rpartition(":")[2]
        base = body["base"]
        head_sha = repo.git.ref_sha(f"refs/heads/{head}")
        base_sha = repo.git.ref_sha(f"refs/heads/{base}")
        invalid = [
            {"resource": "PullRequest", "field": f, "code": "invalid"}
            for f, sha in (("head", head_sha), ("base", base_sha))
            if sha is None
        ]
        if invalid:
            raise ApiError(422, "Validation Failed", invalid)
        assert head_sha and base_sha
        if repo.git.is_ancestor(head_sha, base_sha):
            raise ApiError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base} and {head}",
                    }
                ],
            )
        for pr in repo.pulls.values():
            if pr["state"] == "open" and pr["head"] == head and pr["base"] == base:
                raise ApiError(
                    422,
                    "Validation Failed",
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {repo.owner}:{head}.",
                        }
                    ],
                )
        n = repo.next_number
        repo.next_number += 1
        now = self._now()
        pr = {
            "number": n,
            "id": next(self._ids),
            "title": body.get("title") or head,
            "body": body.get("body"),
            "head": head,
            "base": base,
            "head_sha": head_sha,
            "base_sha": base_sha,
            "state": "open",
            "draft": bool(body.get("draft", False)),
            "user": self.login,  # the token's user authors every PR opened through the API
            "maintainer_can_modify": bool(body.get("maintainer_can_modify", False)),
            "created_at": now,
            "updated_at": now,
        }
        repo.pulls[n] = pr
        out = self._pull_json(repo, pr)
        return 201, out, {"location": out["url"]}

    def _pull(self, p: JSON) -> tuple[Repo, JSON]:
        repo = self._repo(p["owner"], p["repo"])
        pr = repo.pulls.get(int(p["pull_number"]))
        if pr is None:
            raise ApiError(404, "Not Found")
        return repo, pr

    def op_pulls_get(self, p: JSON, q: JSON, body: Any) -> Any:
        repo, pr = self._pull(p)
        return 200, self._pull_json(repo, pr), {}

    def op_pulls_update(self, p: JSON, q: JSON, body: Any) -> Any:
        repo, pr = self._pull(p)
        for key in ("title", "body", "maintainer_can_modify"):
            if key in body:
                pr[key] = body[key]
        if "base" in body:
            if repo.git.ref_sha(f"refs/heads/{body['base']}") is None:
                raise ApiError(422, "Validation Failed", [{"field": "base", "code": "invalid"}])
            pr["base"] = body["base"]
        if body.get("state") in ("open", "closed"):
            pr["state"] = body["state"]
            pr["closed_at"] = openapi.FIXED_TIME if body["state"] == "closed" else None
        return 200, self._pull_json(repo, pr), {}

    def op_pulls_list_files(self, p: JSON, q: JSON, body: Any) -> Any:
        repo, pr = self._pull(p)
        self._sync_pull(repo, pr)
        base_point = repo.git.merge_base(pr["base_sha"], pr["head_sha"]) or pr["base_sha"]
        files = self._diff_entries(repo, base_point, pr["head_sha"])
        page, headers = self._paginate(
            f"/repos/{repo.owner}/{repo.name}/pulls/{pr['number']}/files", q, files
        )
        return 200, page, headers

    def op_issues_create_comment(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        n = int(p["issue_number"])
        if n not in repo.pulls:
            raise ApiError(404, "Not Found")
        cid = next(self._ids)
        url = self._repo_url(repo)
        now = self._now()
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{url}/issues/comments/{cid}",
            "html_url": self._html(f"{repo.owner}/{repo.name}/pull/{n}#issuecomment-{cid}"),
            "body": body["body"],
            "user": self._user(self.login, "Bot"),
            "created_at": now,
            "updated_at": now,
            "issue_url": f"{url}/issues/{n}",
            "author_association": "NONE",
        }
        repo.comments.setdefault(n, []).append(comment)
        out = openapi.fill_component("issue-comment", comment, self.base_url)
        return 201, out, {"location": comment["url"]}

    def op_issues_list_comments(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        n = int(p["issue_number"])
        if n not in repo.pulls:
            raise ApiError(404, "Not Found")
        comments = repo.comments.get(n, [])
        comments = _since(comments, q)
        page, headers = self._paginate(
            f"/repos/{repo.owner}/{repo.name}/issues/{n}/comments", q, comments
        )
        out = [openapi.fill_component("issue-comment", c, self.base_url) for c in page]
        return 200, out, headers

    def _ensure_label(self, repo: Repo, name: str, **extra: Any) -> JSON:
        if name not in repo.labels:
            repo.labels[name] = {"id": next(self._ids), "name": name, **extra}
        return repo.labels[name]

    def op_issues_create_label(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        if body["name"] in repo.labels:
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "Label", "code": "already_exists", "field": "name"}],
            )
        label = self._ensure_label(
            repo,
            body["name"],
            color=body.get("color", "ededed").lstrip("#"),
            description=body.get("description"),
        )
        out = self._label_json(repo, label)
        return 201, out, {"location": out["url"]}

    def op_issues_add_labels(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        n = int(p["issue_number"])
        if n not in repo.pulls:
            raise ApiError(404, "Not Found")
        items = body.get("labels", []) if isinstance(body, dict) else body
        names = [item["name"] if isinstance(item, dict) else item for item in items]
        current = repo.issue_labels.setdefault(n, [])
        for name in names:
            self._ensure_label(repo, name)
            if name not in current:
                current.append(name)
        return 200, [self._label_json(repo, repo.labels[x]) for x in current], {}

    def op_rate_limit_get(self, p: JSON, q: JSON, body: Any) -> Any:
        core = {
            "limit": self.rate_limit,
            "used": self.rate_used,
            "remaining": max(self.rate_limit - self.rate_used, 0),
            "reset": self.rate_reset,
        }
        other = {"limit": 30, "used": 0, "remaining": 30, "reset": self.rate_reset}
        out = {"resources": {"core": core, "search": other, "graphql": other}, "rate": core}
        return 200, out, {}

    def op_repos_list_for_org(self, p: JSON, q: JSON, body: Any) -> Any:
        repos = sorted(
            (r for (owner, _), r in self.repos.items() if owner == p["org"]), key=lambda r: r.id
        )
        page, headers = self._paginate(f"/orgs/{p['org']}/repos", q, repos)
        return 200, [self._repo_json(r, "minimal-repository") for r in page], headers

    def op_orgs_get(self, p: JSON, q: JSON, body: Any) -> Any:
        org = p["org"]
        repos = [r for (owner, _), r in self.repos.items() if owner == org]
        # A user account is not an organization: GitHub answers 404 for /orgs/{user}.
        if not any(r.owner_type == "Organization" for r in repos):
            raise ApiError(404, "Not Found")
        url = f"{self.base_url}/orgs/{urllib.parse.quote(org)}"
        owner = self._user(org, "Organization")
        public = sum(r.visibility == "public" for r in repos)
        facts = {
            **{k: owner[k] for k in ("login", "id", "node_id", "avatar_url", "html_url", "type")},
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "description": None,
            "name": org,
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": public,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "total_private_repos": len(repos) - public,
            "owned_private_repos": len(repos) - public,
            "created_at": openapi.FIXED_TIME,
            "updated_at": openapi.FIXED_TIME,
            "archived_at": None,
        }
        return 200, openapi.fill_component("organization-full", facts, self.base_url), {}

    def op_apps_list_repos_accessible_to_installation(self, p: JSON, q: JSON, body: Any) -> Any:
        repos = sorted(self.repos.values(), key=lambda r: r.id)
        page, headers = self._paginate("/installation/repositories", q, repos)
        out = {
            "total_count": len(repos),
            "repository_selection": "all",
            "repositories": [self._repo_json(r, "repository") for r in page],
        }
        return 200, out, headers

    def op_pulls_list_reviews(self, p: JSON, q: JSON, body: Any) -> Any:
        repo, pr = self._pull(p)
        n = pr["number"]
        # Someone else's pending review is invisible, as on GitHub.
        reviews = [
            r for r in repo.reviews.get(n, []) if r["state"] != "PENDING" or r["user"] == self.login
        ]
        page, headers = self._paginate(
            f"/repos/{repo.owner}/{repo.name}/pulls/{n}/reviews", q, reviews
        )
        return 200, [self._review_json(repo, r) for r in page], headers

    def op_pulls_create_review(self, p: JSON, q: JSON, body: Any) -> Any:
        repo, pr = self._pull(p)
        self._sync_pull(repo, pr)
        n = pr["number"]
        body = body or {}
        event, text = body.get("event"), body.get("body") or ""
        comments = body.get("comments", [])

        def reject(message: str) -> ApiError:
            return ApiError(422, "Unprocessable Entity", [message])

        if event is None and any(
            r["state"] == "PENDING" and r["user"] == self.login for r in repo.reviews.get(n, [])
        ):
            raise reject("User can only have one pending review per pull request")
        if pr.get("user", self.login) == self.login:
            if event == "APPROVE":
                raise reject("Can not approve your own pull request")
            if event == "REQUEST_CHANGES":
                raise reject("Can not request changes on your own pull request")
        if event in ("COMMENT", "REQUEST_CHANGES") and not text and not comments:
            raise reject("Body can't be blank")
        commit = body.get("commit_id") or pr["head_sha"]
        git = repo.git
        if not (
            len(commit) == 40
            and git.object_type(commit) == "commit"
            and git.is_ancestor(commit, pr["head_sha"])
            and not git.is_ancestor(commit, pr["base_sha"])
        ):
            raise reject("commit_id is not part of the pull request")
        patches = self._pull_patches(repo, pr, commit) if comments else {}
        anchors = []
        for comment in comments:
            anchor, problems = self._anchor(patches, comment)
            if anchor is None:
                # GitHub rejects the whole review and does not say which comment failed.
                raise reject(_sentence(problems))
            anchors.append(anchor)
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}.get(
            event, "COMMENTED" if event == "COMMENT" else "PENDING"
        )
        review = self._new_review(repo, n, self.login, state, text, commit)
        for comment, anchor in zip(comments, anchors, strict=True):
            self._new_review_comment(
                repo, n, review, self.login, comment["body"], {**anchor, "commit_id": commit}, None
            )
        return 200, self._review_json(repo, review), {}

    def op_pulls_list_review_comments(self, p: JSON, q: JSON, body: Any) -> Any:
        repo, pr = self._pull(p)
        n = pr["number"]
        comments = self._visible_comments(repo, n)
        comments = _since(comments, q)
        if "sort" in q:
            key = "updated_at" if q["sort"] == "updated" else "created_at"
            comments = sorted(comments, key=lambda c: (c[key], c["id"]))
            if q.get("direction") == "desc":
                comments.reverse()
        page, headers = self._paginate(
            f"/repos/{repo.owner}/{repo.name}/pulls/{n}/comments", q, comments
        )
        return 200, [self._review_comment_json(repo, c) for c in page], headers

    def op_pulls_delete_review_comment(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        try:
            cid = int(p["comment_id"])
        except ValueError:
            raise ApiError(404, "Not Found") from None
        for n, comments in repo.review_comments.items():
            comment = next((c for c in comments if c["id"] == cid), None)
            if comment is None:
                continue
            review = next(r for r in repo.reviews.get(n, []) if r["id"] == comment["review_id"])
            # Someone else's pending review is invisible, as on GitHub.
            if review["state"] == "PENDING" and review["user"] != self.login:
                break
            comments.remove(comment)
            return 204, None, {}
        raise ApiError(404, "Not Found")

    def op_code_scanning_upload_sarif(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        doc = _decode_sarif(body["sarif"])
        sha = body["commit_sha"]
        if repo.git.object_type(sha) != "commit":
            raise ApiError(400, f"Invalid request. commit_sha {sha} is not a commit of the repo.")
        sid = str(uuid.uuid4())
        extra = ("checkout_uri", "started_at", "tool_name", "validate")
        repo.sarifs[sid] = {
            "id": sid,
            "commit_sha": sha,
            "ref": body["ref"],
            "sarif": doc,
            **{k: body[k] for k in extra if k in body},
        }
        url = f"{self._repo_url(repo)}/code-scanning/sarifs/{sid}"
        return 202, {"id": sid, "url": url}, {}

    def op_code_scanning_get_sarif(self, p: JSON, q: JSON, body: Any) -> Any:
        repo = self._repo(p["owner"], p["repo"])
        sid = p["sarif_id"]
        if sid not in repo.sarifs:
            raise ApiError(404, "Not Found")
        url = self._repo_url(repo)
        out = {
            "processing_status": "complete",
            "analyses_url": f"{url}/code-scanning/analyses?sarif_id={sid}",
        }
        return 200, out, {}
