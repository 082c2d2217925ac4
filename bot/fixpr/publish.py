"""fix-pr mode: one pull request per repository and base branch, kept in step with the base.

The branch is never force-pushed. Each update is a new commit whose parents are the branch's
current head (and the base, when the base moved), so a ref update is a fast-forward that
GitHub refuses when somebody else moved the branch in the meantime: the run then starts over
from a fresh read. State lives in a hidden marker in the PR body (`bot.fixpr.state`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import quote

from github import Github, GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot import __version__
from bot.analyse import Options, analyse, changes, config_from
from bot.fixpr.body import pr_body, pr_title
from bot.fixpr.state import MARKER_START, PrState, decode, encode, fixes_digest
from bot.github.client import ApiFailure, failure
from bot.github.memo import Memory, RepoMemo
from bot.github.snapshot import RepoSnapshot
from fixers.config import ConfigError
from fixers.pinning.model import Resolver
from fixers.run import RunResult

BRANCH = "container-bp/fixes"
LABEL_COLOR = "1d76db"
LABEL_DESCRIPTION = "Container best-practice fixes"
ATTEMPTS = 3


class Outcome(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CLOSED = "closed"  # nothing left to fix: the bot closed its PR
    CLEAN = "clean"  # nothing to fix, no PR
    DECLINED = "declined"  # a person closed the PR with these same fixes: not proposed again
    BLOCKED = "blocked"  # somebody else's commits on the bot branch: left alone
    CAPPED = "capped"  # would open a PR, but the open-PR cap is reached
    DRY_RUN = "dry-run"
    SKIPPED = "skipped"  # archived, unreadable config, ...
    INCOMPLETE = "incomplete"  # something could not be read or looked up: nothing changed


@dataclass(frozen=True)
class Settings:
    base: str | None = None
    labels: tuple[str, ...] = ("container-bp",)
    dry_run: bool = False
    options: Options = field(default_factory=Options)
    config_path: str | None = None
    paths: tuple[str, ...] = ("",)
    branch: str = BRANCH
    author: str | None = None  # login shown in comments; informational only

    def fingerprint(self) -> str:
        """What, besides the base commit, decides the fixes: a changed setting re-runs."""
        o = self.options
        raw = json.dumps(
            [__version__, o.unsafe, o.pin_digests, sorted(o.only), sorted(o.skip),
             self.config_path, list(self.paths)]
        )  # fmt: skip
        return f"{__version__}+{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


@dataclass
class Report:
    repo: str
    outcome: Outcome
    result: RunResult | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    files_changed: int = 0
    detail: str = ""
    calls: int = 0  # API requests this repository cost (filled by callers that count)
    base: str = ""
    base_sha: str = ""
    ref_etag: str = ""  # of the base ref, for the next run's conditional request


class _Moved(Exception):
    """A branch moved under us (a concurrent run or a push): start again from a fresh read."""


def fix_pr(
    gh: Github,
    full_name: str,
    settings: Settings,
    resolver: Resolver | None,
    *,
    may_open: Callable[[], bool] = lambda: True,
    memory: Memory | None = None,
) -> Report:
    """Bring the bot PR of ``full_name`` in line with what the engine would fix now. With a
    ``memory`` of the last run, an unchanged base costs one free (304) request."""
    memo = memory.get(full_name) if memory is not None else None
    known: tuple[str, str, str] | None = None  # (base, head, ETag) read on the way
    if (
        memo is not None
        and memo.version == settings.fingerprint()
        and settings.base
        in (
            None,
            memo.base,
        )
    ):
        sha, etag = _base_ref(gh, f"/repos/{full_name}", memo.base, memo.ref_etag)
        if sha is None:  # 304 Not Modified: the base has not moved
            return Report(
                full_name,
                Outcome(memo.outcome),
                pr_number=memo.pr_number,
                pr_url=memo.pr_url,
                detail="base unchanged since the last run (not modified)",
            )
        if sha == memo.base_sha:  # 200, same head (ETags are per token): still unchanged
            return Report(
                full_name,
                Outcome(memo.outcome),
                pr_number=memo.pr_number,
                pr_url=memo.pr_url,
                detail="base unchanged since the last run",
            )
        known = (memo.base, sha, etag)
    last: Exception | None = None
    for _ in range(ATTEMPTS):
        try:
            report = _attempt(gh, full_name, settings, resolver, may_open, known)
        except _Moved as exc:
            last, known = exc, None  # start over from a fresh read
            continue
        if memory is not None:
            memory.put(full_name, _memo(report, settings))
        return report
    raise ApiFailure(f"update {full_name}", None, f"branch kept moving ({last})")


# What a repository's outcome will be on the next run if its base has not moved.
_SETTLED = {
    Outcome.OPENED: Outcome.UNCHANGED,
    Outcome.UPDATED: Outcome.UNCHANGED,
    Outcome.UNCHANGED: Outcome.UNCHANGED,
    Outcome.CLEAN: Outcome.CLEAN,
    Outcome.CLOSED: Outcome.CLEAN,
    Outcome.DECLINED: Outcome.DECLINED,
}


def _memo(report: Report, settings: Settings) -> RepoMemo | None:
    settled = _SETTLED.get(report.outcome)
    if settled is None or not report.ref_etag:
        return None  # blocked, capped, dry run, skipped: look again next time
    return RepoMemo(
        base=report.base,
        base_sha=report.base_sha,
        ref_etag=report.ref_etag,
        version=settings.fingerprint(),
        outcome=str(settled),
        pr_number=None if settled == Outcome.CLEAN else report.pr_number,
        pr_url=None if settled == Outcome.CLEAN else report.pr_url,
    )


def _base_ref(gh: Github, repo_url: str, base: str, etag: str = "") -> tuple[str | None, str]:
    """The base branch's head and the ETag of that answer; (None, etag) when GitHub says it
    has not changed since ``etag`` (a 304, free of rate-limit cost)."""
    headers = {"If-None-Match": etag} if etag else None
    try:
        answer, data = gh.requester.requestJsonAndCheck(
            "GET", f"{repo_url}/git/ref/heads/{quote(base, safe='/')}", headers=headers
        )
    except GithubException as exc:
        if exc.status == 404:
            return "", ""
        raise failure(f"read branch {base} of {repo_url.removeprefix('/repos/')}", exc) from exc
    if data is None:
        return None, etag
    return str(data["object"]["sha"]), str(answer.get("etag", ""))


@dataclass
class _Prs:
    open: PullRequest | None = None
    latest: PullRequest | None = None  # the newest bot PR in any state

    @property
    def latest_state(self) -> PrState | None:
        return decode(self.latest.body) if self.latest is not None else None


def _bot_prs(repo: Repository, branch: str, base: str) -> _Prs:
    prs = _Prs()
    try:
        pulls = repo.get_pulls(
            state="all", head=f"{repo.owner.login}:{branch}", base=base, direction="desc"
        )
        for pr in pulls.get_page(0):
            if prs.latest is None:
                prs.latest = pr
            if pr.state == "open" and prs.open is None:
                prs.open = pr
    except GithubException as exc:
        raise failure(f"list pull requests of {repo.full_name}", exc) from exc
    return prs


def _ref_sha(repo: Repository, branch: str) -> str | None:
    try:
        return repo.get_git_ref(f"heads/{branch}").object.sha
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise failure(f"read branch {branch} of {repo.full_name}", exc) from exc


def _attempt(
    gh: Github,
    full_name: str,
    settings: Settings,
    resolver: Resolver | None,
    may_open: Callable[[], bool],
    known: tuple[str, str, str] | None = None,
) -> Report:
    try:
        repo = gh.get_repo(full_name)
    except GithubException as exc:
        raise failure(f"read repository {full_name}", exc) from exc
    report = Report(full_name, Outcome.SKIPPED)
    if repo.archived:
        report.detail = "archived (read-only)"
        return report
    base = settings.base or repo.default_branch
    if base != repo.default_branch:  # one branch per base: a ref cannot serve two PRs
        settings = replace(settings, branch=branch_for(settings.branch, base))
    base_sha: str | None
    if known is not None and known[0] == base:
        base_sha, report.ref_etag = known[1], known[2]
    else:
        base_sha, report.ref_etag = _base_ref(gh, repo.url, base)
    if not base_sha:
        report.detail = f"no branch {base!r}"
        return report
    report.base, report.base_sha = base, base_sha
    prs = _bot_prs(repo, settings.branch, base)
    version = settings.fingerprint()
    state = decode(prs.open.body) if prs.open is not None else None
    if prs.open and state and _in_step(prs.open, state, base_sha) and state.version == version:
        return _report(report, Outcome.UNCHANGED, prs.open, "base unchanged since the last run")

    snapshot = RepoSnapshot(repo, base_sha)
    try:
        config = config_from(snapshot, settings.config_path)
    except ConfigError as exc:
        report.detail = f"config: {exc}"
        return report
    result = analyse(snapshot, config, settings.options, resolver, under=settings.paths)
    report.result = result
    if result.incomplete:
        # Closing, or dropping fixes from, the PR on a partial answer would be wrong.
        detail = "; ".join(result.incomplete[:3])
        return _report(report, Outcome.INCOMPLETE, prs.open, f"not all known: {detail}")
    fixed = changes(result)
    report.files_changed = len(fixed)

    if not fixed:
        if prs.open is None:
            report.outcome = Outcome.CLEAN
            return report
        if state is None or prs.open.head.sha != state.head_sha:
            return _blocked(repo, prs.open, state, prs.open.head.sha, settings, report)
        if settings.dry_run:
            return _report(report, Outcome.DRY_RUN, prs.open, "would close: nothing left to fix")
        _close(gh, repo, prs.open, state, base_sha, version)
        return _report(report, Outcome.CLOSED, prs.open, "nothing left to fix")

    digest = fixes_digest(fixed)
    latest = prs.latest_state
    if (
        prs.open is None
        and prs.latest is not None
        and not prs.latest.merged_at
        and latest is not None
        and not latest.closed_by_bot
        and latest.fixes_digest == digest
    ):
        return _report(
            report, Outcome.DECLINED, prs.latest, "closed by a person; the fixes have not changed"
        )
    if prs.open and state and _in_step(prs.open, state, base_sha) and state.fixes_digest == digest:
        if state.version != version:
            _edit(prs.open, result, state.replace(version=version), settings)
        return _report(report, Outcome.UNCHANGED, prs.open, "same fixes")

    branch_sha = _ref_sha(repo, settings.branch)
    ours = {latest.head_sha} if latest is not None else set()
    if prs.open is None and prs.latest is not None and prs.latest.merged_at:
        ours.add(prs.latest.head.sha)  # merged as it stood: its commits are in the base now
    if branch_sha is not None and branch_sha not in ours and not _made_by_bot(gh, repo, branch_sha):
        return _blocked(repo, prs.open, state, branch_sha, settings, report)
    if settings.dry_run:
        return _report(report, Outcome.DRY_RUN, prs.open, f"would change {len(fixed)} files")
    if prs.open is None and not may_open():
        report.outcome = Outcome.CAPPED
        return report

    parents = [branch_sha] if branch_sha else []
    if not parents or latest is None or latest.base_sha != base_sha:
        parents.append(base_sha)
    commit = _commit(gh, repo, snapshot, fixed, parents, _message(result, digest))
    _move_branch(gh, repo, settings.branch, branch_sha, commit)
    new_state = PrState(base_sha=base_sha, fixes_digest=digest, version=version, head_sha=commit)
    if prs.open is not None:
        _edit(prs.open, result, new_state, settings)
        return _report(report, Outcome.UPDATED, prs.open, f"{len(fixed)} files")
    pr = _open(repo, base, result, new_state, settings)
    return _report(report, Outcome.OPENED, pr, f"{len(fixed)} files")


def branch_for(branch: str, base: str) -> str:
    """The bot branch for a base other than the default branch (``container-bp/fixes-x``)."""
    return f"{branch}-{re.sub(r'[^A-Za-z0-9._-]+', '-', base).strip('-.')}"


def _in_step(pr: PullRequest, state: PrState, base_sha: str) -> bool:
    """The open PR is as the bot left it, on the current base."""
    return state.base_sha == base_sha and pr.head.sha == state.head_sha


def _report(report: Report, outcome: Outcome, pr: PullRequest | None, detail: str) -> Report:
    report.outcome = outcome
    if pr is not None:
        report.pr_number = pr.number
        report.pr_url = pr.html_url
    report.detail = detail
    return report


def _commit(
    gh: Github,
    repo: Repository,
    snapshot: RepoSnapshot,
    fixed: dict[str, str],
    parents: list[str],
    message: str,
) -> str:
    """Tree (on top of the base tree) and commit, created by GitHub. Both are content-addressed
    and unreferenced until the ref moves, so a retry after a failure cannot duplicate
    anything."""
    entries = [
        {"path": path, "mode": snapshot.mode(path), "type": "blob", "content": text}
        for path, text in sorted(fixed.items())
    ]
    try:
        _, tree = gh.requester.requestJsonAndCheck(
            "POST", f"{repo.url}/git/trees", input={"base_tree": snapshot.tree_sha, "tree": entries}
        )
        _, commit = gh.requester.requestJsonAndCheck(
            "POST",
            f"{repo.url}/git/commits",
            input={"message": message, "tree": tree["sha"], "parents": parents},
        )
    except GithubException as exc:
        raise failure(f"write the fix commit to {repo.full_name}", exc) from exc
    return str(commit["sha"])


# Marks the bot's commits, so that a commit it made but could not record (the run failed after
# moving the branch) is still known as its own, not taken for a person's.
TRAILER = "Container-bp-fixes"


def _made_by_bot(gh: Github, repo: Repository, sha: str) -> bool:
    try:
        _, commit = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/git/commits/{sha}")
    except GithubException as exc:
        raise failure(f"read commit {sha[:12]} of {repo.full_name}", exc) from exc
    lines = str(commit.get("message", "")).rstrip("\n").splitlines()
    return bool(lines) and lines[-1].startswith(f"{TRAILER}: ")


def _message(result: RunResult, digest: str) -> str:
    applied = [f for r in result.files for f in r.applied]
    files = sorted({r.path for r in result.files if r.changed})
    lines = [f"container-bp: fix {len(applied)} findings in {len(files)} files", ""]
    lines += [f"- {f.rule} {f.path}:{f.line} {f.message}" for f in applied[:50]]
    if len(applied) > 50:
        lines.append(f"- and {len(applied) - 50} more")
    lines += ["", f"{TRAILER}: {digest[:16]}"]
    return "\n".join(lines) + "\n"


def _move_branch(gh: Github, repo: Repository, branch: str, old: str | None, new: str) -> None:
    """Fast-forward only: GitHub refuses when the branch moved since we read it."""
    try:
        if old is None:
            repo.create_git_ref(f"refs/heads/{branch}", new)
        else:
            gh.requester.requestJsonAndCheck(
                "PATCH", f"{repo.url}/git/refs/heads/{branch}", input={"sha": new, "force": False}
            )
        return
    except GithubException as exc:
        if exc.status in (409, 422):  # not a fast-forward (moved), or a conflict
            raise _Moved(f"{branch}: {exc.data}") from exc
        if exc.status is not None and exc.status < 500:
            raise failure(f"move branch {branch} of {repo.full_name}", exc) from exc
        error = exc
    # A 5xx may still have moved the ref: look before deciding.
    if _ref_sha(repo, branch) == new:
        return
    raise failure(f"move branch {branch} of {repo.full_name}", error)


def _edit(pr: PullRequest, result: RunResult, state: PrState, settings: Settings) -> None:
    try:
        pr.edit(title=pr_title(result), body=_body(result, state, settings))
    except GithubException as exc:
        raise failure(f"update pull request #{pr.number}", exc) from exc


def _body(result: RunResult, state: PrState, settings: Settings) -> str:
    return pr_body(result, state=state, unsafe=settings.options.unsafe)


def _restated(pr: PullRequest, state: PrState) -> str:
    """The PR's body with its state marker replaced (the text a person sees is kept)."""
    return (pr.body or "").split(MARKER_START)[0].rstrip() + "\n\n" + encode(state)


def _open(
    repo: Repository, base: str, result: RunResult, state: PrState, settings: Settings
) -> PullRequest:
    title, body = pr_title(result), _body(result, state, settings)
    try:
        pr = repo.create_pull(base=base, head=settings.branch, title=title, body=body)
    except GithubException as exc:
        if exc.status == 422:
            raise _Moved(f"pull request: {exc.data}") from exc
        # A 5xx on a POST may have created it: look before anything else.
        found = _bot_prs(repo, settings.branch, base).open
        if found is None or decode(found.body) != state:
            raise failure(f"open a pull request on {repo.full_name}", exc) from exc
        pr = found
    _label(repo, pr, settings.labels)
    return pr


def _label(repo: Repository, pr: PullRequest, labels: tuple[str, ...]) -> None:
    if not labels:
        return
    for name in labels:
        try:
            repo.create_label(name, LABEL_COLOR, LABEL_DESCRIPTION)
        except GithubException as exc:
            if exc.status != 422:  # 422: it exists already
                raise failure(f"create label {name!r}", exc) from exc
    try:
        pr.add_to_labels(*labels)
    except GithubException as exc:
        raise failure(f"label pull request #{pr.number}", exc) from exc


def _close(
    gh: Github,
    repo: Repository,
    pr: PullRequest,
    state: PrState,
    base_sha: str,
    version: str,
) -> None:
    """Close with a comment, mark it closed by the bot, and drop the branch (it is ours: the
    caller checked that its head is the bot's)."""
    closed = PrState(
        base_sha=base_sha,
        fixes_digest="",
        version=version,
        head_sha=state.head_sha,
        closed_by_bot=True,
    )
    try:
        pr.create_issue_comment(
            f"Nothing is left to fix on `{pr.base.ref}` at {base_sha[:12]}: closing this pull"
            " request. A later run opens a new one if something comes up."
        )
        pr.edit(state="closed", body=_restated(pr, closed))
    except GithubException as exc:
        raise failure(f"close pull request #{pr.number}", exc) from exc
    # A leftover branch is harmless: the next PR fast-forwards from it.
    with contextlib.suppress(GithubException):
        gh.requester.requestJsonAndCheck("DELETE", f"{repo.url}/git/refs/heads/{pr.head.ref}")


def _blocked(
    repo: Repository,
    pr: PullRequest | None,
    state: PrState | None,
    branch_sha: str,
    settings: Settings,
    report: Report,
) -> Report:
    """Somebody else committed to the bot branch: never overwrite; say so once."""
    report.outcome = Outcome.BLOCKED
    report.detail = f"{settings.branch} has commits the bot did not make ({branch_sha[:12]})"
    if pr is None:
        return report
    report.pr_number, report.pr_url = pr.number, pr.html_url
    if settings.dry_run or state is None or state.blocked_sha == branch_sha:
        return report
    try:
        pr.create_issue_comment(
            f"`{settings.branch}` has commits that container-bp did not make (head"
            f" {branch_sha[:12]}). To keep them, container-bp will not update this branch."
            " Merge this pull request, or delete the branch, and the next run starts afresh."
        )
        pr.edit(body=_restated(pr, state.replace(blocked_sha=branch_sha)))
    except GithubException as exc:
        raise failure(f"comment on pull request #{pr.number}", exc) from exc
    return report
