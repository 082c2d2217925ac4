"""review mode: one review per run on what a pull request changed, with suggestions.

Files are read through the API at the PR's head commit (never checked out, never executed),
so this is safe under ``pull_request_target``. Comments carry hidden fingerprints: a re-run
posts only what is new. A read-only token (fork PRs) is not an error: the findings go to the
job summary and annotations instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from github import Github, GithubException

from bot.analyse import Options, analyse, config_from
from bot.github.client import failure, get_all
from bot.github.snapshot import RepoSnapshot
from bot.review.fingerprint import fingerprints_in
from bot.review.hunks import parse_patch
from bot.review.suggestions import Outside, ReviewComment, cap, review_comments
from fixers.config import ConfigError
from fixers.discover import kind_of
from fixers.pinning.model import Resolver
from fixers.run import RunResult

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
        head_sha = pr.head.sha
        patches = {
            f.filename: f.patch
            for f in pr.get_files()
            if f.status != "removed"
            and kind_of(f.filename) is not None
            and _below(f.filename, paths)
        }
    except GithubException as exc:
        raise failure(f"read pull request #{number} of {full_name}", exc) from exc
    if not patches:
        report.detail = "no container files changed"
        return report
    snapshot = RepoSnapshot(repo, head_sha)
    try:
        config = config_from(snapshot, config_path)
    except ConfigError as exc:
        report.detail = f"config: {exc}"
        return report
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
    try:
        existing = get_all(gh, comments_url)
    except GithubException as exc:
        raise failure(f"read review comments of #{number}", exc) from exc
    posted = {fp for c in existing for fp in fingerprints_in(c.get("body") or "")}
    if post:
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
        "body": _review_body(kept, report.overflow),
        "comments": [_comment_json(c) for c in kept],
    }
    url = f"{repo.url}/pulls/{number}/reviews"
    try:
        _, review = gh.requester.requestJsonAndCheck("POST", url, input=payload)
        report.review_id = int(review["id"])
        report.posted = kept
    except GithubException as exc:
        if exc.status == 403:
            report.read_only = True  # fork PR or a token without pull-requests: write
            report.detail = "the token may not write reviews: findings are in the summary"
            return report
        if exc.status is not None and exc.status < 500:
            raise failure(f"post a review on #{number}", exc) from exc
        # GitHub may have posted it before failing: look, and only then try again.
        if {c.fingerprint for c in kept} & _posted_fingerprints(gh, comments_url):
            report.posted = kept
            report.detail = "posted (the API answered with an error, but the review is there)"
            return report
        try:
            _, review = gh.requester.requestJsonAndCheck("POST", url, input=payload)
        except GithubException as again:
            raise failure(f"post a review on #{number}", again) from again
        report.review_id = int(review["id"])
        report.posted = kept
    return report


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
    be analysed this time keeps its comments (nothing is known about them)."""
    replied = {c.get("in_reply_to_id") for c in existing} - {None}
    removed = 0
    for comment in existing:
        ours = fingerprints_in(comment.get("body") or "")
        if not ours or ours & current or comment.get("in_reply_to_id") or comment["id"] in replied:
            continue
        if comment.get("path") in changed and comment.get("path") not in analysed:
            continue
        try:
            gh.requester.requestJsonAndCheck("DELETE", f"{repo_url}/pulls/comments/{comment['id']}")
            removed += 1
        except GithubException as exc:
            if exc.status == 403:
                break  # the token may not delete: leave them all
            if exc.status != 404:  # 404: already gone
                raise failure(f"delete review comment {comment['id']}", exc) from exc
    return removed


def _posted_fingerprints(gh: Github, comments_url: str) -> set[str]:
    return {fp for c in get_all(gh, comments_url) for fp in fingerprints_in(c.get("body") or "")}


def _comment_json(c: ReviewComment) -> dict[str, object]:
    out: dict[str, object] = {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}
    if c.start_line is not None and c.start_line < c.line:
        out.update(start_line=c.start_line, start_side="RIGHT")
    return out


def _review_body(kept: list[ReviewComment], overflow: list[ReviewComment]) -> str:
    rules = sorted({c.rule for c in kept + overflow})
    text = (
        f"container-bp found {len(kept) + len(overflow)} container best-practice problems in"
        f" the lines this pull request changes ({', '.join(rules)})."
        " Suggestions can be committed from each comment."
    )
    if overflow:
        text += f"\n\n{len(overflow)} more (not commented, to keep this review short):\n"
        text += "\n".join(f"- `{c.path}:{c.line}` {c.rule}" for c in overflow[:50])
        if len(overflow) > 50:
            text += f"\n- and {len(overflow) - 50} more"
    return text
