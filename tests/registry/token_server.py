"""A minimal Docker token server for tests: RS256 JWTs whose header carries ``x5c``.

Users with valid Basic credentials get the actions they ask for; anonymous callers get
``pull`` on repositories under ``public/`` and nothing else (like Docker Hub's empty
access list); wrong credentials get 401.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenServer:
    def __init__(
        self,
        workdir: Path,
        *,
        users: Mapping[str, str],
        service: str = "test-registry",
        issuer: str = "test-issuer",
        public_prefix: str = "public/",
    ) -> None:
        self.users = dict(users)
        self.service = service
        self.issuer = issuer
        self.public_prefix = public_prefix
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-token-issuer")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.cert_path = workdir / "token-cert.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.requests = 0
        self.issued: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mint(self, subject: str, access: list[dict[str, Any]]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{_b64url(signature)}"
        with self._lock:
            self.issued.append(token)
        return token

    def _grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            wanted = [a for a in actions.split(",") if a]
            if user is None:
                wanted = (
                    [a for a in wanted if a == "pull"]
                    if name.startswith(self.public_prefix)
                    else []
                )
            if wanted:
                access.append({"type": "repository", "name": name, "actions": wanted})
        return access

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path != "/token" or query.get("service") != [server.service]:
                    self._reply(400, {"errors": [{"code": "BAD_REQUEST"}]})
                    return
                user: str | None = None
                auth = self.headers.get("Authorization")
                if auth:
                    scheme, _, value = auth.partition(" ")
                    try:
                        name, _, password = base64.b64decode(value).decode().partition(":")
                    except ValueError:
                        name, password = "", ""
                    if scheme != "Basic" or server.users.get(name) != password:
                        self._reply(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                        return
                    user = name
                token = server.mint(user or "", server._grant(user, query.get("scope", [])))
                self._reply(200, {"token": token, "access_token": token, "expires_in": 300})

        return Handler
