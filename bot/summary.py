"""The Actions job summary (``$GITHUB_STEP_SUMMARY``): counts, findings, files not checked."""

from __future__ import annotations

from collections.abc import Sequence

from bot.markdown import cell, code, table
from fixers.model import Finding, FixSafety, Severity, Skipped
from fixers.registry import find_rule
from fixers.run import RunResult

SUMMARY_LIMIT = 1_000_000  # GitHub takes at most 1 MiB per step summary
FINDING_ROWS = 200
LIST_ROWS = 50
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _rule(code_: str) -> str:
    rule = find_rule(code_)
    return f"{cell(code_)} {code(rule.doc.name)}" if rule is not None else cell(code_)


def _fixable(f: Finding) -> str:
    return {FixSafety.SAFE: "yes", FixSafety.UNSAFE: "yes (unsafe)", FixSafety.NONE: "no"}[
        f.fix_safety
    ]


def _more(n: int) -> str:
    return f"…and {n} more." if n > 0 else ""


def _findings(rows: Sequence[tuple[Finding, str]], cap: int) -> str:
    if not rows:
        return ""
    shown = rows[:cap]
    body = table(
        ("Rule", "Location", "Severity", "Fixable"),
        (
            (_rule(f.rule), cell(code(f"{f.path}:{f.line}")), f.severity.value, cell(status))
            for f, status in shown
        ),
    )
    return "\n\n".join(p for p in ("### Findings", body, _more(len(rows) - len(shown))) if p)


def _files(heading: str, items: Sequence[Skipped], cap: int) -> str:
    if not items:
        return ""
    lines = [f"- {cell(code(s.path))}: {cell(s.reason)}" for s in items[:cap]]
    return "\n\n".join(p for p in (heading, "\n".join(lines), _more(len(items) - cap)) if p)


def job_summary(
    result: RunResult,
    *,
    mode: str,
    pr_url: str | None = None,
    outside: int = 0,
    limit: int = SUMMARY_LIMIT,
) -> str:
    """Markdown for the job summary of a run in ``mode`` (scan, fix, review...).

    In a run that fixed, the table lists what was fixed and what is left; a review changes
    nothing, so there the fixes are "suggested". ``outside``: the findings this run leaves out
    (in a review, those outside the changed lines, which get no comment). Rows are capped so
    that the summary stays under ``limit`` bytes.
    """
    review = mode == "review"
    done = "suggested" if review else "fixed"
    fixing = any(r.fixed is not None for r in result.files)
    found = result.findings
    applied = [f for r in result.files for f in r.applied]
    remaining = [f for r in result.files for f in r.remaining]
    fixable = sum(1 for f in found if f.fix is not None)

    rows: list[tuple[Finding, str]]
    if fixing:
        rows = [(f, done) for f in applied] + [(f, _fixable(f)) for f in remaining]
    else:
        rows = [(f, _fixable(f)) for f in found]
    rows.sort(key=lambda r: (r[1] != done, _ORDER[r[0].severity], r[0].path, r[0].line))

    header = ["Files checked", "Findings", "Fixable"]
    counts = [len(result.files), len(found), fixable]
    if fixing:
        header += [done.capitalize(), "Left"]
        counts += [len(applied), len(remaining)]
    head = [f"## container-bp {mode}"]
    if pr_url:
        head.append(f"**Pull request:** <{pr_url}>")
    head.append(table(header, [[str(n) for n in counts]]))
    if outside and review:
        # A review's table has every finding of the changed files; only those on changed
        # lines are commented.
        head.append(
            "1 of these findings is on a line this pull request does not change, so it is not"
            " commented."
            if outside == 1
            else f"{outside} of these findings are on lines this pull request does not change,"
            " so they are not commented."
        )
    elif outside:
        head.append(
            f"{outside} more finding{'s' if outside != 1 else ''} outside the changed lines "
            "are not listed."
        )
    if not found and not applied and not result.skipped and not result.errors:
        head.append("No findings.")

    def render(cap: int, list_cap: int) -> str:
        parts = [
            *head,
            _findings(rows, cap),
            _files("### Files not checked", result.skipped, list_cap),
            _files("### Errors", result.errors, list_cap),
        ]
        return "\n\n".join(p for p in parts if p) + "\n"

    text = ""
    for cap in (FINDING_ROWS, 100, 50, 20, 10, 0):
        text = render(cap, min(cap, LIST_ROWS))
        if len(text.encode("utf-8")) <= limit:
            return text
    return "\n\n".join(head) + "\n"
