"""The session's real-container environment (buildah, podman, a registry on 127.0.0.1).

Test modules outside this folder import the fixture (``from tests.containers.conftest import
containers``), since a conftest only serves its own folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.containers.harness import ContainerEnv, available, running_in_ci


@pytest.fixture(scope="session")
def containers() -> Iterator[ContainerEnv]:
    """Skipped where buildah/podman are missing, except in CI (``CI=true``), which installs
    them: there a missing tool is a failure."""
    reason = available()
    if reason:
        if running_in_ci():
            pytest.fail(f"CI=true but real containers cannot run: {reason}")
        pytest.skip(f"real builds and containers cannot run here: {reason}")
    env = ContainerEnv.start()
    try:
        yield env
    finally:
        env.close()
