"""Run fix-pr over many repositories: one failure never stops the others, and the number of
open bot pull requests stays under a cap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from github import Github

from bot.fixpr.publish import Outcome, Report, Settings, fix_pr
from bot.github.client import ApiFailure, redact
from bot.github.memo import Memory
from fixers.pinning.model import Resolver

# Requests kept back for the rest of the job (and other jobs sharing the token).
RATE_RESERVE = 100
HAS_OPEN_PR = frozenset({Outcome.OPENED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.BLOCKED})


@dataclass
class SweepReport:
    reports: list[Report] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (repo, what went wrong)
    deferred: list[str] = field(default_factory=list)  # not visited: rate limit nearly spent

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.reports)


def sweep(
    gh: Github,
    repos: Sequence[str],
    settings: Settings,
    resolver: Resolver | None,
    *,
    max_open_prs: int,
    on_repo: Callable[[Report], None] | None = None,
    calls: Callable[[], int] | None = None,
    memory: Memory | None = None,
    reserve: int = RATE_RESERVE,
) -> SweepReport:
    """``max_open_prs``: open bot PRs this run may have among the repositories it visits
    (existing ones count; 0 means no new PR). ``calls`` reads a request counter, to record
    each repository's cost. When fewer than ``reserve`` requests of the rate limit are left,
    the remaining repositories are deferred to the next run rather than left half-done."""
    out = SweepReport()
    open_now = 0

    def may_open() -> bool:
        return open_now < max_open_prs

    for index, name in enumerate(repos):
        remaining, _ = gh.rate_limiting  # from the last answer's headers: no request
        if remaining < reserve:
            out.deferred = list(repos[index:])
            break
        before = calls() if calls else 0
        try:
            report = fix_pr(gh, name, settings, resolver, may_open=may_open, memory=memory)
        except ApiFailure as exc:
            out.failures.append((name, str(exc)))
            continue
        except Exception as exc:  # a network error or a bug: this repository only
            out.failures.append((name, redact(f"{type(exc).__name__}: {exc}")))
            continue
        finally:
            if memory is not None:
                memory.save()  # after each repository: an interrupted sweep keeps what it did
        if calls:
            report.calls = calls() - before
        if report.outcome in HAS_OPEN_PR and report.pr_number is not None:
            open_now += 1
        out.reports.append(report)
        if on_repo is not None:
            on_repo(report)
    return out
