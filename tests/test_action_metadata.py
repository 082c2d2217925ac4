"""action.yml and the example workflows: valid for GitHub, and in step with the code."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.action.inputs import DEFAULTS, read_inputs
from bot.action.outputs import OUTPUTS

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
USES = "org/container-bp-action@v1"

# For each input, a valid value other than its default: reading it must change the result.
NON_DEFAULTS = {
    "github-token": "ghs_example",
    "mode": "review",
    "paths": "docker/\ndeploy/",
    "config": "ci/container-bp.yml",
    "unsafe-fixes": "true",
    "pin-digests": "false",
    "base-branch": "develop",
    "labels": "a, b",
    "dry-run": "TRUE",
    "org": "my-org",
    "repos": "my-org/api",
    "max-open-prs": "3",
    "sarif-file": "out.sarif",
    "upload-sarif": "True",
    "shard": "2/3",
    "state-file": ".container-bp-state.json",
}


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data: dict[str, Any] = _load(ACTION)
    return data


def _offline_env() -> dict[str, str]:
    # Any attempt to reach the network goes to a closed local port and fails at once.
    env = dict(os.environ)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[name] = "http://127.0.0.1:9"
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=_offline_env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert names >= {
        "push-fix-pr.yml",
        "pull-request-review.yml",
        "schedule-sweep.yml",
        "org-sweep-matrix.yml",
        "report-sarif.yml",
    }


def test_action_yml_matches_schema() -> None:
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-actions", ACTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_examples_match_workflow_schema() -> None:
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *EXAMPLES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_examples_pass_actionlint() -> None:
    # Without shellcheck on PATH, actionlint would skip the check silently; say so instead.
    shellcheck = [] if shutil.which("shellcheck") else ["-shellcheck="]
    proc = _run(BIN / "actionlint", "-pyflakes=", *shellcheck, *EXAMPLES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runs_the_action_subcommand_in_the_image(action: dict[str, Any]) -> None:
    assert action["runs"] == {"using": "docker", "image": "Dockerfile", "args": ["action"]}
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    entrypoints = re.findall(r"^ENTRYPOINT (.*)$", dockerfile, re.MULTILINE)
    assert entrypoints[-1] == '["dumb-init", "--", "container-bp"]'


def test_inputs_defaults_match_the_code(action: dict[str, Any]) -> None:
    inputs = action["inputs"]
    assert list(inputs) == list(DEFAULTS)
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert spec.get("default") == DEFAULTS[name], name
        # The runner hands every input over as a string; a YAML boolean here would be a slip.
        assert isinstance(spec["default"], str), name


def test_every_input_is_read(action: dict[str, Any]) -> None:
    assert set(NON_DEFAULTS) == set(action["inputs"])
    base = read_inputs({})
    for name, value in NON_DEFAULTS.items():
        changed = read_inputs({f"INPUT_{name.upper()}": value})
        diff = [
            f.name
            for f in dataclasses.fields(base)
            if getattr(base, f.name) != getattr(changed, f.name)
        ]
        field = "token" if name == "github-token" else name.replace("-", "_")
        assert diff == [field], name


def test_outputs_match_the_code(action: dict[str, Any]) -> None:
    outputs = action["outputs"]
    assert list(outputs) == list(OUTPUTS)
    for name, spec in outputs.items():
        # Docker actions declare outputs by description only; the step writes the values.
        assert set(spec) == {"description"}, name


def test_inputs_and_outputs_are_documented(action: dict[str, Any]) -> None:
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    for name in [*action["inputs"], *action["outputs"]]:
        assert re.search(rf"^\| `{re.escape(name)}` \|", readme, re.MULTILINE), name
    for example in EXAMPLES:
        assert f"workflows/{example.name}" in readme


def _action_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses") == USES
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_use_declared_inputs_and_outputs(example: Path, action: dict[str, Any]) -> None:
    workflow = _load(example)
    steps = _action_steps(workflow)
    assert steps, f"{example.name} does not use {USES}"
    for step in steps:
        assert set(step.get("with", {})) <= set(action["inputs"]), example.name
    text = example.read_text(encoding="utf-8")
    ids = {step["id"] for step in steps if "id" in step}
    for step_id, output in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
        if step_id in ids:
            assert output in action["outputs"], (example.name, output)
