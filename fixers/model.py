"""The values that flow through the pipeline: edits, fixes and findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class FixSafety(StrEnum):
    """Ruff's vocabulary: a safe fix keeps what the image does; an unsafe one may change it."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    NONE = "none"


@dataclass(frozen=True, order=True)
class Edit:
    """Replace ``text[start:end]`` (character offsets into the decoded file) with ``new``."""

    start: int
    end: int
    new: str

    def overlaps(self, other: Edit) -> bool:
        # Half-open ranges; two insertions at one point do not overlap (they apply in order).
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Fix:
    """All edits of one fix apply together or not at all."""

    edits: tuple[Edit, ...]
    safety: FixSafety
    description: str

    def overlaps(self, other: Fix) -> bool:
        return any(a.overlaps(b) for a in self.edits for b in other.edits)


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int
    end_line: int
    message: str
    severity: Severity
    fix: Fix | None = None
    # A fix the rule knows of but cannot write (it needs a resolver, or a human): shown as a hint.
    suggestion: str | None = None
    column: int = 1

    @property
    def fix_safety(self) -> FixSafety:
        return self.fix.safety if self.fix else FixSafety.NONE


@dataclass(frozen=True)
class Skipped:
    """A file that was found but not analysed, and why."""

    path: str
    reason: str


@dataclass
class FileResult:
    path: str
    kind: str
    findings: list[Finding] = field(default_factory=list)
    original: str | None = None
    fixed: str | None = None
    # Fixes that were dropped because the result did not re-parse or the rule still fired.
    rejected: list[str] = field(default_factory=list)
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)  # what is left after fixing
    # The same, located in the original text (for `fix --diff`, where nothing is written).
    remaining_at_original: list[Finding] = field(default_factory=list)
    source_path: str = ""  # the path inside its source, for writing back

    @property
    def changed(self) -> bool:
        return self.fixed is not None and self.fixed != self.original
