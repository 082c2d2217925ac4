"""A one-line progress bar on stderr, only when stderr is a terminal and not in CI."""

from __future__ import annotations

import sys
import time
from types import TracebackType


class Progress:
    MIN_SECONDS = 0.5  # short runs never show a bar

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False

    def update(self, done: int, total: int, path: str) -> None:
        if not self.enabled or time.monotonic() - self.started < self.MIN_SECONDS:
            return
        width = 30
        filled = width * done // max(total, 1)
        name = path if len(path) <= 40 else "…" + path[-39:]
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name:<40}")
        sys.stderr.flush()
        self.shown = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 80 + "\r")
            sys.stderr.flush()
