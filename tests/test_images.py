"""Image references as Docker reads them."""

from __future__ import annotations

import pytest

from fixers.images import parse_image


@pytest.mark.parametrize(
    ("raw", "registry", "path", "tag", "digest"),
    [
        ("python", None, "python", None, None),
        ("python:3.12-slim", None, "python", "3.12-slim", None),
        ("localhost:5000/app", "localhost:5000", "app", None, None),
        ("localhost:5000/team/app:1.2", "localhost:5000", "team/app", "1.2", None),
        ("ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io", "o/r", None, "sha256:" + "a" * 64),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        ("docker.io/python:3", "docker.io", "python", "3", None),
    ],
)
def test_parse(
    raw: str, registry: str | None, path: str, tag: str | None, digest: str | None
) -> None:
    image = parse_image(raw)
    assert image is not None
    assert (image.registry, image.path, image.tag, image.digest) == (registry, path, tag, digest)


@pytest.mark.parametrize("raw", ["", "${BASE}", "python:$TAG", "Upper", "a b", "x@nope"])
def test_invalid_or_unexpanded(raw: str) -> None:
    assert parse_image(raw) is None


def test_canonical_name() -> None:
    for raw in ("python", "docker.io/python", "index.docker.io/library/python:3"):
        image = parse_image(raw)
        assert image is not None and image.canonical_name == "docker.io/library/python"
    image = parse_image("quay.io/org/app")
    assert image is not None and image.canonical_name == "quay.io/org/app"
