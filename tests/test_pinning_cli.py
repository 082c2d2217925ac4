"""End to end: `container-bp fix` pins images that live in a real registry on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from fixers.config import Config
from fixers.pinning.resolver import RegistryResolver
from fixers.run import discover, gather_facts
from fixers.source import LocalSource
from tests.registry import conftest as registry_fixtures
from tests.registry.conftest import Registry

plain_registry = registry_fixtures.plain_registry


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_BP_OFFLINE", "0")


def _repo(tmp_path: Path, registry: Registry) -> Path:
    host = registry.host
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\n"
        f"FROM {host}/lib/python AS build   \n"
        "RUN pip wheel -w /w .\n"
        "\n"
        f"# runtime: the slim variant\nFROM {host}/lib/python:latest-slim\n"
        "COPY --from=build /w /w\n"
    )
    (tmp_path / "worker.Dockerfile").write_bytes(
        f'ARG BASE={host}/lib/dockerlist:1.0\r\nFROM ${{BASE}}\r\nCMD ["run"]'.encode()
    )
    (tmp_path / "other.Dockerfile").write_text(f"FROM {host}/lib/missing:1\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "api.yaml").write_text(
        "# the API\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        f'        - name: api\n          image: "{host}/lib/python:3.12"  # pinned soon\n'
    )
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  cache:\n    image: {host}/lib/oci-single:1.0\n"
    )
    return tmp_path


def test_fix_diff_shows_the_registry_digests(
    tmp_path: Path, plain_registry: Registry, online: None, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, plain_registry)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    main(["fix", "--diff", "--rules", "CBP101,CBP201,CBP301", str(repo)])
    out = capsys.readouterr().out
    host, content = plain_registry.host, plain_registry.content
    # latest -> the most specific version tag with the same digest: the index's, not a child's
    assert f"+FROM {host}/lib/python:3.12.7@{content['python'].digest} AS build   " in out
    assert content["python"].child("amd64").digest not in out
    assert f"+FROM {host}/lib/python:3.12.7-slim@{content['python-slim'].digest}" in out
    assert f"+ARG BASE={host}/lib/dockerlist:1.0@{content['dockerlist'].digest}" in out
    assert "lib/missing:1` is not pinned by digest" in out and "cannot pin: not found" in out
    assert (
        f'+          image: "{host}/lib/python:3.12@{content["python"].digest}"  # pinned soon'
        in out
    )
    assert f"+    image: {host}/lib/oci-single:1.0@{content['oci-single'].digest}" in out
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


def test_fix_writes_pins_that_a_second_run_leaves_alone(
    tmp_path: Path, plain_registry: Registry, online: None
) -> None:
    repo = _repo(tmp_path, plain_registry)
    main(["fix", "--rules", "CBP101", str(repo)])
    fixed = (repo / "api" / "Dockerfile").read_text()
    assert fixed.count("@sha256:") == 2 and "# runtime: the slim variant\n" in fixed
    worker = (repo / "worker.Dockerfile").read_bytes()
    assert worker.count(b"\r\n") == 2 and not worker.endswith(b"\n")
    snapshot = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    main(["fix", "--rules", "CBP101", str(repo)])
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == snapshot


def test_offline_reports_and_rewrites_nothing(
    tmp_path: Path, plain_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, plain_registry)
    before = (repo / "api" / "Dockerfile").read_text()
    assert main(["fix", "--offline", "--rules", "CBP101", str(repo)]) == 1
    assert (repo / "api" / "Dockerfile").read_text() == before
    assert "offline: not resolved" in capsys.readouterr().out


def test_each_unique_image_is_looked_up_once_per_run(
    tmp_path: Path, plain_registry: Registry
) -> None:
    repo = _repo(tmp_path, plain_registry)
    for n in range(5):  # the same images again in many more files
        (repo / f"copy{n}.Dockerfile").write_text((repo / "api" / "Dockerfile").read_text())
    source = LocalSource(repo)
    resolver = RegistryResolver(environ={}, timeout=5.0, backoff=0.01)
    facts = gather_facts(source, discover(source), Config(), resolver)
    keys = set(facts.resolutions)
    assert len(keys) == 6  # python(latest), python:latest-slim, dockerlist, missing, 3.12, oci
    assert sum(resolver.lookups.values()) == len(keys)
    assert all(count == 1 for count in resolver.lookups.values())
