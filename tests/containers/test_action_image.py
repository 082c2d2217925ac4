"""The action's own image, built from the project's Dockerfile and run the way GitHub's runner
runs a container action: as root, with the workspace and the file-command files owned by the
runner's user, against a GitHub API (the double) on the host's loopback."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot_support import demo_files
from tests.containers.conftest import containers  # noqa: F401 (the fixture)
from tests.containers.harness import ContainerEnv, Image
from tests.github_double import GitHubDouble

pytestmark = [pytest.mark.containers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RUNNER_UID = 1001  # the user GitHub's hosted runners run as
HOST_CAS = Path("/usr/local/share/ca-certificates")


@pytest.fixture(scope="module")
def python_base(containers: ContainerEnv, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    """The Dockerfile's base is python:3.12-slim-bookworm by digest, out of reach here: stand
    in the local Debian Python image, plus the venv module the official image has."""
    context = tmp_path_factory.mktemp("python-venv")
    # This machine reaches PyPI through a proxy with its own certificate authority: the
    # stand-in trusts what the host trusts, as pip on the host does.
    (context / "ca").mkdir()
    for cert in sorted(HOST_CAS.glob("*.crt")):
        shutil.copy(cert, context / "ca" / cert.name)
    (context / "Dockerfile").write_text(
        f"FROM {containers.base('python')}\n"
        "COPY ca/ /usr/local/share/ca-certificates/\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3-venv"
        " ca-certificates && update-ca-certificates && rm -rf /var/lib/apt/lists/*\n"
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
    )
    image = containers.build(context)
    ref = "cbp-test/python-venv:3.11-slim-bookworm"
    containers.push(image, ref)
    return containers.ref(ref)


@pytest.fixture(scope="module")
def action_image(containers: ContainerEnv, python_base: str) -> Image:  # noqa: F811
    return containers.build(ROOT, "Dockerfile", build_args={"PYTHON_IMAGE": python_base})


@pytest.fixture
def double(tmp_path: Path) -> Iterator[GitHubDouble]:
    with GitHubDouble(root=tmp_path / "git") as github:
        yield github


def test_image_is_lean_and_runs_the_cli_as_non_root(
    containers: ContainerEnv,  # noqa: F811
    action_image: Image,
    python_base: str,
) -> None:
    assert not action_image.has_path("/usr/bin/gcc")
    assert action_image.has_path("/usr/bin/dumb-init")
    cli = containers.build(
        ROOT, "Dockerfile", build_args={"PYTHON_IMAGE": python_base}, target="cli"
    )
    assert cli.config.get("User") == "10001:10001"
    run = containers.run(cli, "--version", detach=False)
    assert run.exit_code == 0 and "container-bp" in run.logs()


def test_push_event_in_the_action_container_opens_one_pr(
    containers: ContainerEnv,  # noqa: F811
    action_image: Image,
    double: GitHubDouble,
    tmp_path: Path,
) -> None:
    double.create_repo("acme", "shop", demo_files())
    home = tmp_path / "github"
    workspace, commands = home / "workspace", home / "file_commands"
    for folder in (home, workspace, commands):
        folder.mkdir(parents=True, exist_ok=True)
    (home / "event.json").write_text(json.dumps({"ref": "refs/heads/main"}))
    for name in ("set_output", "step_summary"):
        (commands / name).write_text("")
    for path in (home, workspace, commands, *commands.iterdir(), home / "event.json"):
        os.chown(path, RUNNER_UID, RUNNER_UID)
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {
        "GITHUB_API_URL": double.base_url,
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": "/github/event.json",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": "/github/file_commands/set_output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary",
        "INPUT_GITHUB-TOKEN": double.token,
        "CONTAINER_BP_OFFLINE": "1",
        "CONTAINER_BP_GITHUB_THROTTLE": "0",
    }
    run = containers.run(
        action_image, "action", env=env, detach=False,
        options=["--network=host", "-v", f"{home}:/github"],
    )  # fmt: skip
    assert run.exit_code == 0, run.logs()
    assert len(double.pulls("acme", "shop")) == 1
    outputs = (commands / "set_output").read_text()
    assert "pr-number=1" in outputs and "findings=" in outputs
    assert "| acme/shop | opened |" in (commands / "step_summary").read_text()
