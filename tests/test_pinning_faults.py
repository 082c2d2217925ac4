"""Registry misbehaviour, scripted: rate limits, 5xx, hangs, missing or wrong digests,
malformed bodies, pagination. Every case yields a Resolution; nothing raises."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fixers.images import parse_image
from fixers.pinning import RegistryClient, RegistryResolver, Resolution, resolve_all
from fixers.pinning.client import OCI_INDEX, parse_retry_after, uses_plain_http

INDEX = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
INDEX_DIGEST = "sha256:" + hashlib.sha256(INDEX).hexdigest()
OTHER_DIGEST = "sha256:" + "0" * 64


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False


def manifest_reply(*, digest: str | None = INDEX_DIGEST, body: bytes = INDEX) -> Reply:
    headers = {"Content-Type": OCI_INDEX}
    if digest:
        headers["Docker-Content-Digest"] = digest
    return Reply(200, headers, body)


class Scripted:
    """An HTTP server answering ``(method, path)`` with scripted replies in order (the last
    one repeats); unknown paths get 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self.release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def ref(self, name: str) -> str:
        return f"{self.host}/{name}"

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                key = (method, self.path)
                scripted.hits[key] += 1
                replies = scripted.routes.get(key) or [Reply(404, {}, b'{"errors":[]}')]
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if reply.hang:
                    scripted.release.wait(10)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if method == "GET":
                    self.wfile.write(reply.body)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_HEAD(self) -> None:
                self._answer("HEAD")

        return Handler


@pytest.fixture
def server() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.stop()


class Sleeps:
    """Records the waits the client asks for instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def resolve_one(ref: str, **options: Any) -> tuple[Resolution, RegistryResolver]:
    options.setdefault("timeout", 2.0)
    options.setdefault("backoff", 0.01)
    resolver = RegistryResolver(environ={}, **options)
    image = parse_image(ref)
    assert image is not None
    results = resolve_all(resolver, [image])
    return next(iter(results.values())), resolver


HEAD_APP = ("HEAD", "/v2/app/manifests/1.0")
GET_APP = ("GET", "/v2/app/manifests/1.0")


def test_429_with_retry_after_seconds_then_success(server: Scripted) -> None:
    server.on(*HEAD_APP, Reply(429, {"Retry-After": "7"}), manifest_reply())
    sleeps = Sleeps()
    res, resolver = resolve_one(server.ref("app:1.0"), sleep=sleeps)
    assert res == Resolution(server.ref("app:1.0"), digest=INDEX_DIGEST, tag="1.0")
    assert sleeps.delays == [7.0]  # Retry-After honoured, not the 0.01 s backoff
    assert server.hits[HEAD_APP] == 2 and resolver.last_stats.retries == 1


def test_retry_after_http_date_and_cap(server: Scripted) -> None:
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.on(*HEAD_APP, Reply(429, {"Retry-After": future}), manifest_reply())
    sleeps = Sleeps()
    res, _ = resolve_one(server.ref("app:1.0"), sleep=sleeps, max_retry_after=2.5)
    assert res.ok and sleeps.delays == [2.5]


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_500_then_success_backs_off_exponentially(server: Scripted) -> None:
    server.on(*HEAD_APP, Reply(500), Reply(502), Reply(503), manifest_reply())
    sleeps = Sleeps()
    res, _ = resolve_one(server.ref("app:1.0"), sleep=sleeps, backoff=0.5, retries=3)
    assert res.ok and res.digest == INDEX_DIGEST
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert server.hits[HEAD_APP] == 4


def test_persistent_500_gives_up(server: Scripted) -> None:
    server.on(*HEAD_APP, Reply(500))
    sleeps = Sleeps()
    res, _ = resolve_one(server.ref("app:1.0"), sleep=sleeps, retries=2, max_backoff=0.7)
    assert res.digest is None
    assert res.error == f"unavailable: {server.host}: HTTP 500 after 3 attempts"
    assert sleeps.delays == [0.01, 0.02]


def test_connection_refused_is_retried_then_reported(server: Scripted) -> None:
    host = server.host
    server.stop()  # nothing listens on the port any more
    sleeps = Sleeps()
    res, resolver = resolve_one(f"{host}/app:1.0", sleep=sleeps, retries=2)
    assert res.error is not None
    assert res.error.startswith(f"unavailable: {host}: connection failed")
    assert res.error.endswith("after 3 attempts")
    assert resolver.last_stats.counts == {"manifest_head": 3}


def test_hang_hits_the_request_timeout(server: Scripted) -> None:
    server.on(*HEAD_APP, Reply(hang=True))
    start = time.monotonic()
    res, _ = resolve_one(server.ref("app:1.0"), timeout=0.2)
    assert time.monotonic() - start < 2
    assert res.error == f"timeout: {server.host} did not answer within 0.2s"


def test_time_budget_stops_all_remaining_lookups(server: Scripted) -> None:
    for tag in ("1", "2", "3", "4"):
        server.on("HEAD", f"/v2/app/manifests/{tag}", Reply(hang=True))
    start = time.monotonic()
    resolver = RegistryResolver(environ={}, timeout=5.0, budget=0.3, concurrency=2)
    images = [parse_image(server.ref(f"app:{tag}")) for tag in ("1", "2", "3", "4")]
    results = resolve_all(resolver, [i for i in images if i is not None])
    assert time.monotonic() - start < 2
    assert [r.error for r in results.values()] == ["time budget exhausted"] * 4
    assert resolver.last_stats.total == 2  # two in flight; the others never started


def test_missing_digest_header_falls_back_to_get_and_hashes_the_body(server: Scripted) -> None:
    body = b'{"schemaVersion": 2,\n "mediaType": "' + OCI_INDEX.encode() + b'", "manifests": []}'
    server.on(*HEAD_APP, manifest_reply(digest=None))
    server.on(*GET_APP, manifest_reply(digest=None, body=body))
    res, resolver = resolve_one(server.ref("app:1.0"))
    assert res.ok and res.digest == "sha256:" + hashlib.sha256(body).hexdigest()
    assert resolver.last_stats.counts == {"manifest_head": 1, "manifest_get": 1}


def test_get_fallback_verifies_the_digest_header(server: Scripted) -> None:
    server.on(*HEAD_APP, manifest_reply(digest=None))
    server.on(*GET_APP, manifest_reply(digest=OTHER_DIGEST))
    res, _ = resolve_one(server.ref("app:1.0"))
    assert res.digest is None
    assert res.error == (
        f"bad response: digest header of {server.ref('app:1.0')} ({OTHER_DIGEST}) "
        f"does not match the manifest body ({INDEX_DIGEST})"
    )


def test_head_not_allowed_uses_get(server: Scripted) -> None:
    server.on(*HEAD_APP, Reply(405))
    server.on(*GET_APP, manifest_reply())
    res, _ = resolve_one(server.ref("app:1.0"))
    assert res.ok and res.digest == INDEX_DIGEST


@pytest.mark.parametrize(
    ("head", "get", "error"),
    [
        (
            Reply(200, {"Content-Type": "text/html", "Docker-Content-Digest": INDEX_DIGEST}),
            None,
            "has content type 'text/html'",
        ),
        (
            Reply(200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": "sha256:abc"}),
            None,
            "malformed digest header",
        ),
        (manifest_reply(digest=None), manifest_reply(digest=None, body=b"{oops"), "not valid JSON"),
        (
            manifest_reply(digest=None),
            manifest_reply(digest=None, body=b'{"schemaVersion": 1}'),
            "not schema version 2",
        ),
        (
            manifest_reply(digest=None),
            Reply(200, {"Content-Type": OCI_INDEX}, b'{"schemaVersion": 2, "mediaType": "x/y"}'),
            "its body says 'x/y'",
        ),
        (Reply(400), None, "bad response: HTTP 400"),
        (Reply(403), None, "unauthorized: access to"),
        (Reply(401), None, "answered 401 without a usable challenge"),
        (Reply(401, {"WWW-Authenticate": 'Basic realm="r"'}), None, "none are configured"),
        (
            Reply(401, {"WWW-Authenticate": 'Bearer realm="http://example.invalid/t"'}),
            None,
            "asks for a token over plain HTTP; refused",
        ),
    ],
)
def test_bad_manifest_answers_become_errors(
    server: Scripted, head: Reply, get: Reply | None, error: str
) -> None:
    server.on(*HEAD_APP, head)
    if get is not None:
        server.on(*GET_APP, get)
    res, _ = resolve_one(server.ref("app:1.0"))
    assert res.digest is None and res.error is not None
    assert error in res.error


def test_malformed_tag_list_is_an_error(server: Scripted) -> None:
    server.on("HEAD", "/v2/app/manifests/latest", manifest_reply())
    server.on("GET", "/v2/app/tags/list", Reply(200, {"Content-Type": "application/json"}, b"{["))
    res, _ = resolve_one(server.ref("app"))
    assert res.digest is None
    assert res.error == f"bad response: tag list of {server.host}/app is not valid JSON"


def _tags_page(tags: list[str], link: str | None = None) -> Reply:
    headers = {"Content-Type": "application/json"}
    if link:
        headers["Link"] = f'<{link}>; rel="next"'
    return Reply(200, headers, json.dumps({"name": "app", "tags": tags}).encode())


def test_tag_list_follows_link_pagination(server: Scripted) -> None:
    # Distribution 2.8 ignores ?n= on tags/list; Docker Hub, GHCR and Distribution 3 page.
    server.on("HEAD", "/v2/app/manifests/latest", manifest_reply())
    server.on(
        "GET", "/v2/app/tags/list?n=2", _tags_page(["1.0", "1.1"], "/v2/app/tags/list?n=2&last=1.1")
    )
    server.on(
        "GET",
        "/v2/app/tags/list?n=2&last=1.1",
        _tags_page(["2.0", "latest"], "/v2/app/tags/list?n=2&last=latest"),
    )
    server.on("GET", "/v2/app/tags/list?n=2&last=latest", _tags_page([]))
    for tag in ("1.0", "1.1"):
        server.on("HEAD", f"/v2/app/manifests/{tag}", manifest_reply(digest=OTHER_DIGEST))
    server.on("HEAD", "/v2/app/manifests/2.0", manifest_reply())
    res, resolver = resolve_one(server.ref("app"), tags_page_size=2)
    assert (res.tag, res.digest) == ("2.0", INDEX_DIGEST)
    assert resolver.last_stats.counts == {"tags_list": 3, "manifest_head": 2}


def test_tag_list_link_off_registry_is_refused(server: Scripted) -> None:
    server.on("HEAD", "/v2/app/manifests/latest", manifest_reply())
    server.on("GET", "/v2/app/tags/list", _tags_page(["1"], "http://example.invalid/v2/x"))
    res, _ = resolve_one(server.ref("app"))
    assert res.error is not None and "links off-registry" in res.error


def test_tag_deleted_between_listing_and_head_is_skipped(server: Scripted) -> None:
    server.on("HEAD", "/v2/app/manifests/latest", manifest_reply())
    server.on("GET", "/v2/app/tags/list", _tags_page(["2", "1", "latest"]))
    server.on("HEAD", "/v2/app/manifests/1", manifest_reply())  # "2" is not routed: 404
    res, _ = resolve_one(server.ref("app"))
    assert (res.tag, res.digest) == ("1", INDEX_DIGEST)


def test_candidate_failure_keeps_latest_with_a_note(server: Scripted) -> None:
    server.on("HEAD", "/v2/app/manifests/latest", manifest_reply())
    server.on("GET", "/v2/app/tags/list", _tags_page(["1", "latest"]))
    server.on("HEAD", "/v2/app/manifests/1", Reply(500))
    res, _ = resolve_one(server.ref("app"), retries=0)
    assert (res.tag, res.digest) == ("latest", INDEX_DIGEST)
    assert res.note is not None and res.note.startswith("version tag search stopped (unavailable")


def test_scheme_choice() -> None:
    client_insecure = ["registry.lan", "other.lan:5000"]
    assert uses_plain_http("localhost") and uses_plain_http("localhost:5000")
    assert uses_plain_http("127.0.0.1:5000") and uses_plain_http("127.1.2.3")
    assert uses_plain_http("[::1]:5000") and uses_plain_http("[::1]")
    assert not uses_plain_http("ghcr.io") and not uses_plain_http("10.0.0.1:5000")
    assert uses_plain_http("registry.lan:8080", client_insecure)
    assert uses_plain_http("other.lan:5000", client_insecure)
    assert not uses_plain_http("other.lan:6000", client_insecure)

    async def urls() -> list[str]:
        async with RegistryClient(insecure_registries=client_insecure) as client:
            hosts = ["docker.io", "ghcr.io", "localhost:5000", "registry.lan"]
            return [client.base_url(h) for h in hosts]

    assert asyncio.run(urls()) == [
        "https://registry-1.docker.io",
        "https://ghcr.io",
        "http://localhost:5000",
        "http://registry.lan",
    ]


def test_resolve_all_inside_a_running_loop(server: Scripted) -> None:
    server.on(*HEAD_APP, manifest_reply())
    image = parse_image(server.ref("app:1.0"))
    assert image is not None

    async def inside() -> dict[str, Resolution]:
        return resolve_all(RegistryResolver(environ={}), [image])

    assert [r.digest for r in asyncio.run(inside()).values()] == [INDEX_DIGEST]
