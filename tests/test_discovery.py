"""Finding files: names, ignored and vendored paths, symlinks, size and binary limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixers.discover import kind_of
from fixers.engine import Selection
from fixers.run import discover, run
from fixers.source import MAX_FILE_BYTES, LocalSource


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("Dockerfile", "dockerfile"),
        ("svc/app.Dockerfile", "dockerfile"),
        ("Dockerfile.dev", "dockerfile"),
        ("Containerfile", "dockerfile"),
        ("Dockerfile.dockerignore", None),
        ("docs/Dockerfile.md", None),
        ("README.md", None),
        ("main.py", None),
    ],
)
def test_kind_of(path: str, kind: str | None) -> None:
    assert kind_of(path) == kind


def test_walk_skips_git_vendor_ignored_and_symlinks_out(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for rel in ("Dockerfile", ".git/Dockerfile", "vendor/x/Dockerfile", "node_modules/Dockerfile",
                "build/Dockerfile", "svc/Dockerfile.prod", "svc/tmp/Dockerfile"):  # fmt: skip
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("FROM x:1\n")
    (repo / ".gitignore").write_text("build/\n")
    (repo / "svc" / ".gitignore").write_text("tmp/\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM x\n")
    os.symlink(outside, repo / "linked-dir")
    os.symlink(outside / "Dockerfile", repo / "Containerfile")
    source = LocalSource(repo)
    found = [p for p, _ in discover(source)]
    assert found == ["Containerfile", "Dockerfile", "svc/Dockerfile.prod"]
    result = run(source, discover(source), Selection())
    assert [s.path for s in result.skipped] == ["Containerfile"]
    assert "outside the repository" in result.skipped[0].reason


def test_large_binary_and_unparsable_files_are_skipped_and_the_rest_go_on(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM x\n" + "#" * MAX_FILE_BYTES)
    (tmp_path / "b.Dockerfile").write_bytes(b"FROM x\n\0\0")
    (tmp_path / "c.Dockerfile").write_bytes(b"FROM x\nLABEL a=\xff\n")
    (tmp_path / "d.Dockerfile").write_text("FROM x\nBOGUS y\n")
    (tmp_path / "e.Dockerfile").write_text("FROM python\n")
    source = LocalSource(tmp_path)
    result = run(source, discover(source), Selection())
    reasons = {s.path: s.reason for s in result.skipped}
    assert "larger than" in reasons["a/Dockerfile"]
    assert "binary" in reasons["b.Dockerfile"]
    assert "UTF-8" in reasons["c.Dockerfile"]
    assert "line 2" in reasons["d.Dockerfile"] and "BOGUS" in reasons["d.Dockerfile"]
    assert [f.path for f in result.files] == ["e.Dockerfile"]
    assert result.files[0].findings


def test_atomic_write_keeps_mode_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "Dockerfile"
    target.write_text("FROM x\n")
    target.chmod(0o640)
    LocalSource(tmp_path).write_text("Dockerfile", "FROM y\r\n")
    assert target.read_bytes() == b"FROM y\r\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]


def test_yaml_that_only_looks_like_compose_is_not_mentioned(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("services:\n  - docker:dind\nbuild:\n  script: make\n")
    (tmp_path / "compose.yaml").write_text("version: '3'\n")  # named compose: say it is not
    source = LocalSource(tmp_path)
    result = run(source, discover(source), Selection())
    assert [s.path for s in result.skipped] == ["compose.yaml"]
    assert result.files == []
