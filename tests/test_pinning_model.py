"""Resolution keys, tag candidates and the static resolver."""

from __future__ import annotations

import asyncio

import pytest

from fixers.images import ImageRef, parse_image
from fixers.pinning import (
    Resolution,
    StaticResolver,
    floating_variant,
    needs_resolution,
    resolution_key,
    resolve_all,
    version_candidates,
)


def _image(ref: str) -> ImageRef:
    image = parse_image(ref)
    assert image is not None
    return image


@pytest.mark.parametrize(
    ("ref", "key"),
    [
        ("python", "docker.io/library/python:latest"),
        ("python:3.12-slim", "docker.io/library/python:3.12-slim"),
        ("docker.io/python", "docker.io/library/python:latest"),
        ("index.docker.io/library/python:3", "docker.io/library/python:3"),
        ("registry-1.docker.io/bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("bitnami/redis", "docker.io/bitnami/redis:latest"),
        ("ghcr.io/owner/app:1.0", "ghcr.io/owner/app:1.0"),
        ("GHCR.io/owner/app:1.0", "ghcr.io/owner/app:1.0"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000/a/b/c:v1"),
    ],
)
def test_resolution_key(ref: str, key: str) -> None:
    assert resolution_key(_image(ref)) == key


def test_pinned_and_scratch_need_no_resolution() -> None:
    assert needs_resolution(_image("python:3.12"))
    assert not needs_resolution(_image("python:3.12@sha256:" + "a" * 64))
    assert not needs_resolution(_image("scratch"))


@pytest.mark.parametrize(
    ("tag", "variant"),
    [(None, ""), ("latest", ""), ("latest-slim", "-slim"), ("3.12", None), ("slim", None)],
)
def test_floating_variant(tag: str | None, variant: str | None) -> None:
    assert floating_variant(tag) == variant


def test_version_candidates_newest_and_most_specific_first() -> None:
    tags = [
        "3", "3.12", "3.12.7", "3.13", "3.13.0", "3.11.10", "3.9", "v3.14.1", "3.14.0rc1",
        "3.12.7-slim", "3.12.7-slim-bookworm", "3-slim", "latest", "slim", "3.12.7a",
    ]  # fmt: skip
    assert version_candidates(tags, "") == [
        "v3.14.1", "3.13.0", "3.13", "3.12.7", "3.12", "3.11.10", "3.9", "3",
    ]  # fmt: skip
    assert version_candidates(tags, "-slim") == ["3.12.7-slim", "3-slim"]
    assert version_candidates(tags, "-slim-bookworm") == ["3.12.7-slim-bookworm"]
    assert version_candidates(["1.10", "1.9", "1.9.1"], "") == ["1.10", "1.9.1", "1.9"]


def test_pinned_reference_keeps_the_name_as_written() -> None:
    res = Resolution("docker.io/library/python:latest", digest="sha256:" + "b" * 64, tag="3.12.7")
    assert res.pinned_reference(_image("python")) == f"python:3.12.7@sha256:{'b' * 64}"
    assert Resolution("k", error="offline: not resolved").pinned_reference(_image("x")) is None


def test_static_resolver() -> None:
    known = Resolution("docker.io/library/python:3", digest="sha256:" + "c" * 64, tag="3")
    resolver = StaticResolver({known.key: known})
    images = [_image("python:3"), _image("node"), _image("scratch"), _image("x@sha256:" + "d" * 64)]
    results = resolve_all(resolver, images)
    assert results == {
        known.key: known,
        "docker.io/library/node:latest": Resolution(
            "docker.io/library/node:latest", error="not resolved"
        ),
    }
    assert asyncio.run(resolver.resolve_many(images)) == results
