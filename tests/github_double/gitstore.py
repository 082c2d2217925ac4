"""Real git repositories behind the double: the `git` CLI plumbing on bare repositories."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


class GitError(Exception):
    pass


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    size: int | None
    path: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: tuple[str, str, str]  # name, email, ISO-8601 date
    committer: tuple[str, str, str]
    message: str


def _git_date(value: str) -> str:
    """`1704067200 +0000` -> `2024-01-01T00:00:00Z` (always rendered in UTC)."""
    import datetime as dt

    seconds = int(value.split()[0])
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitRepo:
    def __init__(self, path: Path, default_branch: str) -> None:
        self.path = path
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(path.parent),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
        }
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self.git(
                "init", "--bare", "-q", f"--initial-branch={default_branch}", str(path), cwd=False
            )

    def git(
        self,
        *args: str,
        data: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        cwd: bool = True,
    ) -> bytes:
        proc = subprocess.run(
            ["git", *args] if not cwd else ["git", "--git-dir", str(self.path), *args],
            input=data,
            capture_output=True,
            env={**self._env, **(env or {})},
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    # ---- objects
    def hash_blob(self, content: bytes) -> str:
        return self.git("hash-object", "-w", "-t", "blob", "--stdin", data=content).decode().strip()

    def object_type(self, sha: str) -> str | None:
        out = self.git("cat-file", "-t", sha, check=False).decode().strip()
        return out or None

    def read_blob(self, sha: str) -> bytes:
        return self.git("cat-file", "blob", sha)

    def rev_parse(self, rev: str) -> str | None:
        out = self.git("rev-parse", "--verify", "-q", f"{rev}^{{object}}", check=False)
        return out.decode().strip() or None

    def ls_tree(self, tree: str, recursive: bool = False) -> list[TreeEntry]:
        args = ["ls-tree", "-z", "-l", *(["-r", "-t"] if recursive else []), tree]
        entries = []
        for record in self.git(*args).split(b"\0"):
            if not record:
                continue
            meta, path = record.split(b"\t", 1)
            mode, kind, sha, size = meta.decode().split()
            entries.append(
                TreeEntry(mode, kind, sha, None if size == "-" else int(size), path.decode())
            )
        return entries

    def flat_tree(self, tree: str | None) -> dict[str, tuple[str, str, str]]:
        """path -> (mode, type, sha) for every non-tree entry, recursively."""
        if tree is None:
            return {}
        return {
            e.path: (e.mode, e.type, e.sha) for e in self.ls_tree(tree, True) if e.type != "tree"
        }

    def write_tree(self, flat: dict[str, tuple[str, str, str]]) -> str:
        """Build nested trees from a flat path map with `git mktree`; returns the root tree sha."""
        children: dict[str, dict[str, tuple[str, str, str]]] = {}
        entries: list[tuple[str, str, str, str]] = []
        for path, (mode, kind, sha) in flat.items():
            head, sep, rest = path.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = (mode, kind, sha)
            else:
                entries.append((mode, kind, sha, head))
        for name, sub in children.items():
            entries.append(("040000", "tree", self.write_tree(sub), name))
        data = b"".join(f"{m} {k} {s}\t{n}".encode() + b"\0" for m, k, s, n in entries)
        return self.git("mktree", "-z", data=data).decode().strip()

    def commit_tree(
        self,
        tree: str,
        parents: list[str],
        message: str,
        author: tuple[str, str, str],
        committer: tuple[str, str, str],
    ) -> str:
        env = {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_AUTHOR_DATE": author[2],
            "GIT_COMMITTER_NAME": committer[0],
            "GIT_COMMITTER_EMAIL": committer[1],
            "GIT_COMMITTER_DATE": committer[2],
        }
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git(*args, "-F", "-", data=message.encode(), env=env).decode().strip()

    def read_commit(self, sha: str) -> CommitInfo:
        raw = self.git("cat-file", "commit", sha).decode()
        header, _, message = raw.partition("\n\n")
        tree, parents = "", []
        people: dict[str, tuple[str, str, str]] = {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                name, _, rest = value.partition(" <")
                email, _, date = rest.partition("> ")
                people[key] = (name, email, _git_date(date))
        return CommitInfo(sha, tree, tuple(parents), people["author"], people["committer"], message)

    # ---- refs
    def refs(self, prefix: str = "refs/") -> list[tuple[str, str, str]]:
        """(refname, sha, object type) for every ref under `prefix`."""
        fmt = "%(refname) %(objectname) %(objecttype)"
        out = self.git("for-each-ref", f"--format={fmt}", prefix).decode()
        return [tuple(line.split(" ")) for line in out.splitlines() if line]  # type: ignore[misc]

    def ref_sha(self, refname: str) -> str | None:
        for name, sha, _ in self.refs(refname):
            if name == refname:
                return sha
        return None

    def update_ref(self, refname: str, new: str, old: str | None = None) -> None:
        self.git("update-ref", refname, new, *([old] if old is not None else []))

    def delete_ref(self, refname: str) -> None:
        self.git("update-ref", "-d", refname)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.path),
                "merge-base",
                "--is-ancestor",
                ancestor,
                descendant,
            ],
            env=self._env,
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        return self.git("merge-base", a, b, check=False).decode().strip() or None

    # ---- diffs
    def diff_files(self, old: str, new: str) -> list[dict[str, object]]:
        """Per changed file: filename, status, additions, deletions, changes, patch, sha."""
        status_names = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}
        raw = self.git("diff-tree", "-r", "-z", "--no-renames", old, new).split(b"\0")
        numstat = self.git("diff-tree", "-r", "-z", "--no-renames", "--numstat", old, new)
        counts: dict[str, tuple[int, int]] = {}
        parts = numstat.split(b"\0")
        for record in parts:
            fields = record.decode(errors="replace").split("\t")
            if len(fields) == 3:
                adds, dels, path = fields
                counts[path] = (int(adds) if adds != "-" else 0, int(dels) if dels != "-" else 0)
        files = []
        for i in range(0, len(raw) - 1, 2):
            meta = raw[i].decode().lstrip(":").split()
            if len(meta) < 5:
                continue
            path = raw[i + 1].decode()
            new_sha, status = meta[3], meta[4][0]
            adds, dels = counts.get(path, (0, 0))
            patch_raw = self.git("diff", "--no-color", "--no-renames", old, new, "--", path)
            lines = patch_raw.decode(errors="replace").split("\n")
            start = next((n for n, line in enumerate(lines) if line.startswith("@@")), len(lines))
            patch = "\n".join(lines[start:]).rstrip("\n")
            files.append(
                {
                    "filename": path,
                    "status": status_names.get(status, "modified"),
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "sha": meta[2] if status == "D" else new_sha,
                    "patch": patch or None,
                }
            )
        return files


@dataclass(frozen=True)
class DiffLine:
    """One line of a file's patch as GitHub numbers it for review comments."""

    position: int  # lines below the first hunk header (the legacy `position`)
    hunk: int  # 0-based index of the hunk holding the line
    kind: str  # "@" hunk header, " " context, "+" added, "-" removed, "\\" no-newline marker
    old: int | None  # line number in the old file (side LEFT)
    new: int | None  # line number in the new file (side RIGHT)
    text: str


def patch_lines(patch: str | None) -> list[DiffLine]:
    """Number the lines of a unified-diff patch that starts at its first `@@` header."""
    out: list[DiffLine] = []
    hunk, old, new = -1, 0, 0
    for position, text in enumerate(patch.split("\n") if patch else []):
        header = _HUNK_HEADER.match(text)
        if header:
            hunk += 1
            old, new = int(header.group(1)), int(header.group(2))
            out.append(DiffLine(position, hunk, "@", None, None, text))
            continue
        if hunk < 0:
            continue
        kind = text[:1] or " "
        if kind == "+":
            out.append(DiffLine(position, hunk, kind, None, new, text))
            new += 1
        elif kind == "-":
            out.append(DiffLine(position, hunk, kind, old, None, text))
            old += 1
        elif kind == "\\":
            out.append(DiffLine(position, hunk, kind, None, None, text))
        else:
            out.append(DiffLine(position, hunk, " ", old, new, text))
            old, new = old + 1, new + 1
    return out
