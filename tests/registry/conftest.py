"""Session-scoped local registries (CNCF Distribution, Debian's ``docker-registry``) with
content pushed over the API: plain, htpasswd (Basic) and token (Bearer) protected.

Test modules outside this folder import the fixtures they use from here
(``from tests.registry.conftest import plain_registry``), since a conftest only serves
its own folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from fixers.pinning.auth import Credentials
from tests.registry.push import Pushed, Pusher
from tests.registry.token_server import TokenServer

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_BIN = "/usr/bin/htpasswd"

BASIC_USER, BASIC_PASSWORD = "alice", "basic-pass-7f3a9c"
TOKEN_USER, TOKEN_PASSWORD = "bob", "token-pass-91c2e4"


def _require(binary: str, package: str) -> str:
    path = binary if Path(binary).is_file() else shutil.which(Path(binary).name)
    if not path:
        pytest.skip(f"{binary} not installed (Debian package {package}); registry tests skipped")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    workdir: Path
    proc: subprocess.Popen[bytes]
    content: dict[str, Pushed] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def ref(self, name: str) -> str:
        return f"{self.host}/{name}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_registry(workdir: Path, auth: str = "") -> Registry:
    binary = _require(REGISTRY_BIN, "docker-registry")
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: any-test-secret\n" + auth
    )
    log = (workdir / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    log.close()
    registry = Registry(f"127.0.0.1:{port}", workdir, proc)
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            text = (workdir / "registry.log").read_text(errors="replace")
            raise RuntimeError(f"docker-registry exited ({proc.returncode}):\n{text[-2000:]}")
        try:
            if httpx.get(f"{registry.url}/v2/", timeout=0.5).status_code in (200, 401):
                return registry
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            registry.stop()
            raise RuntimeError("docker-registry did not become ready within 10 s")
        time.sleep(0.02)


def push_plain_content(pusher: Pusher) -> dict[str, Pushed]:
    """The plain registry's repositories and tags (a python-like tag scheme)."""
    c: dict[str, Pushed] = {}
    repo = "lib/python"
    c["python"] = pusher.index(repo)  # OCI index, amd64 + arm64: 3.12.7 is latest
    pusher.tag(repo, c["python"], ["latest", "3", "3.12", "3.12.7"])
    c["python-3.13"] = pusher.index(repo)  # newer, but not (yet) latest
    pusher.tag(repo, c["python-3.13"], ["3.13.0", "3.13"])
    c["python-rc"] = pusher.index(repo)  # pre-release: never a candidate
    pusher.tag(repo, c["python-rc"], ["3.14.0rc1", "3.14-rc"])
    c["python-3.11"] = pusher.index(repo)
    pusher.tag(repo, c["python-3.11"], ["3.11", "3.11.10"])
    c["python-slim"] = pusher.index(repo)
    slim = ["latest-slim", "slim", "3-slim", "3.12-slim", "3.12.7-slim"]
    pusher.tag(repo, c["python-slim"], [*slim, "3.12-slim-bookworm", "3.12.7-slim-bookworm"])
    c["python-3.13-slim"] = pusher.index(repo)
    pusher.tag(repo, c["python-3.13-slim"], ["3.13-slim", "3.13.0-slim"])

    repo = "lib/onlylatest"  # latest shares its digest with no version tag
    c["onlylatest"] = pusher.index(repo)
    pusher.tag(repo, c["onlylatest"], ["latest", "edge"])
    c["onlylatest-1.0"] = pusher.index(repo)
    pusher.tag(repo, c["onlylatest-1.0"], ["1.0", "1"])

    c["dockerlist"] = pusher.index("lib/dockerlist", oci=False)  # Docker manifest list
    pusher.tag("lib/dockerlist", c["dockerlist"], ["1.0", "latest"])
    c["oci-single"] = pusher.image("lib/oci-single", oci=True)
    pusher.tag("lib/oci-single", c["oci-single"], ["1.0"])
    c["docker-single"] = pusher.image("lib/docker-single", oci=False)
    pusher.tag("lib/docker-single", c["docker-single"], ["1.0"])

    repo = "lib/many"  # 40 old tags, and latest == 1.0.0
    c["many-old"] = pusher.image(repo)
    pusher.tag(repo, c["many-old"], [f"0.{i}.0" for i in range(40)])
    c["many"] = pusher.image(repo)
    pusher.tag(repo, c["many"], ["latest", "1.0.0"])
    return c


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("registry-plain"))
    pusher = Pusher(registry.url)
    try:
        registry.content = push_plain_content(pusher)
        yield registry
    finally:
        pusher.close()
        registry.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    htpasswd = _require(HTPASSWD_BIN, "apache2-utils")
    workdir = tmp_path_factory.mktemp("registry-basic")
    entry = subprocess.run(
        [htpasswd, "-Bbn", BASIC_USER, BASIC_PASSWORD], check=True, capture_output=True
    ).stdout
    (workdir / "htpasswd").write_bytes(entry)
    auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {workdir / 'htpasswd'}\n"
    registry = start_registry(workdir, auth)
    basic = Credentials(BASIC_USER, BASIC_PASSWORD).basic_header()
    pusher = Pusher(registry.url, lambda repo: {"Authorization": basic})
    try:
        registry.content["app"] = pusher.index("team/app")
        pusher.tag("team/app", registry.content["app"], ["1.0"])
        yield registry
    finally:
        pusher.close()
        registry.stop()


@dataclass
class TokenRegistry:
    registry: Registry
    tokens: TokenServer


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    _require(REGISTRY_BIN, "docker-registry")
    workdir = tmp_path_factory.mktemp("registry-token")
    tokens = TokenServer(workdir, users={TOKEN_USER: TOKEN_PASSWORD}).start()
    auth = (
        "auth:\n  token:\n"
        f"    realm: {tokens.realm}\n    service: {tokens.service}\n"
        f"    issuer: {tokens.issuer}\n    rootcertbundle: {tokens.cert_path}\n"
    )
    try:
        registry = start_registry(workdir, auth)
    except BaseException:
        tokens.stop()
        raise

    def push_auth(repo: str) -> dict[str, str]:
        access = [{"type": "repository", "name": repo, "actions": ["pull", "push"]}]
        return {"Authorization": "Bearer " + tokens.mint("pusher", access)}

    pusher = Pusher(registry.url, push_auth)
    try:
        for repo in ("public/app", "private/app"):
            registry.content[repo] = pusher.index(repo)
            pusher.tag(repo, registry.content[repo], ["1.0"])
        tokens.requests = 0
        yield TokenRegistry(registry, tokens)
    finally:
        pusher.close()
        registry.stop()
        tokens.stop()
