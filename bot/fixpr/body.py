"""The fix pull request's title and body: every change, why it matters and how to opt out.

The body is Markdown for GitHub. Text that comes from the scanned files (paths, messages) is
escaped (``bot.markdown``) so that it cannot break a table, a code fence or the hidden state
marker, add HTML or mention anyone, and the body is kept under GitHub's size limit by leaving
out detail, never by cutting text mid-way.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Sequence

from bot import __version__
from bot.fixpr.state import PrState, encode
from bot.markdown import cell, code, fenced, table
from bot.report.text_report import unified_diff
from fixers.engine import allowed
from fixers.k8s.kind import IGNORE_ANNOTATION
from fixers.model import FileResult, Finding, FixSafety
from fixers.registry import find_rule
from fixers.rule import RuleDoc
from fixers.run import RunResult

MAX_DIFF_LINES = 200  # per file; longer diffs are cut at a line, outside the fence
REMAINING_ROWS = 50
CONFIG_FILE = ".container-bp.yml"
MAX_IGNORE_PATHS = 5  # more than this and a per-path ignore entry is no longer helpful

# The fenced-code language of each kind of file.
FENCE_LANG = {"dockerfile": "dockerfile", "shell": "sh", "k8s": "yaml", "compose": "yaml",
              "python": "python"}  # fmt: skip
# Where an inline ignore comment goes, by kind of file (see fixers/*/kind.py).
_COMMENT_WHERE = {
    "dockerfile": "on the line above the instruction",
    "shell": "on the line above the command",
    "python": "at the end of the line or on the line above it",
    "compose": "at the end of the line, or above the service's line",
    "k8s": "at the end of the line, or above the container's `- name:` line",
}

# -- Helpers ----------------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def rule_url(doc: RuleDoc, repo_url: str) -> str:
    """The rule's section of docs/rules.md (``## CBP101 unpinned-base-image`` headings)."""
    return f"{rule_docs(repo_url)}#{github_anchor(f'{doc.code} {doc.name}')}"


def rule_docs(repo_url: str) -> str:
    """docs/rules.md on the default branch of container-bp's repository."""
    return f"{repo_url.rstrip('/')}/blob/HEAD/docs/rules.md"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- What the body shows ----------------------------------------------------------------------


def _doc(code_: str) -> RuleDoc | None:
    rule = find_rule(code_)
    return rule.doc if rule is not None else None


def _rule_cell(code_: str, linked: bool) -> str:
    """The rule's code and name; linked through a reference (see ``_link_defs``), which keeps
    a long URL out of every row."""
    doc = _doc(code_)
    if doc is None:
        return cell(code_)
    label = f"{cell(doc.code)} {code(doc.name)}"
    return f"[{label}][{doc.code}]" if linked else label


def _link_defs(codes: Iterable[str], repo_url: str | None) -> str:
    if not repo_url:
        return ""
    found = (_doc(c) for c in sorted(set(codes)))
    return "\n".join(f"[{d.code}]: {rule_url(d, repo_url)}" for d in found if d is not None)


def _repo_path(file: FileResult) -> str:
    return file.source_path or file.path


def _by_line(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule))


def _applied_rows(result: RunResult) -> list[Finding]:
    return [f for r in result.files for f in _by_line(r.applied)]


def _remaining_rows(result: RunResult) -> list[Finding]:
    return [f for r in result.files for f in _by_line(r.remaining)]


def _hint(f: Finding, unsafe: bool) -> str:
    if f.suggestion:
        return f.suggestion
    if f.fix is not None and not allowed(f.fix.safety, unsafe):
        return "an unsafe fix exists (it may change behaviour); not applied"
    if f.fix is not None:
        return "a fix exists but was not applied (it did not verify)"
    return ""


def _more(n: int, where: str) -> str:
    return f"…and {n} more ({where})." if n > 0 else ""


def pr_title(result: RunResult) -> str:
    """E.g. ``container-bp: fix 7 container best-practice findings in 3 files``."""
    applied = sum(len(r.applied) for r in result.files)
    changed = sum(1 for r in result.files if r.changed)
    return (
        f"container-bp: fix {_plural(applied, 'container best-practice finding')} "
        f"in {_plural(changed, 'file')}"
    )


_KIND_WORDS = {"dockerfile": "Dockerfiles", "shell": "entrypoint scripts",
               "k8s": "Kubernetes manifests", "compose": "compose files",
               "python": "Python modules"}  # fmt: skip


def _intro(result: RunResult, unsafe: bool) -> str:
    applied = sum(len(r.applied) for r in result.files)
    changed = [r for r in result.files if r.changed]
    kinds = [w for k, w in _KIND_WORDS.items() if any(r.kind == k for r in changed)]
    what = f" ({', '.join(kinds)})" if kinds else ""
    safety = (
        "Safe fixes and unsafe ones (which may change what a container does) were applied: "
        "review each change."
        if unsafe
        else "Only safe fixes, which keep what the containers do, were applied."
    )
    return (
        f"This pull request fixes {_plural(applied, 'container best-practice finding')} in "
        f"{_plural(len(changed), 'file')}{what}. Each change is explained below: why it "
        f"matters, what the fix does and how to ignore the rule if you disagree. {safety} If "
        f"you close this pull request "
        f"without merging it, container-bp stops proposing these same changes; it opens a new "
        f"pull request only when the findings change."
    )


def _applied_table(rows: list[Finding], cap: int | None, linked: bool) -> str:
    if not rows:
        return ""
    shown = rows if cap is None else rows[:cap]
    body = table(
        ("Rule", "File", "Line", "What changed"),
        (
            (
                _rule_cell(f.rule, linked),
                cell(code(f.path)),
                str(f.line),
                cell(_sentence(f.fix.description) if f.fix and f.fix.description else f.message),
            )
            for f in shown
        ),
    )
    more = _more(len(rows) - len(shown), "see the **Files changed** tab")
    return "\n\n".join(p for p in ("## Changes", body, more) if p)


def _remaining_table(rows: list[Finding], cap: int, linked: bool, unsafe: bool) -> str:
    if not rows:
        return ""
    shown = rows[:cap]
    body = table(
        ("Rule", "File", "Line", "Problem", "Hint"),
        (
            (
                _rule_cell(f.rule, linked),
                cell(code(f.path)),
                str(f.line),
                cell(f.message),
                cell(_hint(f, unsafe)),
            )
            for f in shown
        ),
    )
    intro = (
        "These findings need a person (or an unsafe fix); they are not changed by this pull "
        "request."
    )
    more = _more(len(rows) - len(shown), "`container-bp scan` lists them all")
    parts = ("## Not fixed automatically", intro, body, more)
    return "\n\n".join(p for p in parts if p)


# -- Rule sections ----------------------------------------------------------------------------


def _gitignore_path(path: str) -> str:
    """A pattern (gitignore syntax, as ``ignore`` entries use) matching exactly ``path``."""
    escaped = re.sub(r"([\\*?\[\]!#])", r"\\\1", path)
    escaped = re.sub(r"( +)$", lambda m: "\\ " * len(m.group(1)), escaped)
    # Without a slash inside, a pattern matches at any depth: anchor it to the root.
    return escaped if "/" in path.rstrip("/") else "/" + escaped


def _yaml_str(text: str) -> str:
    """A double-quoted YAML scalar (JSON string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def config_disable_snippet(doc: RuleDoc) -> str:
    """``.container-bp.yml`` content that turns ``doc``'s rule off for the whole repository."""
    return f"rules:\n  disable: [{doc.code}]  # {doc.name}\n"


def config_ignore_snippet(doc: RuleDoc, paths: Sequence[str]) -> str:
    """``.container-bp.yml`` content that ignores ``doc``'s rule in exactly these files."""
    patterns = ", ".join(_yaml_str(_gitignore_path(p)) for p in paths)
    return f"ignore:\n  - paths: [{patterns}]\n    rules: [{doc.code}]  # {doc.name}\n"


def _safety(doc: RuleDoc, applied: list[Finding], unsafe: bool) -> str:
    safeties = {f.fix_safety for f in applied}
    if FixSafety.UNSAFE in safeties:
        word = (
            "unsafe: it may change what the container does, and was applied because unsafe "
            "fixes are enabled. Review it."
        )
    elif applied:
        word = "safe."
    elif doc.fix == FixSafety.NONE:
        word = "no automatic fix."
    elif doc.fix == FixSafety.UNSAFE and not unsafe:
        word = "unsafe, so it is not applied here (it is when unsafe fixes are enabled)."
    else:
        word = "no fix could be made here (see the table above)."
    # The notes say when the fix is safe: worth reading where a fix was made.
    return f"**Fix safety:** {word} {doc.fix_notes}" if applied else f"**Fix safety:** {word}"


def _ignore(doc: RuleDoc, paths: Sequence[str]) -> str:
    where = _COMMENT_WHERE.get(doc.kind, "on the line above it")
    parts = [
        f"**How to ignore it.** Add {code(f'# container-bp ignore={doc.code} <reason>')} "
        f"{where}, or {code(f'# container-bp ignore-file={doc.code}')} anywhere in the file "
        f"for the whole file."
    ]
    if doc.kind == "k8s":
        annotation = f"metadata:\n  annotations:\n    {IGNORE_ANNOTATION}: {_yaml_str(doc.code)}\n"
        parts += ["On a Kubernetes object (or its pod template), the annotation:"]
        parts += [fenced(annotation, "yaml")]
    parts += [
        f"To turn the rule off for the whole repository, in {code(CONFIG_FILE)}:",
        fenced(config_disable_snippet(doc), "yaml"),
    ]
    if paths and len(paths) <= MAX_IGNORE_PATHS:
        parts += [
            "or only in the files where it is reported here:",
            fenced(config_ignore_snippet(doc, paths), "yaml"),
        ]
    return "\n\n".join(parts)


def _details(summary: str, parts: Sequence[str]) -> str:
    """Collapsed Markdown: the blank lines let GitHub render what is inside."""
    return "\n\n".join([f"<details><summary>{summary}</summary>", *parts, "</details>"])


def _rule_section(
    doc: RuleDoc, applied: list[Finding], paths: Sequence[str], unsafe: bool, full: bool
) -> str:
    """Why the rule matters; in full, also (collapsed) its example, when its fix is safe and
    how to ignore it. Rules nothing was changed for get no example and no safety notes."""
    parts = [f"### {doc.code} {doc.name} — {doc.title}", f"**Why it matters.** {doc.why}"]
    if not full:
        return "\n\n".join(parts)
    more: list[str] = []
    if applied:
        lang = FENCE_LANG.get(doc.kind, "")
        more += ["**Example.** Before:", fenced(doc.before, lang)]
        if doc.after:
            more += ["After:", fenced(doc.after, lang)]
        summary = "Example, fix safety and how to ignore it"
    else:
        summary = "Fix safety and how to ignore it"
    more += [_safety(doc, applied, unsafe), _ignore(doc, paths)]
    return "\n\n".join([*parts, _details(summary, more)])


def _sections(result: RunResult, unsafe: bool, full: bool) -> str:
    """A section per rule in the body: first the rules of the changes, then the others."""
    applied: dict[str, list[Finding]] = {}
    paths: dict[str, list[str]] = {}
    for r in result.files:
        for f in [*r.applied, *r.remaining]:
            applied.setdefault(f.rule, [])
            if _repo_path(r) not in paths.setdefault(f.rule, []):
                paths[f.rule].append(_repo_path(r))
        for f in r.applied:
            applied[f.rule].append(f)
    fixed = sorted(c for c in applied if applied[c])
    others = sorted(c for c in applied if not applied[c])
    out: list[str] = []
    for heading, codes in (
        ("## Why these changes", fixed),
        ("## About the findings not fixed", others),
    ):
        docs = [d for d in map(_doc, codes) if d is not None]
        if docs:
            out.append(heading)
            out += [_rule_section(d, applied[d.code], paths[d.code], unsafe, full) for d in docs]
    return "\n\n".join(out)


# -- Diffs ------------------------------------------------------------------------------------


def _diff_block(file: FileResult) -> str:
    diff = unified_diff(file).splitlines()
    hunk = next((i for i, line in enumerate(diff) if line.startswith("@@")), len(diff))
    changed = sum(1 for line in diff[hunk:] if line[:1] in "+-")
    # A line break would let a blank line end the HTML block, and the rest be Markdown.
    path = html.escape(" ".join(file.path.splitlines()))
    summary = f"<code>{path}</code> ({_plural(changed, 'line')} changed)"
    note = ""
    if len(diff) > MAX_DIFF_LINES:
        note = (
            f"\n\n_The diff is cut after {MAX_DIFF_LINES} lines ({len(diff) - MAX_DIFF_LINES} "
            "more): see the **Files changed** tab._"
        )
        diff = diff[:MAX_DIFF_LINES]
    return (
        f"<details><summary>{summary}</summary>\n\n"
        f"{fenced(chr(10).join(diff), 'diff')}{note}\n\n</details>"
    )


def _diffs(blocks: list[str], omitted: int) -> str:
    if not blocks and not omitted:
        return ""
    note = ""
    if omitted:
        note = (
            f"_The diffs of {_plural(omitted, 'file')} are left out to keep this description "
            "within GitHub's size limit: see the **Files changed** tab._"
        )
    return "\n\n".join(p for p in ("## Diffs", *blocks, note) if p)


def _footer(repo_url: str | None) -> str:
    name = f"[container-bp]({repo_url.rstrip('/')})" if repo_url else "container-bp"
    how = (
        f"see [configuration]({repo_url.rstrip('/')}#configuration)"
        if repo_url
        else "`container-bp rules` lists every rule"
    )
    return (
        f"---\n\nGenerated by {name} {__version__}. Rules, severities, ignored paths and "
        f"options are set in {code(CONFIG_FILE)} at the repository root; {how}."
    )


# -- The body, within the limit ---------------------------------------------------------------


def pr_body(
    result: RunResult,
    *,
    state: PrState,
    repo_url: str | None = None,
    unsafe: bool = False,
    limit: int = 65_000,
) -> str:
    """The pull request body: intro, changes table, what was not fixed, a section per rule,
    a collapsed diff per file, footer, and the state marker last.

    ``repo_url``: container-bp's own repository (for links to docs/rules.md). GitHub rejects
    bodies over 65,536 characters: when the body would exceed ``limit``, the diffs go first,
    then the rule sections shrink to why each rule matters, then table rows are capped; the
    state marker always stays (alone, if even the intro does not fit).
    """
    applied = _applied_rows(result)
    remaining = _remaining_rows(result)
    intro = _intro(result, unsafe)
    footer = _footer(repo_url)
    marker = encode(state)
    changed = [r for r in result.files if r.changed]

    def assemble(
        rows: int | None, left: int, full: bool, blocks: list[str], omitted: int, note: str = ""
    ) -> str:
        linked = repo_url is not None
        shown = [f.rule for f in (applied if rows is None else applied[:rows])]
        shown += [f.rule for f in remaining[:left]]
        parts = [
            intro,
            note,
            _applied_table(applied, rows, linked),
            _remaining_table(remaining, left, linked, unsafe),
            _link_defs(shown, repo_url),
            _sections(result, unsafe, full),
            _diffs(blocks, omitted),
            footer,
            marker,
        ]
        return "\n\n".join(p for p in parts if p) + "\n"

    blocks = [_diff_block(r) for r in changed]
    body = assemble(None, REMAINING_ROWS, True, blocks, 0)
    if len(body) <= limit:
        return body

    # 1. Only the diffs that fit (a large one does not keep the smaller ones out).
    def with_diffs(kept: list[str], omitted: int) -> str:
        return assemble(None, REMAINING_ROWS, True, kept, omitted)

    base = with_diffs([], len(blocks))
    if len(base) <= limit:
        return _fit_diffs(base, limit, blocks, with_diffs)

    # 2. No diffs, and rule sections shrink to why each rule matters; 3. fewer table rows.
    how = "`container-bp explain CODE` shows a rule's full documentation"
    if repo_url:
        how = f"every rule's full documentation is in [docs/rules.md]({rule_docs(repo_url)})"
    short = (
        "_This description is shortened to fit GitHub's size limit: the diffs are in the "
        f"**Files changed** tab, and {how}._"
    )
    for rows in (None, 500, 200, 100, 50, 20, 10, 0):
        left = REMAINING_ROWS if rows is None else min(REMAINING_ROWS, rows)
        body = assemble(rows, left, False, [], 0, short)
        if len(body) <= limit:
            return body

    # 3. Only what must be there: what this is and the state.
    minimal = "\n\n".join([intro, short, footer, marker]) + "\n"
    if len(minimal) <= limit:
        return minimal
    return marker + "\n"


def _fit_diffs(
    base: str, limit: int, blocks: list[str], assemble: Callable[[list[str], int], str]
) -> str:
    """The body with as many diffs as fit, in file order, the others counted as left out."""
    budget = limit - len(base)
    kept: list[str] = []
    for block in blocks:
        if len(block) + 2 <= budget:
            kept.append(block)
            budget -= len(block) + 2
    while True:
        body = assemble(kept, len(blocks) - len(kept))
        if len(body) <= limit or not kept:
            return body
        kept.pop()  # the note's wording is a few characters longer than budgeted
