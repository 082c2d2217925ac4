"""A repository at one commit, read through the API: the ``Source`` the engine reads.

One recursive tree request lists every file; blobs are fetched only when the engine reads a
file (candidates and the scripts they name), so a repository costs one call plus one per
candidate file. No clone, and nothing from the repository is ever executed.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from github import GithubException
from github.Repository import Repository

from bot.github.client import failure
from fixers.source import MAX_FILE_BYTES, SKIP_DIRS, Unreadable, decode

# Git modes the engine reads: regular and executable files. Links and submodules are not.
FILE_MODES = frozenset({"100644", "100755"})


@dataclass(frozen=True)
class Entry:
    mode: str
    sha: str
    size: int


class RepoSnapshot:
    """Files of ``repo`` at ``commit`` (a commit SHA)."""

    def __init__(self, repo: Repository, commit: str) -> None:
        self.repo = repo
        self.commit = commit
        self.entries: dict[str, Entry] = {}
        self.tree_sha = ""
        self.blob_reads = 0
        self.failed_reads: list[str] = []  # fetches that failed (not files that are unfit)
        self._texts: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        try:
            tree = self.repo.get_git_tree(self.commit, recursive=True)
        except GithubException as exc:
            raise failure(f"read tree of {self.repo.full_name}@{self.commit[:12]}", exc) from exc
        self.tree_sha = tree.sha
        if not tree.raw_data.get("truncated"):
            self._add(tree.raw_data["tree"], "")
            return
        # Too large for one answer: walk folder by folder (each folder its own request).
        self._walk(tree.sha, "")

    def _walk(self, sha: str, prefix: str) -> None:
        try:
            tree = self.repo.get_git_tree(sha)
        except GithubException as exc:
            raise failure(f"read tree {prefix or '/'} of {self.repo.full_name}", exc) from exc
        self._add(tree.raw_data["tree"], prefix)
        for item in tree.raw_data["tree"]:
            name = str(item["path"])
            if item["type"] == "tree" and name not in SKIP_DIRS:
                self._walk(str(item["sha"]), prefix + name + "/")

    def _add(self, items: list[dict[str, object]], prefix: str) -> None:
        for item in items:
            if item.get("type") != "blob" or item.get("mode") not in FILE_MODES:
                continue
            path = prefix + str(item["path"])
            if any(part in SKIP_DIRS for part in path.split("/")[:-1]):
                continue
            size = item.get("size")
            self.entries[path] = Entry(
                str(item["mode"]), str(item["sha"]), size if isinstance(size, int) else 0
            )

    # ------------------------------------------------------------ Source
    def walk(self, under: str = "") -> Iterator[str]:
        under = under.strip("/")
        for path in sorted(self.entries):
            if not under or path == under or path.startswith(under + "/"):
                yield path

    def read_text(self, path: str) -> str:
        path = posixpath.normpath(path).lstrip("/")
        if path in self._texts:
            return self._texts[path]
        entry = self.entries.get(path)
        if entry is None:
            raise FileNotFoundError(path)
        if entry.size > MAX_FILE_BYTES:
            raise Unreadable(f"larger than {MAX_FILE_BYTES // 1024} KiB ({entry.size} bytes)")
        try:
            blob = self.repo.get_git_blob(entry.sha)
            self.blob_reads += 1
        except GithubException as exc:
            self.failed_reads.append(path)
            raise Unreadable(str(failure("read blob", exc))) from None
        raw = (
            base64.b64decode(blob.content)
            if blob.encoding == "base64"
            else blob.content.encode("utf-8")
        )
        text = decode(raw)
        self._texts[path] = text
        return text

    def mode(self, path: str) -> str:
        entry = self.entries.get(path)
        return entry.mode if entry else "100644"
