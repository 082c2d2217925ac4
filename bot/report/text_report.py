"""The report for people at a terminal."""

from __future__ import annotations

import difflib
import textwrap

from fixers.engine import allowed
from fixers.model import FileResult, Finding, FixSafety
from fixers.registry import find_rule
from fixers.run import RunResult


def _why(rule_code: str) -> str:
    rule = find_rule(rule_code)
    if rule is None:
        return ""
    return textwrap.fill(rule.doc.why, width=88, initial_indent="    why: ",
                         subsequent_indent="         ")  # fmt: skip


def _line(f: Finding, explain: bool) -> list[str]:
    fix = f" [fix: {f.fix_safety.value}]" if f.fix else ""
    out = [f"{f.path}:{f.line}:{f.column}: {f.rule} {f.severity.value}: {f.message}{fix}"]
    if f.suggestion and not f.fix:
        out.append(f"    hint: {f.suggestion}")
    if explain:
        out.append(_why(f.rule))
    return out


def unified_diff(file_result: FileResult) -> str:
    before = (file_result.original or "").splitlines(keepends=True)
    after = (file_result.fixed or "").splitlines(keepends=True)
    lines = difflib.unified_diff(
        before, after, fromfile=f"a/{file_result.path}", tofile=f"b/{file_result.path}"
    )
    out = []
    for line in lines:
        # Show CRLF files readably; the bytes written keep their endings.
        out.append(line.replace("\r\n", "\n") if line.endswith("\r\n") else line)
        if not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
    return "".join(out)


def render(result: RunResult, *, explain: bool, fixing: bool, diff: bool, unsafe: bool) -> str:
    out: list[str] = []
    for file_result in result.files:
        if fixing:
            for f in file_result.applied:
                out.append(f"{f.path}:{f.line}: fixed {f.rule}: {f.message}")
                if explain:
                    out.append(_why(f.rule))
            if diff and file_result.changed:
                out.append(unified_diff(file_result).rstrip("\n"))
            for reason in file_result.rejected:
                out.append(f"{file_result.path}: fix not applied: {reason}")
            for f in file_result.remaining:
                out.extend(_line(f, explain))
        else:
            for f in file_result.findings:
                out.extend(_line(f, explain))
    for skipped in result.skipped:
        out.append(f"{skipped.path}: skipped: {skipped.reason}")

    files = len(result.files)
    if fixing:
        applied = sum(len(r.applied) for r in result.files)
        remaining = [f for r in result.files for f in r.remaining]
        changed = sum(1 for r in result.files if r.changed)
        verb = "would fix" if diff else "fixed"
        summary = (
            f"{verb} {applied} finding(s) in {changed} file(s); {len(remaining)} left "
            f"in {files} file(s) scanned, {len(result.skipped)} skipped"
        )
        hidden = sum(1 for f in remaining if f.fix and not allowed(f.fix.safety, unsafe))
        if hidden:
            summary += f"; {hidden} more fixable with --unsafe"
    else:
        findings = result.findings
        fixable = sum(1 for f in findings if f.fix_safety != FixSafety.NONE)
        summary = (
            f"{len(findings)} finding(s) ({fixable} fixable) in {files} file(s) scanned, "
            f"{len(result.skipped)} skipped"
        )
    out.append(summary)
    return "\n".join(line for line in out if line) + "\n"
