"""A rule's documentation as text, Markdown (Ruff's rule-page sections) and tables."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

from fixers.model import FixSafety
from fixers.rule import RuleDoc

SAFETY_WORDS = {
    FixSafety.SAFE: "safe fix (applied by `container-bp fix`)",
    FixSafety.UNSAFE: "unsafe fix (applied with `container-bp fix --unsafe`)",
    FixSafety.NONE: "no automatic fix",
}


def peers_text(doc: RuleDoc) -> str:
    return ", ".join(f"{tool} {', '.join(ids)}" for tool, ids in doc.peers.items()) or "none"


_WHERE = {
    "dockerfile": "on the line above the instruction",
    "shell": "on the line above the command",
    "python": "at the end of the line or on the line above it",
    "compose": "at the end of the line, or above the service's line",
    "k8s": (
        "at the end of the line, or above the container's `- name:` line, or the annotation "
        "`container-bp.io/ignore` on the object"
    ),
}


def ignore_text(doc: RuleDoc) -> str:
    where = _WHERE.get(doc.kind, "on the line above")
    return (
        f"`# container-bp ignore={doc.code} <reason>` {where}, "
        f"or `rules: {{disable: [{doc.name}]}}` in `.container-bp.yml`"
    )


FENCE = {"dockerfile": "dockerfile", "shell": "sh", "k8s": "yaml", "compose": "yaml",
         "python": "python"}  # fmt: skip


def explain_markdown(doc: RuleDoc, heading: str = "#") -> str:
    lang = FENCE.get(doc.kind, "")
    sub = heading + "#"
    parts = [
        f"{heading} {doc.code} {doc.name}",
        f"**{doc.title}** · {doc.kind} · default severity {doc.severity.value} · "
        f"{SAFETY_WORDS[doc.fix]}",
        f"{sub} What it does",
        doc.what,
        f"{sub} Why is this bad?",
        doc.why,
        f"{sub} Example",
        f"```{lang}\n{doc.before.rstrip()}\n```",
    ]
    if doc.after:
        parts += ["Use instead:", f"```{lang}\n{doc.after.rstrip()}\n```"]
    parts += [f"{sub} Fix safety", doc.fix_notes]
    if doc.options:
        opts = "\n".join(f"- `{k}` (default `{v!r}`)" for k, v in doc.options.items())
        parts += [f"{sub} Options", opts]
    parts += [f"{sub} How to ignore", ignore_text(doc)]
    parts += [f"{sub} Same check elsewhere", peers_text(doc)]
    if doc.references:
        parts += [f"{sub} References", "\n".join(f"- <{r}>" for r in doc.references)]
    return "\n\n".join(parts) + "\n"


def explain_text(doc: RuleDoc) -> str:
    def para(text: str) -> str:
        return textwrap.fill(text, width=88, initial_indent="  ", subsequent_indent="  ")

    def block(text: str) -> str:
        return textwrap.indent(text.rstrip(), "    ")

    lines = [
        f"{doc.code} {doc.name}: {doc.title}",
        f"  kind: {doc.kind}   severity: {doc.severity.value}   fix: {SAFETY_WORDS[doc.fix]}",
        "",
        "What it does",
        para(doc.what),
        "",
        "Why",
        para(doc.why),
        "",
        "Example",
        block(doc.before),
    ]
    if doc.after:
        lines += ["  Use instead:", block(doc.after)]
    lines += ["", "Fix safety", para(doc.fix_notes)]
    if doc.options:
        lines += ["", "Options"] + [f"  {k}: {v!r}" for k, v in doc.options.items()]
    lines += [
        "",
        "Ignore",
        para(ignore_text(doc)),
        "",
        "Same check elsewhere",
        "  " + peers_text(doc),
    ]
    if doc.references:
        lines += ["", "References"] + [f"  {r}" for r in doc.references]
    return "\n".join(lines)


def rules_table(all_docs: Sequence[RuleDoc], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [
                {
                    "code": d.code,
                    "name": d.name,
                    "kind": d.kind,
                    "title": d.title,
                    "severity": d.severity.value,
                    "fix": d.fix.value,
                    "peers": {k: list(v) for k, v in d.peers.items()},
                }
                for d in all_docs
            ],
            indent=2,
        )
    if fmt == "markdown":
        rows = ["| code | name | title | fix | same as |", "| --- | --- | --- | --- | --- |"]
        rows += [
            f"| {d.code} | `{d.name}` | {d.title} | {d.fix.value} | {peers_text(d)} |"
            for d in all_docs
        ]
        return "\n".join(rows)
    width = max((len(d.name) for d in all_docs), default=10)
    return "\n".join(f"{d.code}  {d.name:<{width}}  {d.fix.value:<6}  {d.title}" for d in all_docs)


def rules_reference(all_docs: Sequence[RuleDoc]) -> str:
    """docs/rules.md: the table, then every rule's page; generated, never edited by hand."""
    head = (
        "# Rules\n\n"
        "Generated from the rules' own documentation by "
        "`container-bp rules --format reference > docs/rules.md`; do not edit by hand.\n"
    )
    pages = "\n".join(explain_markdown(d, heading="##") for d in all_docs)
    return f"{head}\n{rules_table(all_docs, 'markdown')}\n\n{pages}"
