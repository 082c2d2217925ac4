"""checkov as an oracle on every fixed Kubernetes golden case: the checks our rule maps to
(its ``peers["checkov"]``) that checkov reported on the input must be gone from the fixed file,
and the fix must not make any check fail that did not before.

- One checkov run (``--framework kubernetes --skip-download --compact -o json -d DIR``) over a
  temporary folder holding every case's ``input`` and ``expected``; results are mapped back by
  file name. Not ``--quiet``: the passed checks tell which files and resources checkov read, so
  a fixed file checkov can no longer parse does not pass as "no failed checks".
- "New" is counted per check id: a check fails on more resources of the fixed file than of the
  input. Resource ids (``Kind.namespace.name``) are not compared, since a fix may change the
  kind (a bare Pod turned into a Deployment) or the namespace.
- checkov lives in its own venv (its pinned dependencies clash with ours): ``.venv-checkov``,
  made by ``.ci/checkov.sh``; ``CHECKOV_BIN`` points elsewhere. Without it the test is skipped,
  unless ``CHECKOV_BIN`` is set (as ``.ci/test`` does), when a missing binary is a failure.
- Accepted exceptions go in the case's ``case.json``:
  ``"checkov_keeps": {"CKV_K8S_x": "why"}`` names checks that may stay failing or newly fail on
  the fixed file (e.g. a check outside what the rule can fix); ``ACCEPTED`` below does the
  same for every case. Keep both short.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fixers.registry import find_rule
from tests.golden import Case, cases

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = os.environ.get("CHECKOV_BIN") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
ARGS = ("--framework", "kubernetes", "--skip-download", "--compact", "-o", "json")
# New failing checks a fix may bring in every case, with the reason it is accepted.
ACCEPTED: dict[str, str] = {}


def _is_fixed_k8s(case: Case) -> bool:
    rule = find_rule(case.rule)
    return (
        case.failing
        and case.expected is not None
        and rule is not None
        and rule.doc.kind == "k8s"
        and case.meta.get("kind", "k8s") == "k8s"
    )


CASES = [c for c in cases() if _is_fixed_k8s(c)]
PARAMS = [pytest.param(c, id=c.id) for c in CASES] or [
    pytest.param(
        None,
        id="no-k8s-cases",
        marks=pytest.mark.skip(reason="no fixed golden case of a Kubernetes rule yet"),
    )
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        "CHECKOV_BIN" not in os.environ and not Path(CHECKOV).exists(),
        reason="checkov missing: bash .ci/test installs it in .venv-checkov (or set CHECKOV_BIN)",
    ),
]


@dataclass
class Report:
    """What checkov said about one file."""

    resources: set[str] = field(default_factory=set)  # every resource it evaluated
    failed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # id -> res

    @property
    def counts(self) -> Counter[str]:
        return Counter({check: len(res) for check, res in self.failed.items()})


def _reports(data: Any) -> list[dict[str, Any]]:
    # One framework gives one report (or, with nothing scanned, a bare summary); several, a list.
    items = data if isinstance(data, list) else [data]
    return [r for r in items if isinstance(r, dict) and isinstance(r.get("results"), dict)]


@pytest.fixture(scope="module")
def checkov(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Report]:
    """checkov's findings on every case's input and expected, from one checkov run."""
    if not Path(CHECKOV).exists():
        pytest.fail(f"CHECKOV_BIN={CHECKOV} does not exist")
    root = tmp_path_factory.mktemp("checkov")
    files: dict[str, tuple[str, str]] = {}
    for n, case in enumerate(CASES):
        for which in ("input", "expected"):
            target = root / f"{n}-{which}.yaml"
            target.write_bytes((case.folder / which).read_bytes())
            files[target.name] = (case.id, which)
    out = subprocess.run(
        [CHECKOV, *ARGS, "-d", str(root)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,  # no .checkov.yaml of ours or anyone's is picked up
        timeout=600,
    )
    if out.returncode not in (0, 1):  # 1: some check failed
        pytest.fail(f"checkov exited {out.returncode}:\n{out.stderr[-3000:]}")
    found: dict[tuple[str, str], Report] = defaultdict(Report)
    for report in _reports(json.loads(out.stdout or "[]")):
        results = report["results"]
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for item in results.get(kind, []):
                key = files.get(Path(item.get("file_abs_path") or item["file_path"]).name)
                if key is None:
                    continue
                found[key].resources.add(item["resource"])
                if kind == "failed_checks":
                    found[key].failed[item["check_id"]].add(item["resource"])
    return found


@pytest.mark.parametrize("case", PARAMS)
def test_fix_passes_checkov(case: Case, checkov: dict[tuple[str, str], Report]) -> None:
    before, after = checkov[(case.id, "input")], checkov[(case.id, "expected")]
    if not before.resources:
        pytest.skip("checkov reads no Kubernetes resource in the input: no oracle here")
    assert len(after.resources) >= len(before.resources), (
        f"checkov reads {len(after.resources)} resources in the fixed file, "
        f"{len(before.resources)} in the input (it cannot parse the fixed file?): "
        f"{sorted(after.resources)}"
    )
    keeps = case.meta.get("checkov_keeps", {})
    assert isinstance(keeps, dict), 'checkov_keeps is {"CKV_K8S_x": "why"}'
    accepted = set(keeps) | set(ACCEPTED)
    new = {
        check: sorted(after.failed.get(check, ()))
        for check in after.counts - before.counts
        if check not in accepted
    }
    assert not new, f"the fix makes checkov checks fail (check: resources): {new}"
    rule = find_rule(case.rule)
    assert rule is not None
    targeted = set(rule.doc.peers.get("checkov", ())) & set(before.failed) - accepted
    still = {check: sorted(after.failed[check]) for check in targeted & set(after.failed)}
    assert not still, (
        f"still reported by checkov (check: resources): {still}; if the fix leaves this on "
        'purpose, say why in case.json: "checkov_keeps": {"CKV_K8S_x": "why"}'
    )
