"""Which repositories a sweep visits: listed through the API, filtered, in a stable order."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from github import Github, GithubException

from bot.github.client import failure, get_all


@dataclass(frozen=True)
class Candidate:
    full_name: str
    archived: bool = False
    disabled: bool = False
    fork: bool = False

    @property
    def skip_reason(self) -> str | None:
        if self.archived:
            return "archived"
        if self.disabled:
            return "disabled"
        if self.fork:
            return "fork"
        return None


def list_repositories(gh: Github, org: str | None) -> list[Candidate]:
    """``/orgs/{org}/repos`` for an org, else ``/installation/repositories`` (App tokens)."""
    try:
        if org:
            return [_candidate(r) for r in get_all(gh, f"/orgs/{org}/repos", {"type": "all"})]
        found: list[Candidate] = []
        total, page = None, 1
        while total is None or len(found) < total:
            _, data = gh.requester.requestJsonAndCheck(
                "GET", "/installation/repositories", parameters={"per_page": 100, "page": page}
            )
            total = int(data.get("total_count", 0))
            if not data["repositories"]:
                break
            found += [_candidate(r) for r in data["repositories"]]
            page += 1
        return found
    except GithubException as exc:
        raise failure(f"list repositories of {org or 'the installation'}", exc) from exc


def _candidate(raw: dict[str, object]) -> Candidate:
    return Candidate(
        str(raw["full_name"]),
        bool(raw.get("archived")),
        bool(raw.get("disabled")),
        bool(raw.get("fork")),
    )


def select(candidates: Iterable[Candidate], patterns: Iterable[str] = ()) -> list[Candidate]:
    """Visitable repositories matching any pattern (``owner/name`` globs; none: all), sorted.
    A pattern starting with ``!`` excludes."""
    wanted = [p for p in patterns if p and not p.startswith("!")]
    unwanted = [p[1:] for p in patterns if p.startswith("!")]
    out = []
    for c in candidates:
        name = c.full_name.lower()
        if c.skip_reason is not None:
            continue
        if wanted and not any(fnmatch.fnmatchcase(name, p.lower()) for p in wanted):
            continue
        if any(fnmatch.fnmatchcase(name, p.lower()) for p in unwanted):
            continue
        out.append(c)
    return sorted(out, key=lambda c: c.full_name.lower())


def sweep_names(
    gh: Github, org: str | None, patterns: Sequence[str], fallback: str | None = None
) -> list[str]:
    """The repositories a sweep visits. Plain ``owner/name`` entries alone (no org): exactly
    those, with no listing request. Otherwise the org's (or the installation's) repositories
    filtered by the patterns. Neither: ``fallback`` (the current repository)."""
    plain = all(not any(ch in p for ch in "*?[!") for p in patterns)
    if patterns and plain and not org:
        return sorted(patterns)
    if org or patterns:
        return [c.full_name for c in select(list_repositories(gh, org), patterns)]
    return [fallback] if fallback else []
