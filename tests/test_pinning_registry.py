"""The resolver against a real registry (CNCF Distribution 2.8) with content pushed by the
tests: index digests, tag choice for ``latest``, auth flows, dedupe, caches, offline."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixers.images import parse_image
from fixers.pinning import (
    OFFLINE_ERROR,
    Credentials,
    RegistryResolver,
    Resolution,
    resolution_key,
    resolve_all,
)
from fixers.pinning.client import DOCKER_MANIFEST, OCI_MANIFEST
from tests.registry import conftest as registry_fixtures
from tests.registry.conftest import (
    BASIC_PASSWORD,
    BASIC_USER,
    TOKEN_PASSWORD,
    TOKEN_USER,
    Registry,
    TokenRegistry,
)
from tests.registry.push import sha256

plain_registry = registry_fixtures.plain_registry
basic_registry = registry_fixtures.basic_registry
token_registry = registry_fixtures.token_registry


def make_resolver(**options: Any) -> RegistryResolver:
    # environ={}: no credentials or offline switch from the machine running the tests.
    return RegistryResolver(environ={}, timeout=5.0, backoff=0.01, **options)


def resolve(resolver: RegistryResolver, *refs: str) -> dict[str, Resolution]:
    images = [parse_image(ref) for ref in refs]
    assert all(images)
    return resolve_all(resolver, [i for i in images if i is not None])


def one(resolver: RegistryResolver, ref: str) -> Resolution:
    image = parse_image(ref)
    assert image is not None
    return resolve(resolver, ref)[resolution_key(image)]


# ---- digests --------------------------------------------------------------------------


def test_oci_index_digest_is_the_index_not_a_child(plain_registry: Registry) -> None:
    index = plain_registry.content["python"]
    resolver = make_resolver()
    res = one(resolver, plain_registry.ref("lib/python:3.12"))
    assert res == Resolution(plain_registry.ref("lib/python:3.12"), digest=index.digest, tag="3.12")
    assert res.digest == sha256(index.body)
    assert res.digest not in {index.child("amd64").digest, index.child("arm64").digest}
    assert resolver.last_stats.counts == {"manifest_head": 1}  # one HEAD, no GET


def test_docker_manifest_list_digest_is_the_list(plain_registry: Registry) -> None:
    listing = plain_registry.content["dockerlist"]
    res = one(make_resolver(), plain_registry.ref("lib/dockerlist:1.0"))
    assert res.ok and res.digest == listing.digest == sha256(listing.body)
    amd64 = listing.child("amd64").digest
    assert res.digest != amd64
    # Why all four types go into Accept: asked with single-manifest types only, the registry
    # answers with the amd64 child, a silently wrong pin.
    url = f"{plain_registry.url}/v2/lib/dockerlist/manifests/1.0"
    single_only = f"{DOCKER_MANIFEST}, {OCI_MANIFEST}"
    resp = httpx.head(url, headers={"Accept": single_only})
    assert resp.headers["Docker-Content-Digest"] == amd64


@pytest.mark.parametrize("repo", ["oci-single", "docker-single"])
def test_single_manifest_digest(plain_registry: Registry, repo: str) -> None:
    res = one(make_resolver(), plain_registry.ref(f"lib/{repo}:1.0"))
    assert res.ok and res.digest == plain_registry.content[repo].digest
    assert res.tag == "1.0" and res.note is None


# ---- latest and untagged ----------------------------------------------------------------


def test_latest_becomes_most_specific_version_tag(plain_registry: Registry) -> None:
    resolver = make_resolver()
    untagged, latest = plain_registry.ref("lib/python"), plain_registry.ref("lib/python:latest")
    results = resolve(resolver, untagged, latest)
    assert list(results) == [latest]  # untagged means latest: one key
    res = results[latest]
    assert res.digest == plain_registry.content["python"].digest
    assert res.tag == "3.12.7"  # not 3.13.0 (other digest), not 3.12 or 3 (less specific)
    assert res.note == "latest is 3.12.7"
    image = parse_image(untagged)
    assert image is not None
    assert res.pinned_reference(image) == f"{untagged}:3.12.7@{res.digest}"
    # HEAD latest, list tags once, HEAD 3.13.0, 3.13 (no match), 3.12.7 (match): newest first.
    assert resolver.last_stats.counts == {"manifest_head": 4, "tags_list": 1}


def test_latest_variant_keeps_its_suffix(plain_registry: Registry) -> None:
    res = one(make_resolver(), plain_registry.ref("lib/python:latest-slim"))
    assert res.digest == plain_registry.content["python-slim"].digest
    # 3.12.7-slim-bookworm has the same digest but another suffix; 3.13.0-slim another digest.
    assert res.tag == "3.12.7-slim"


def test_latest_without_matching_version_tag_pins_latest(plain_registry: Registry) -> None:
    res = one(make_resolver(), plain_registry.ref("lib/onlylatest"))
    assert res.digest == plain_registry.content["onlylatest"].digest
    assert res.tag == "latest"
    assert res.note == "no version tag shares latest's digest; pinned latest"


def test_tag_search_is_bounded(plain_registry: Registry) -> None:
    resolver = make_resolver(max_tag_lookups=2)
    res = one(resolver, plain_registry.ref("lib/python"))
    assert res.tag == "latest" and res.digest == plain_registry.content["python"].digest
    assert res.note is not None and "checked the 2 newest of 7 version tags" in res.note
    assert resolver.last_stats.counts == {"manifest_head": 3, "tags_list": 1}


def test_latest_among_many_tags(plain_registry: Registry) -> None:
    res = one(make_resolver(), plain_registry.ref("lib/many"))
    assert (res.tag, res.digest) == ("1.0.0", plain_registry.content["many"].digest)


def test_explicit_tags_are_kept(plain_registry: Registry) -> None:
    res = one(make_resolver(), plain_registry.ref("lib/python:3-slim"))
    assert (res.tag, res.digest) == ("3-slim", plain_registry.content["python-slim"].digest)
    assert res.note is None


@pytest.mark.parametrize("ref", ["lib/python:2.7", "lib/nothing-here:1"])
def test_not_found(plain_registry: Registry, ref: str) -> None:
    res = one(make_resolver(), plain_registry.ref(ref))
    assert res.digest is None and res.tag is None
    assert res.error == f"not found: {plain_registry.ref(ref)}"


# ---- dedupe and caches ------------------------------------------------------------------


def test_each_unique_image_is_requested_once(plain_registry: Registry) -> None:
    digest = plain_registry.content["python"].digest
    refs = [
        *[plain_registry.ref("lib/python:3.12")] * 5,
        plain_registry.ref(f"lib/python:3.12@{digest}"),  # pinned: never looked up
        plain_registry.ref(f"lib/python@{digest}"),
        plain_registry.ref("lib/python:3.11"),
        plain_registry.ref("lib/oci-single:1.0"),
        plain_registry.ref("lib/oci-single:1.0"),
    ]
    resolver = make_resolver()
    results = resolve(resolver, *refs)
    assert len(results) == 3 and all(r.ok for r in results.values())
    assert resolver.last_stats.total == 3  # unique images x 1 HEAD
    assert set(resolver.lookups.values()) == {1}
    # The same resolver again: served from memory, no request.
    assert resolve(resolver, *refs) == results
    assert resolver.last_stats.total == 0 and resolver.cache_hits == 3


def test_lookups_are_shared_within_a_run(plain_registry: Registry) -> None:
    resolver = make_resolver()
    results = resolve(
        resolver, plain_registry.ref("lib/python"), plain_registry.ref("lib/python:3.12.7")
    )
    assert [r.tag for r in results.values()] == ["3.12.7", "3.12.7"]
    # latest, 3.13.0, 3.13, 3.12.7: the 3.12.7 HEAD serves both images.
    assert resolver.last_stats.counts == {"manifest_head": 4, "tags_list": 1}


def test_disk_cache_is_reused_across_resolvers(plain_registry: Registry, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "pins.json"
    refs = [
        plain_registry.ref("lib/python"),
        plain_registry.ref("lib/dockerlist:1.0"),
        plain_registry.ref("lib/gone:1"),
    ]
    first = make_resolver(cache_path=cache)
    before = resolve(first, *refs)
    assert first.last_stats.total > 0
    data = json.loads(cache.read_text())
    assert sorted(data["entries"]) == sorted(k for k, r in before.items() if r.ok)
    assert not list(cache.parent.glob("*.tmp"))  # the atomic write left no temp file

    second = make_resolver(cache_path=cache)
    assert resolve(second, *refs) == before
    assert second.last_stats.counts == {"manifest_head": 1}  # only the not-found one again
    assert second.cache_hits == 2

    expired = make_resolver(cache_path=cache, cache_ttl=0)
    assert resolve(expired, *refs) == before
    assert expired.cache_hits == 0 and expired.last_stats.counts["manifest_head"] > 1


def test_corrupt_disk_cache_is_ignored(plain_registry: Registry, tmp_path: Path) -> None:
    cache = tmp_path / "pins.json"
    cache.write_text("{not json")
    res = one(make_resolver(cache_path=cache), plain_registry.ref("lib/oci-single:1.0"))
    assert res.ok
    assert json.loads(cache.read_text())["version"] == 1


@pytest.mark.parametrize(
    "options", [{"offline": True}, {"environ": {"CONTAINER_BP_OFFLINE": "1"}}], ids=str
)
def test_offline_touches_no_network(plain_registry: Registry, options: dict[str, Any]) -> None:
    resolver = RegistryResolver(**options)
    results = resolve(resolver, plain_registry.ref("lib/python"), "python:3.12", "python:3.12")
    assert set(results) == {
        plain_registry.ref("lib/python:latest"),
        "docker.io/library/python:3.12",
    }
    assert all(r.error == OFFLINE_ERROR and r.digest is None for r in results.values())
    assert resolver.stats.total == 0


# ---- Basic auth -------------------------------------------------------------------------


def test_basic_auth_with_right_credentials(basic_registry: Registry) -> None:
    creds = {basic_registry.host: Credentials(BASIC_USER, BASIC_PASSWORD)}
    resolver = make_resolver(credentials=creds)
    res = one(resolver, basic_registry.ref("team/app:1.0"))
    assert res.ok and res.digest == basic_registry.content["app"].digest
    assert resolver.last_stats.counts == {"manifest_head": 2}  # 401 challenge, then 200


def test_basic_auth_from_environment_and_docker_config(
    basic_registry: Registry, tmp_path: Path
) -> None:
    env_json = {basic_registry.host: {"username": BASIC_USER, "password": BASIC_PASSWORD}}
    resolver = RegistryResolver(environ={"CONTAINER_BP_REGISTRY_AUTH": json.dumps(env_json)})
    assert one(resolver, basic_registry.ref("team/app:1.0")).ok

    auth = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {f"http://{basic_registry.host}": {"auth": auth}}})
    )
    resolver = RegistryResolver(environ={"DOCKER_CONFIG": str(tmp_path)})
    assert one(resolver, basic_registry.ref("team/app:1.0")).ok


def test_basic_auth_with_wrong_or_no_credentials(basic_registry: Registry) -> None:
    ref = basic_registry.ref("team/app:1.0")
    wrong = {basic_registry.host: Credentials(BASIC_USER, "not-the-password")}
    res = one(make_resolver(credentials=wrong), ref)
    assert res.digest is None
    assert res.error == f"unauthorized: {basic_registry.host} rejected the credentials"
    res = one(make_resolver(credentials={}), ref)
    assert res.error == (
        f"unauthorized: {basic_registry.host} requires credentials and none are configured"
    )


# ---- Bearer tokens ----------------------------------------------------------------------


def test_bearer_anonymous_pull_of_public_repository(token_registry: TokenRegistry) -> None:
    registry, tokens = token_registry.registry, token_registry.tokens
    issued = tokens.requests
    resolver = make_resolver(credentials={})
    res = one(resolver, registry.ref("public/app:1.0"))
    assert res.ok and res.digest == registry.content["public/app"].digest
    assert tokens.requests - issued == 1
    assert resolver.last_stats.counts == {"manifest_head": 2, "token": 1}


def test_bearer_private_repository_needs_credentials(token_registry: TokenRegistry) -> None:
    registry = token_registry.registry
    ref = registry.ref("private/app:1.0")
    res = one(make_resolver(credentials={}), ref)
    assert res.error is not None
    assert res.error.startswith(f"unauthorized: {registry.host} denied pull access to private/app")

    creds = {registry.host: Credentials(TOKEN_USER, TOKEN_PASSWORD)}
    resolver = make_resolver(credentials=creds)
    results = resolve(resolver, ref, registry.ref("public/app:1.0"))
    assert [r.digest for r in results.values()] == [
        registry.content["private/app"].digest,
        registry.content["public/app"].digest,
    ]
    assert resolver.last_stats.counts["token"] == 2  # one token per repository scope

    wrong = {registry.host: Credentials(TOKEN_USER, "wrong")}
    res = one(make_resolver(credentials=wrong), ref)
    assert res.error == (
        f"unauthorized: the token server of {registry.host} refused the credentials (HTTP 401)"
    )


def test_secrets_never_appear_in_logs_errors_or_reprs(
    basic_registry: Registry, token_registry: TokenRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    registry, tokens = token_registry.registry, token_registry.tokens
    already_issued = len(tokens.issued)
    texts: list[str] = []
    secrets = [BASIC_PASSWORD, TOKEN_PASSWORD, "wrong-secret-123"]
    cases = [
        ({basic_registry.host: Credentials(BASIC_USER, BASIC_PASSWORD)}, basic_registry),
        ({basic_registry.host: Credentials(BASIC_USER, "wrong-secret-123")}, basic_registry),
        ({registry.host: Credentials(TOKEN_USER, TOKEN_PASSWORD)}, registry),
        ({registry.host: Credentials(TOKEN_USER, "wrong-secret-123")}, registry),
    ]
    for creds, reg in cases:
        resolver = make_resolver(credentials=creds)
        refs = [reg.ref(r) for r in ("team/app:1.0", "private/app:1.0", "nope/x:1")]
        for res in resolve(resolver, *refs).values():
            texts += [repr(res), str(res.error), str(res.note)]
        texts += [repr(resolver), repr(creds), str(creds)]
    new_tokens = tokens.issued[already_issued:]
    assert new_tokens, "the token flow was not exercised"
    secrets += new_tokens
    secrets += [t.rsplit(".", 1)[-1] for t in new_tokens]  # the signature alone
    secrets += [base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()]
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    assert "HEAD" in caplog.text  # the debug log did record requests
    for secret in secrets:
        assert secret not in blob
