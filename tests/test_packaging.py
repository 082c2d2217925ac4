"""Packaging: the pre-commit hooks, ``python -m bot`` and the console-script entry point."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot import __version__
from fixers.discover import kind_of

ROOT = Path(__file__).resolve().parent.parent


def _hooks() -> dict[str, dict[str, Any]]:
    data = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return {hook["id"]: hook for hook in data}


def test_pre_commit_hooks_ids_and_entries() -> None:
    hooks = _hooks()
    assert set(hooks) == {"container-bp-scan", "container-bp-fix"}
    assert hooks["container-bp-scan"]["entry"] == "container-bp scan"
    assert hooks["container-bp-fix"]["entry"] == "container-bp fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True
        assert hook["name"]


DOCKERFILES = [
    "Dockerfile",
    "app.Dockerfile",
    "Dockerfile.dev",
    "svc/Containerfile",
    "svc/api/Dockerfile",
    "build.dockerfile",
    "Containerfile.prod",
]
NOT_DOCKERFILES = [
    "Dockerfile.md",
    "README.md",
    "docs/Dockerfile.md",
    "Dockerfile.dockerignore",
    "Dockerfile.prod.yml",
    "Dockerfile.bak",
    "MyDockerfileNotes",
    "Dockerfiles/README",
    "app.py",
]


@pytest.mark.parametrize("hook_id", ["container-bp-scan", "container-bp-fix"])
@pytest.mark.parametrize("path", DOCKERFILES)
def test_pre_commit_files_regex_matches_dockerfiles(hook_id: str, path: str) -> None:
    # pre-commit applies `files` with re.search to the path relative to the repository root.
    assert re.search(_hooks()[hook_id]["files"], path), path


@pytest.mark.parametrize("hook_id", ["container-bp-scan", "container-bp-fix"])
@pytest.mark.parametrize("path", NOT_DOCKERFILES)
def test_pre_commit_files_regex_skips_other_files(hook_id: str, path: str) -> None:
    assert not re.search(_hooks()[hook_id]["files"], path), path


@pytest.mark.parametrize("path", DOCKERFILES + NOT_DOCKERFILES)
def test_pre_commit_files_regex_agrees_with_discovery(path: str) -> None:
    pattern = _hooks()["container-bp-scan"]["files"]
    assert bool(re.search(pattern, path)) == (kind_of(path) == "dockerfile"), path


def test_python_m_bot_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_console_script_entry_point_is_importable() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = pyproject["project"]["scripts"]["container-bp"]
    module_name, _, attr = target.partition(":")
    assert module_name and attr, target
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    assert callable(obj)
