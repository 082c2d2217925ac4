"""docs/github-action.md and the README: in step with action.yml and the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.action.inputs import MODES
from bot.fixpr.publish import BRANCH, Outcome
from bot.review.publish import MAX_COMMENTS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "github-action.md"
README = ROOT / "README.md"
USES = "org/container-bp-action@v1"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text("utf-8"))
    return data


def _section(text: str, heading: str) -> str:
    """The text under a ``## heading`` (or deeper), up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^{level} |\Z)", text, re.M | re.S)
    assert match is not None, f"no section {heading!r}"
    return match.group(1)


def _table(section: str) -> list[list[str]]:
    """Rows of the first Markdown table in ``section`` (header and rule left out)."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    return rows[2:]


def _unquote(cell: str) -> str:
    return cell[1:-1] if len(cell) >= 2 and cell[0] == cell[-1] == "`" else cell


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", _without_code(text), re.MULTILINE)}


def _without_code(text: str) -> str:
    return _FENCE.sub("", text)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_inputs_table_matches_action_yml(doc: str) -> None:
    inputs = _action()["inputs"]
    rows = _table(_section(doc, "## Inputs"))
    assert [_unquote(r[0]) for r in rows] == list(inputs)
    for row in rows:
        name = _unquote(row[0])
        assert _unquote(row[1]) == inputs[name]["default"], name


def test_outputs_table_matches_action_yml(doc: str) -> None:
    rows = _table(_section(doc, "## Outputs"))
    assert [_unquote(r[0]) for r in rows] == list(_action()["outputs"])


def test_every_input_and_output_is_mentioned(doc: str) -> None:
    action = _action()
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in doc, name


def test_modes_outcomes_and_constants_are_named(doc: str) -> None:
    for mode in MODES:
        assert f"`{mode}`" in doc, mode
    outcomes = _table(_section(doc, "## fix-pr"))
    assert {_unquote(r[0]) for r in outcomes} == {str(o) for o in Outcome}
    assert f"`{BRANCH}`" in doc
    assert f"At most {MAX_COMMENTS} new comments" in doc


@pytest.mark.parametrize("path", [DOC, README], ids=lambda p: p.name)
def test_workflow_snippets_parse_and_use_declared_inputs(path: Path) -> None:
    inputs = set(_action()["inputs"])
    blocks = [body for lang, body in _FENCE.findall(path.read_text("utf-8")) if lang == "yaml"]
    assert blocks
    for body in blocks:
        data = YAML(typ="safe").load(body)
        steps = data if isinstance(data, list) else []
        if isinstance(data, dict):
            steps = [s for job in data.get("jobs", {}).values() for s in job.get("steps", [])]
        for step in steps:
            if step.get("uses") == USES:
                assert set(step.get("with") or {}) <= inputs, step


@pytest.mark.parametrize("path", [DOC, README], ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = path.read_text("utf-8")
    for target in _LINK.findall(_without_code(text)):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.exists(), target
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text("utf-8")), target


def test_readme_quick_start_is_the_two_commands() -> None:
    quick = _section(README.read_text("utf-8"), "## Quick start")
    blocks = _FENCE.findall(quick)
    assert blocks[0] == ("sh", "bash .ci/demo\nbash .ci/run\n")


def test_readme_points_to_the_action_docs() -> None:
    text = README.read_text("utf-8")
    section = _section(text, "## GitHub Action")
    assert "(docs/github-action.md)" in section and "(examples/README.md)" in section
    assert f"uses: {USES}" in section
    # Near the top: right after the Quick start.
    headings = re.findall(r"^## (.+)$", _without_code(text), re.MULTILINE)
    assert headings.index("GitHub Action") == headings.index("Quick start") + 1
