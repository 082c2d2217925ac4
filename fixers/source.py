"""Where files come from. Everything downstream sees ``path -> text`` and nothing else.

``LocalSource`` walks a directory; a GitHub tree is another implementation of the same shape.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pathspec

MAX_FILE_BYTES = 1024 * 1024
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "vendor", "third_party", ".venv", "venv",
     "__pycache__", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)  # fmt: skip


class Unreadable(Exception):
    """A file that exists but is not analysed: too large, binary, not UTF-8, outside the root."""


class Source(Protocol):
    def walk(self, under: str = "") -> Iterator[str]:
        """Repository-relative POSIX paths of the files to consider (below ``under``)."""
        ...

    def read_text(self, path: str) -> str:
        """The file decoded exactly (line endings kept); raises Unreadable, FileNotFoundError."""
        ...


def decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    if b"\0" in data:
        raise Unreadable("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None


class LocalSource:
    """A directory on disk. Never follows a symlink out of it; honours .gitignore files."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        return True

    def walk(self, under: str = "") -> Iterator[str]:
        """Files below ``under`` (a repository-relative folder; "" for all), .gitignore applied
        from the root down."""
        under = under.strip("/")

        def on_the_way(rel: str) -> bool:
            return (
                not under
                or rel == under
                or rel.startswith(under + "/")
                or (under.startswith(rel + "/"))
            )

        specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            prefix = "" if rel_dir == "." else rel_dir + "/"
            ignore_file = Path(dirpath) / ".gitignore"
            if ignore_file.is_file() and not ignore_file.is_symlink():
                try:
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    specs.append((prefix, pathspec.GitIgnoreSpec.from_lines(lines)))
                except OSError:
                    pass

            def ignored(rel: str, is_dir: bool) -> bool:
                probe = rel + "/" if is_dir else rel
                return any(
                    probe.startswith(base) and spec.match_file(probe[len(base) :])
                    for base, spec in specs
                )

            # Symlinked directories are not entered: they can loop or leave the repository.
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in SKIP_DIRS
                and on_the_way(prefix + d)
                and not (Path(dirpath) / d).is_symlink()
                and not ignored(prefix + d, True)
            )
            for name in sorted(filenames):
                rel = prefix + name
                if under and not rel.startswith(under + "/"):
                    continue
                if not ignored(rel, False):
                    yield rel

    def read_text(self, path: str) -> str:
        full = self.root / path
        if not full.exists() and not full.is_symlink():
            raise FileNotFoundError(path)
        # Any component may be a link (a linked folder too): the real path must stay inside.
        if not self._inside(full):
            raise Unreadable("symlink pointing outside the repository")
        try:
            size = full.stat().st_size
            if size > MAX_FILE_BYTES:
                raise Unreadable(f"larger than {MAX_FILE_BYTES // 1024} KiB ({size} bytes)")
            data = full.read_bytes()
        except OSError as exc:
            raise Unreadable(f"cannot read: {exc.strerror}") from None
        return decode(data)

    def write_text(self, path: str, text: str) -> None:
        """Atomic: write a temporary file beside the target, then rename over it."""
        full = self.root / path
        if not self._inside(full):
            raise Unreadable(f"{path}: not written: it resolves outside the repository")
        full = full.resolve()
        mode = full.stat().st_mode & 0o7777 if full.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{full.name}.", suffix=".tmp", dir=full.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, full)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
