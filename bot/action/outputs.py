"""What the action hands back to the runner: step outputs, the job summary, annotations, masks.

Each writer takes the file's path from the runner's environment (``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``) and does nothing when it is ``None``, so the action also runs off a
runner.
"""

# No `from __future__ import annotations`: its name would clash with `annotations()` below,
# and Python 3.11 evaluates every annotation here without it.
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.report.github_report import COMMANDS, annotation, command
from fixers.model import Finding

# The outputs action.yml declares (a test holds them together).
OUTPUTS = ("findings", "fixable", "pr-number", "pr-url", "sarif-file")
# GitHub drops a step summary larger than this (and shows an error instead).
SUMMARY_LIMIT = 1024 * 1024
# GitHub shows at most this many annotations of each kind (error, warning, notice) per step.
ANNOTATION_LIMIT = 10

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _output_entry(name: str, value: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"output name {name!r}: use letters, digits, '-' and '_'")
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    # A fresh random delimiter per value, as @actions/core does, so no value can end it early.
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    if delimiter in value:
        raise ValueError(f"output {name!r}: value contains the delimiter {delimiter}")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_outputs(path: str | os.PathLike[str] | None, values: Mapping[str, str]) -> None:
    """Append step outputs to the ``GITHUB_OUTPUT`` file; multi-line values as heredocs."""
    if path is None:
        return
    text = "".join(_output_entry(name, value) for name, value in values.items())
    # newline="": the runner reads the bytes as written; no newline translation.
    with Path(path).open("a", encoding="utf-8", newline="") as out:
        out.write(text)


def _truncate(markdown: str, budget: int) -> str:
    """The longest prefix of whole lines (else characters) within ``budget`` UTF-8 bytes."""
    head = markdown.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    return head[: cut + 1] if cut >= 0 else head


def _close_fence(head: str) -> str:
    """What to add so that an open code fence does not swallow what follows."""
    fences = sum(1 for line in head.splitlines() if line.lstrip().startswith("```"))
    if fences % 2 == 0:
        return ""
    return "```\n" if head.endswith("\n") else "\n```\n"


def _note(limit: int, omitted: int) -> str:
    shown = f"{limit // 1024 // 1024} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
    return (
        f"\n> [!NOTE]\n> Summary cut short: GitHub shows at most {shown} per step;"
        f" {omitted} bytes were left out.\n"
    )


def append_summary(
    path: str | os.PathLike[str] | None, markdown: str, *, limit: int = SUMMARY_LIMIT
) -> None:
    """Append markdown to the step summary, cut short with a note where it would pass the
    size GitHub accepts (what the file already holds counts)."""
    if path is None:
        return
    file = Path(path)
    used = file.stat().st_size if file.exists() else 0
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    size = len(text.encode("utf-8"))
    if used + size > limit:
        # Reserve room for the longest note (the count can only shrink) and a closing fence.
        budget = limit - used - len(_note(limit, size).encode("utf-8")) - len("\n```\n")
        head = _truncate(text, budget) if budget > 0 else ""
        omitted = size - len(head.encode("utf-8"))
        text = head + _close_fence(head) + _note(limit, omitted) if budget > 0 else ""
    if text:
        with file.open("a", encoding="utf-8", newline="") as out:
            out.write(text)


def annotations(
    findings: Iterable[Finding],
    limit: int = ANNOTATION_LIMIT,
    *,
    explain: bool = False,
    more_in: str = "the job summary",
) -> list[str]:
    """Annotation lines for the findings, at most ``limit`` of each kind, then one notice
    counting those left out (it takes one of the notices' places)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    by_kind: dict[str, list[Finding]] = {}
    ordered = list(findings)
    for f in ordered:
        by_kind.setdefault(COMMANDS[f.severity], []).append(f)
    caps = {kind: limit for kind in ("error", "warning", "notice")}
    if any(len(group) > limit for group in by_kind.values()):
        caps["notice"] = limit - 1
    hidden = {kind: max(0, len(group) - caps[kind]) for kind, group in by_kind.items()}
    shown = {id(f) for kind, group in by_kind.items() for f in group[: caps[kind]]}
    lines = [annotation(f, explain) for f in ordered if id(f) in shown]
    total = sum(hidden.values())
    if total:
        words = {"error": "errors", "warning": "warnings", "notice": "notices"}
        detail = ", ".join(f"{n} {words[kind]}" for kind, n in hidden.items() if n)
        lines.append(
            command(
                "notice",
                f"{total} more finding{'s' if total != 1 else ''} ({detail}) not shown as "
                f"annotations: GitHub shows at most {limit} of each kind per step. "
                f"See {more_in}.",
                title="container-bp",
            )
        )
    return lines


# The same, under a name that does not clash with `from __future__ import annotations`.
annotation_lines = annotations


def mask(value: str) -> str:
    """The workflow command that makes the runner hide ``value`` in logs; ``""`` for ``""``."""
    return command("add-mask", value) if value else ""
