"""WWW-Authenticate parsing and where credentials come from."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from fixers.pinning.auth import (
    Challenge,
    Credentials,
    load_credentials,
    normalize_host,
    parse_token_response,
    parse_www_authenticate,
    select_challenge,
)


def test_bearer_challenge_with_commas_inside_quotes() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/python:pull,push"'
    )
    assert parse_www_authenticate(header) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/python:pull,push",
            },
        )
    ]


def test_several_challenges_spaces_escapes_and_tokens() -> None:
    header = 'Basic realm="Registry \\"Realm\\"" , Bearer  realm = "https://a/t", service=svc'
    challenges = parse_www_authenticate(header)
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[0].realm == 'Registry "Realm"'
    assert (challenges[1].realm, challenges[1].service, challenges[1].scope) == (
        "https://a/t",
        "svc",
        None,
    )
    assert select_challenge(challenges) == challenges[1]  # Bearer first


def test_multiple_header_values_and_odd_input() -> None:
    challenges = parse_www_authenticate(['Basic realm="x"', "Negotiate abc==", ""])
    assert [c.scheme for c in challenges] == ["basic", "negotiate"]
    assert select_challenge(challenges) == challenges[0]
    assert select_challenge(parse_www_authenticate("Negotiate")) is None
    assert select_challenge(parse_www_authenticate("Bearer service=x")) is None  # no realm
    assert parse_www_authenticate('"garbage" , ,') == []


def test_token_response() -> None:
    assert parse_token_response(b'{"token": "t1", "access_token": "t2"}') == "t1"
    assert parse_token_response(b'{"access_token": "t2"}') == "t2"
    assert parse_token_response(b'{"token": ""}') is None
    assert parse_token_response(b"[1]") is None
    assert parse_token_response(b"<html>") is None


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("docker.io", "docker.io"),
        ("HTTP://LocalHost:5000", "localhost:5000"),
        ("ghcr.io/owner", "ghcr.io"),
        ("https://user@registry.example.com:443/v2/", "registry.example.com:443"),
    ],
)
def test_normalize_host(text: str, host: str) -> None:
    assert normalize_host(text) == host


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_credentials_from_environment_in_both_shapes(tmp_path: Path) -> None:
    plain = {"ghcr.io": {"username": "u1", "password": "p1"}}
    env = {"CONTAINER_BP_REGISTRY_AUTH": json.dumps(plain), "HOME": str(tmp_path)}
    assert load_credentials(env) == {"ghcr.io": Credentials("u1", "p1")}

    docker = {"auths": {"https://index.docker.io/v1/": {"auth": _b64("u2:p:2")}}}
    env["CONTAINER_BP_REGISTRY_AUTH"] = json.dumps(docker)
    assert load_credentials(env) == {"docker.io": Credentials("u2", "p:2")}


def test_credentials_from_docker_config_and_precedence(tmp_path: Path) -> None:
    config = {
        "auths": {
            "ghcr.io": {"auth": _b64("file-user:file-pass")},
            "quay.io": {"auth": _b64("q:q-pass")},
            "helper.example": {},  # credential helpers are not run
            "bad.example": {"auth": "%%%not-base64"},
        },
        "credsStore": "desktop",
    }
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps(config))
    env = {"HOME": str(tmp_path)}
    assert load_credentials(env) == {
        "ghcr.io": Credentials("file-user", "file-pass"),
        "quay.io": Credentials("q", "q-pass"),
    }
    env["CONTAINER_BP_REGISTRY_AUTH"] = json.dumps({"ghcr.io": {"auth": _b64("env:env-pass")}})
    assert load_credentials(env)["ghcr.io"] == Credentials("env", "env-pass")

    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"auths": {"x.io": {"auth": _b64("a:b")}}}))
    assert load_credentials({"HOME": str(tmp_path), "DOCKER_CONFIG": str(other)}) == {
        "x.io": Credentials("a", "b")
    }


def test_unreadable_sources_are_skipped_without_echoing_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "config.json").write_text('{"auths": {"x": {"auth": "SECRET-IN-FILE"')
    env = {"DOCKER_CONFIG": str(tmp_path), "CONTAINER_BP_REGISTRY_AUTH": '{"SECRET-IN-ENV"'}
    with caplog.at_level(logging.DEBUG):
        assert load_credentials(env) == {}
    assert "ignoring" in caplog.text
    assert "SECRET" not in caplog.text


def test_credentials_repr_hides_the_password() -> None:
    creds = Credentials("user", "hunter2-secret")
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds)
    assert "hunter2" not in repr({"h": creds})
    assert creds.basic_header() == "Basic " + _b64("user:hunter2-secret")
