"""Which repositories a sweep visits: listed through the API, filtered, in a stable order."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from github import Github, GithubException
from github.PaginatedList import PaginatedList
from github.Repository import Repository

from bot.github.client import failure


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
            listing = PaginatedList(
                Repository, gh.requester, f"/orgs/{org}/repos", {"type": "all", "per_page": 100}
            )
            return [_candidate(r.raw_data) for r in listing]
        _, data = gh.requester.requestJsonAndCheck(
            "GET", "/installation/repositories", parameters={"per_page": 100}
        )
        found = [_candidate(r) for r in data["repositories"]]
        total, page = int(data.get("total_count", len(found))), 1
        while len(found) < total:
            page += 1
            _, data = gh.requester.requestJsonAndCheck(
                "GET", "/installation/repositories", parameters={"per_page": 100, "page": page}
            )
            if not data["repositories"]:
                break
            found += [_candidate(r) for r in data["repositories"]]
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
