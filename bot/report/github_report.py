"""The report for GitHub Actions logs: one workflow command (an annotation) per finding.

GitHub parses ``::KIND key=value,...::message`` lines; values and messages are escaped as the
Actions toolkit does (``@actions/core`` ``escapeData``/``escapeProperty``) so that a path with
a comma or a message with a newline cannot break out of its field.
"""

from __future__ import annotations

from bot.report import text_report
from bot.report.text_report import unified_diff
from fixers.model import Finding, Severity
from fixers.registry import find_rule
from fixers.run import RunResult

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    # The runner also reads the legacy `##[command]` form anywhere in a line: break it up so
    # text from a repository cannot issue a command (add-mask, say) of its own.
    value = value.replace("##[", "#\u2060#[")
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(f: Finding, explain: bool) -> str:
    rule = find_rule(f.rule)
    title = f"{f.rule} {rule.doc.name}" if rule is not None else f.rule
    message = f.message
    if f.suggestion and not f.fix:
        message += f"\nhint: {f.suggestion}"
    if explain and rule is not None:
        message += f"\nwhy: {rule.doc.why}"
    return command(
        COMMANDS[f.severity],
        message,
        file=f.path,
        line=f.line,
        endLine=max(f.end_line, f.line),
        col=f.column,
        title=title,
    )


def summary_line(result: RunResult, *, fixing: bool, diff: bool, unsafe: bool) -> str:
    # The text report owns the summary's wording; its last line is the summary.
    text = text_report.render(result, explain=False, fixing=fixing, diff=diff, unsafe=unsafe)
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def render(result: RunResult, *, explain: bool, fixing: bool, diff: bool, unsafe: bool) -> str:
    out: list[str] = []
    for file_result in result.files:
        if fixing and diff and file_result.changed:
            # Folded in the log; diff lines start with ' ', '+', '-' or '@', never '::'.
            out.append(f"::group::diff {escape_data(file_result.path)}")
            out.append(unified_diff(file_result).rstrip("\n"))
            out.append("::endgroup::")
        for why in file_result.rejected:
            out.append(command("warning", f"fix not applied: {why}", file=file_result.path))
        for f in file_result.remaining if fixing else file_result.findings:
            out.append(annotation(f, explain))
    for skipped in result.skipped:
        out.append(command("warning", f"skipped: {skipped.reason}", file=skipped.path))
    out.append(summary_line(result, fixing=fixing, diff=diff, unsafe=unsafe))
    return "\n".join(out) + "\n"
