"""Test-wide settings."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_registry_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never reach a registry outside this machine: the CLI's resolver is offline unless
    # a test that runs its own registry on 127.0.0.1 switches it back on.
    monkeypatch.setenv("CONTAINER_BP_OFFLINE", "1")
    # The GitHub double needs no pacing between requests (github.com does).
    monkeypatch.setenv("CONTAINER_BP_GITHUB_THROTTLE", "0")
