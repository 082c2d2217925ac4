"""pytest fixtures for the GitHub double. Test modules import them by assignment:

from tests.github_double import fixtures
github = fixtures.github
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import GitHubDouble


@pytest.fixture
def github(tmp_path: Path) -> Iterator[GitHubDouble]:
    """A running GitHub double; the test fails if any request or response broke the OpenAPI
    description (or hit an operation the double does not serve)."""
    double = GitHubDouble(root=tmp_path / "github-double").start()
    try:
        yield double
    finally:
        double.stop()
    assert not double.errors, "GitHub double recorded problems:\n" + "\n".join(double.errors)
