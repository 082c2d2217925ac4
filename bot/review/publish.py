"""review mode: one review per run on what a pull request changed, with suggestions.

Files are read through the API at the PR's head commit (never checked out, never executed),
so this is safe under ``pull_request_target``; the config is read at the base commit, since
the pull request must not set the policy it is reviewed by. Comments carry hidden
fingerprints: a re-run posts only what is new, and deletes the bot's own comments whose
finding is gone. Only comments written by a Bot account count, so nobody can silence a
finding or get a comment deleted by quoting a fingerprint. A read-only token (fork PRs) is
not an error: the findings go to the job summary and annotations instead.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from github import Github, GithubException
from github.Repository import Repository

from bot.analyse import Options, analyse, config_from
from bot.github.client import failure, get_all, is_rate_limited
from bot.github.snapshot import FILE_MODES, RepoSnapshot
from bot.markdown import code
from bot.review.fingerprint import fingerprints_in
from bot.review.hunks import parse_patch
from bot.review.suggestions import Outside, ReviewComment, cap, review_comments
from fixers.config import CONFIG_DIRS, CONFIG_NAMES, ConfigError
from fixers.discover import kind_of
from fixers.pinning.model import Resolver
from fixers.run import RunResult
from fixers.source import MAX_FILE_BYTES, Unreadable, decode

MAX_COMMENTS = 30


@dataclass
class ReviewReport:
    repo: str
    number: int
    result: RunResult | None = None
    posted: list[ReviewComment] = field(default_factory=list)
    duplicates: int = 0
    overflow: list[ReviewComment] = field(default_factory=list)
    outside: list[Outside] = field(default_factory=list)
    read_only: bool = False
    removed: int = 0  # earlier bot comments whose finding is gone, deleted
    config_changes: list[str] = field(default_factory=list)  # config files the PR changes
    review_id: int | None = None
    detail: str = ""


def review_pr(
    gh: Github,
    full_name: str,
    number: int,
    options: Options,
    resolver: Resolver | None,
    *,
    config_path: str | None = None,
    paths: Sequence[str] = ("",),
    post: bool = True,
    limit: int = MAX_COMMENTS,
) -> ReviewReport:
    report = ReviewReport(full_name, number)
    try:
        repo = gh.get_repo(full_name)
        pr = repo.get_pull(number)
        head_sha, base_sha = pr.head.sha, pr.base.sha
        files = list(pr.get_files())
    except GithubException as exc:
        raise failure(f"read pull request #{number} of {full_name}", exc) from exc
    changed = {f.filename for f in files}
    changed |= {f.previous_filename for f in files if f.previous_filename}
    patches = {
        f.filename: f.patch
        for f in files
        if f.status != "removed" and kind_of(f.filename) is not None and _below(f.filename, paths)
    }
    report.config_changes = sorted(changed & set(_config_names(config_path)))
    note = _config_note(report.config_changes)
    if not patches:
        report.detail = _joined("no container files changed", note)
        return report
    try:
        # The config is policy: the base's, never what the pull request proposes.
        config = config_from(_BaseFiles(repo, base_sha), config_path)
    except ConfigError as exc:
        report.detail = f"config: {exc}"
        return report
    report.detail = note
    snapshot = RepoSnapshot(repo, head_sha)
    targets = [(path, kind) for path in sorted(patches) if (kind := kind_of(path)) is not None]
    result = analyse(snapshot, config, options, resolver, targets=targets)
    report.result = result
    wanted: list[ReviewComment] = []
    for file_result in result.files:
        if file_result.source_path not in patches:
            continue  # a related file (an entrypoint script) the PR did not touch
        comments, outside = review_comments(
            file_result, parse_patch(patches[file_result.source_path])
        )
        wanted += comments
        report.outside += outside
    comments_url = f"{repo.url}/pulls/{number}/comments"
    reading = f"read review comments of #{number}"
    existing = _comments(gh, comments_url, reading)
    posted = _fingerprints(existing)
    if post:
        unread = {s.path for s in [*result.skipped, *result.errors]} & changed
        if unread or result.incomplete:
            # What the engine could not see may still hold those findings: keep them all.
            kept_note = "earlier comments kept, since not everything could be analysed"
            report.detail = _joined(report.detail, kept_note)
        else:
            analysed = {r.source_path for r in result.files}
            current = {c.fingerprint for c in wanted}
            report.removed = _remove_stale(gh, repo.url, existing, current, set(patches), analysed)
    fresh = [c for c in wanted if c.fingerprint not in posted]
    report.duplicates = len(wanted) - len(fresh)
    kept, report.overflow = cap(fresh, limit)
    if not kept or not post:
        return report
    payload = {
        "commit_id": head_sha,
        "event": "COMMENT",
        "body": _review_body(kept, report.overflow, note),
        "comments": [_comment_json(c) for c in kept],
    }
    url = f"{repo.url}/pulls/{number}/reviews"
    try:
        _, review = gh.requester.requestJsonAndCheck("POST", url, input=payload)
        report.review_id = int(review["id"])
        report.posted = kept
    except GithubException as exc:
        if exc.status == 403 and not is_rate_limited(exc):
            report.read_only = True  # fork PR or a token without pull-requests: write
            report.detail = _joined(
                report.detail, "the token may not write reviews: findings are in the summary"
            )
            return report
        if exc.status is not None and exc.status < 500:
            raise failure(f"post a review on #{number}", exc) from exc  # a rate limit too
        # GitHub may have posted it before failing: look, and only then try again.
        if {c.fingerprint for c in kept} & _fingerprints(_comments(gh, comments_url, reading)):
            report.posted = kept
            report.detail = _joined(
                report.detail, "posted (the API answered with an error, but the review is there)"
            )
            return report
        try:
            _, review = gh.requester.requestJsonAndCheck("POST", url, input=payload)
        except GithubException as again:
            raise failure(f"post a review on #{number}", again) from again
        report.review_id = int(review["id"])
        report.posted = kept
    return report


class _BaseFiles:
    """The files of one commit, read only for the config file: one tree request, and a blob
    for a file that is read. (A ``RepoSnapshot`` would walk every folder of a tree too large
    for one answer.)"""

    def __init__(self, repo: Repository, commit: str) -> None:
        self.repo = repo
        self.commit = commit
        try:
            tree = repo.get_git_tree(commit, recursive=True).raw_data
        except GithubException as exc:
            raise failure(f"read tree of {repo.full_name}@{commit[:12]}", exc) from exc
        self.truncated = bool(tree.get("truncated"))
        self.blobs = {
            str(item["path"]): (str(item["sha"]), int(item.get("size") or 0))
            for item in tree.get("tree", [])
            if item.get("type") == "blob" and item.get("mode") in FILE_MODES
        }

    def walk(self, under: str = "") -> Iterator[str]:
        under = under.strip("/")
        return iter(sorted(p for p in self.blobs if not under or p.startswith(under + "/")))

    def read_text(self, path: str) -> str:
        path = posixpath.normpath(path).lstrip("/")
        if path not in self.blobs:
            if self.truncated:
                return self._read_content(path)
            raise FileNotFoundError(path)
        sha, size = self.blobs[path]
        if size > MAX_FILE_BYTES:
            raise Unreadable(f"larger than {MAX_FILE_BYTES // 1024} KiB ({size} bytes)")
        try:
            blob = self.repo.get_git_blob(sha)
        except GithubException as exc:
            # Not Unreadable: the config would silently be the default one.
            raise failure(f"read {path} at {self.commit[:12]}", exc) from exc
        if blob.encoding == "base64":
            return decode(base64.b64decode(blob.content))
        return decode(blob.content.encode("utf-8"))

    def _read_content(self, path: str) -> str:
        """A file the truncated tree left out, by the contents API."""
        try:
            found = self.repo.get_contents(path, ref=self.commit)
        except GithubException as exc:
            if exc.status == 404:
                raise FileNotFoundError(path) from None
            raise failure(f"read {path} at {self.commit[:12]}", exc) from exc
        if isinstance(found, list) or found.type != "file":
            raise FileNotFoundError(path)
        if found.encoding != "base64":
            raise Unreadable(f"larger than {MAX_FILE_BYTES // 1024} KiB ({found.size} bytes)")
        return decode(found.decoded_content)


def _config_names(explicit: str | None) -> list[str]:
    """Where the config may be (as ``config_from`` looks for it)."""
    if explicit:
        return [explicit.strip("/")]
    return [f"{d}/{n}".lstrip("/") for d in CONFIG_DIRS for n in CONFIG_NAMES]


def _config_note(names: Sequence[str]) -> str:
    if not names:
        return ""
    return (
        f"this pull request changes {', '.join(code(n) for n in names)}, which takes effect"
        " once it is merged: this review follows the config of the base branch"
    )


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _by_bot(comment: dict[str, Any]) -> bool:
    """Written by an App or Actions' token: a person's account is never a Bot, so whoever
    can comment cannot forge the bot's fingerprints or make it delete their comment."""
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"


def _comments(gh: Github, comments_url: str, what: str) -> list[dict[str, Any]]:
    """Every review comment of the pull request (the bot's and others')."""
    try:
        return [c for c in get_all(gh, comments_url) if isinstance(c, dict)]
    except GithubException as exc:
        raise failure(what, exc) from exc


def _below(path: str, folders: Sequence[str]) -> bool:
    return any(not d or path == d or path.startswith(d.rstrip("/") + "/") for d in folders)


def _remove_stale(
    gh: Github,
    repo_url: str,
    existing: list[dict[str, Any]],
    current: set[str],
    changed: set[str],
    analysed: set[str],
) -> int:
    """Delete the bot's earlier comments whose finding is gone (fixed, or its file no longer
    changed), unless somebody replied: a conversation is never deleted. A file that could not
    be analysed this time keeps its comments (nothing is known about them). Only comments by
    a Bot count: a person's that quotes a marker is theirs."""
    replied = {c.get("in_reply_to_id") for c in existing} - {None}
    removed = 0
    for comment in existing:
        ours = fingerprints_in(comment.get("body") or "") if _by_bot(comment) else set()
        if not ours or ours & current or comment.get("in_reply_to_id") or comment["id"] in replied:
            continue
        if comment.get("path") in changed and comment.get("path") not in analysed:
            continue
        try:
            gh.requester.requestJsonAndCheck("DELETE", f"{repo_url}/pulls/comments/{comment['id']}")
            removed += 1
        except GithubException as exc:
            if exc.status == 403 and not is_rate_limited(exc):
                break  # the token may not delete: leave them all
            if exc.status != 404:  # 404: already gone
                raise failure(f"delete review comment {comment['id']}", exc) from exc
    return removed


def _fingerprints(comments: list[dict[str, Any]]) -> set[str]:
    """The fingerprints the bot's comments carry (others' do not count)."""
    return {fp for c in comments if _by_bot(c) for fp in fingerprints_in(c.get("body") or "")}


def _comment_json(c: ReviewComment) -> dict[str, object]:
    out: dict[str, object] = {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}
    if c.start_line is not None and c.start_line < c.line:
        out.update(start_line=c.start_line, start_side="RIGHT")
    return out


def _review_body(kept: list[ReviewComment], overflow: list[ReviewComment], note: str = "") -> str:
    rules = sorted({c.rule for c in kept + overflow})
    text = (
        f"container-bp found {len(kept) + len(overflow)} container best-practice problems in"
        f" the lines this pull request changes ({', '.join(rules)})."
        " Suggestions can be committed from each comment."
    )
    if overflow:
        text += f"\n\n{len(overflow)} more (not commented, to keep this review short):\n"
        text += "\n".join(f"- {code(f'{c.path}:{c.line}')} {c.rule}" for c in overflow[:50])
        if len(overflow) > 50:
            text += f"\n- and {len(overflow) - 50} more"
    if note:
        text += f"\n\nNote: {note}."
    return text
