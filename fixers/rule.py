"""What a rule is: its documentation (the one source every report draws on) and its check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from fixers.facts import Facts
from fixers.model import Edit, Finding, Fix, FixSafety, Severity

DocT = TypeVar("DocT")


@dataclass(frozen=True)
class RuleDoc:
    """Everything a person needs to know about a rule, written once.

    Feeds ``container-bp explain``, ``container-bp rules``, SARIF ``help``, PR bodies and
    review comments; the sections follow Ruff's rule pages.
    """

    code: str  # stable id, e.g. "CBP101"
    name: str  # kebab-case alias, e.g. "unpinned-base-image"
    kind: str  # the kind of file it checks: "dockerfile", "shell", ...
    title: str  # one line, imperative: what good looks like
    what: str  # what it does
    why: str  # why it matters
    before: str  # example that triggers it
    after: str | None  # the same example fixed (None for detect-only rules)
    fix: FixSafety  # the safety of the fix it offers
    fix_notes: str  # when the fix is safe, and what it will not do
    severity: Severity = Severity.WARNING
    references: tuple[str, ...] = ()
    # Ids of the same check in other tools, so their ignore comments count: {"hadolint": (...)}.
    peers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)  # defaults, overridable in config

    @property
    def peer_ids(self) -> tuple[str, ...]:
        return tuple(i for ids in self.peers.values() for i in ids)

    def matches(self, selector: str) -> bool:
        s = selector.strip()
        return s.upper() == self.code or s.lower() == self.name


@dataclass
class Context(Generic[DocT]):
    """What a check may see: the parsed document, its path, options and gathered facts."""

    path: str
    doc: DocT
    options: Mapping[str, Any]
    facts: Facts = field(default_factory=Facts)


class Rule(Generic[DocT]):
    """A check over one kind of document; subclasses set ``doc`` and implement ``check``.

    A check is pure: it reads the context and yields findings (with fixes as text edits). It
    never touches the network, the disk or GitHub.
    """

    doc: ClassVar[RuleDoc]
    # A fix that restructures the file goes before the others in a fix run: edits made first
    # by other rules could rule it out (CBP113 splits the build before init and USER land).
    fix_first: ClassVar[bool] = False

    def check(self, ctx: Context[DocT]) -> Iterable[Finding]:
        raise NotImplementedError

    def option(self, ctx: Context[DocT], key: str) -> Any:
        if key in ctx.options:
            return ctx.options[key]
        return self.doc.options[key]

    def finding(
        self,
        ctx: Context[DocT],
        line: int,
        message: str,
        *,
        end_line: int | None = None,
        edits: Iterable[Edit] = (),
        safety: FixSafety | None = None,
        fix_description: str = "",
        suggestion: str | None = None,
        column: int = 1,
        severity: Severity | None = None,
    ) -> Finding:
        """Build a finding; ``edits`` make it fixable (with the rule's safety unless given)."""
        edit_tuple = tuple(edits)
        fix = None
        if edit_tuple:
            fix = Fix(edit_tuple, safety or self.doc.fix, fix_description or self.doc.title)
        return Finding(
            rule=self.doc.code,
            path=ctx.path,
            line=line,
            end_line=end_line if end_line is not None else line,
            message=message,
            severity=severity or self.doc.severity,
            fix=fix,
            suggestion=suggestion,
            column=column,
        )
