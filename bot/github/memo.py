"""What the last run learned about each repository, kept in a JSON file between runs (a sweep
restores it with actions/cache). With it, an unchanged repository costs one conditional
request that GitHub answers 304 Not Modified, which does not count against the rate limit."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

FORMAT = 1


@dataclass(frozen=True)
class RepoMemo:
    base: str  # the base branch
    base_sha: str
    ref_etag: str  # ETag of GET /repos/{o}/{r}/git/ref/heads/{base}
    version: str  # Settings.fingerprint() of that run
    outcome: str  # what a run would find again if the base has not moved
    pr_number: int | None = None
    pr_url: str | None = None


class Memory:
    """Repository memos in a JSON file. A missing, unreadable or foreign file is an empty
    memory: it only ever saves requests, never decides what is right."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.repos: dict[str, RepoMemo] = {}
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("format") == FORMAT:
                    self.repos = {k: RepoMemo(**v) for k, v in data["repos"].items()}
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                self.repos = {}

    def get(self, repo: str) -> RepoMemo | None:
        return self.repos.get(repo.lower())

    def put(self, repo: str, memo: RepoMemo | None) -> None:
        if memo is None:
            self.repos.pop(repo.lower(), None)
        else:
            self.repos[repo.lower()] = memo

    def save(self) -> None:
        """Atomic: a crash mid-write leaves the old file."""
        if self.path is None:
            return
        data = {"format": FORMAT, "repos": {k: asdict(v) for k, v in sorted(self.repos.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
