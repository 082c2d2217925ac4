"""review mode: one review per run on what a pull request changed, with suggestions.

Files are read through the API at the PR's head commit (never checked out, never executed),
so this is safe under ``pull_request_target``. Comments carry hidden fingerprints: a re-run
posts only what is new. A read-only token (fork PRs) is not an error: the findings go to the
job summary and annotations instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from github import Github, GithubException

from bot.analyse import Options, analyse, config_from
from bot.github.client import failure
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
            if f.status != "removed" and kind_of(f.filename) is not None
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
    if not wanted:
        return report
    try:
        posted = _posted_fingerprints(pr)
    except GithubException as exc:
        raise failure(f"read review comments of #{number}", exc) from exc
    fresh = [c for c in wanted if c.fingerprint not in posted]
    report.duplicates = len(wanted) - len(fresh)
    kept, report.overflow = cap(fresh, limit)
    if not kept or not post:
        report.posted = [] if not post else kept
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
        if {c.fingerprint for c in kept} & _posted_fingerprints(pr):
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


def _posted_fingerprints(pr: object) -> set[str]:
    found: set[str] = set()
    for comment in pr.get_review_comments():  # type: ignore[attr-defined]
        found |= fingerprints_in(comment.body or "")
    return found


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
