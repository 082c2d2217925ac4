"""Registry authentication: ``WWW-Authenticate`` challenges, token requests and credentials.

Credentials come from ``CONTAINER_BP_REGISTRY_AUTH`` (JSON, either
``{"host": {"username": ..., "password": ...}}`` or Docker's
``{"auths": {"host": {"auth": base64("user:pass")}}}``) and from ``$DOCKER_CONFIG/config.json``
or ``~/.docker/config.json`` (``auths`` only; credential helpers are not run). The environment
wins over the file. Secrets never reach logs, exceptions or ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fixers.images import DOCKER_HUB, DOCKER_HUB_ALIASES

log = logging.getLogger(__name__)

AUTH_ENV = "CONTAINER_BP_REGISTRY_AUTH"


@dataclass(frozen=True, repr=False)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<redacted>)"

    __str__ = __repr__

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header; ``scheme`` is lower case."""

    scheme: str
    params: Mapping[str, str]

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SPACE = re.compile(r"[ \t]*")


def parse_www_authenticate(headers: str | Iterable[str]) -> list[Challenge]:
    """Every challenge in one or more ``WWW-Authenticate`` values (RFC 9110 syntax: quoted
    values may hold commas and escaped quotes). Unparsable parts are skipped."""
    values = [headers] if isinstance(headers, str) else list(headers)
    challenges: list[Challenge] = []
    for value in values:
        scheme: str | None = None
        params: dict[str, str] = {}
        pos = 0
        while pos < len(value):
            if value[pos] in " \t,":
                pos += 1
                continue
            m = _TOKEN.match(value, pos)
            if m is None:  # garbage: skip a stray quoted string or one character
                q = _QUOTED.match(value, pos)
                pos = q.end() if q else pos + 1
                continue
            name, pos = m.group(), m.end()
            after = _SPACE.match(value, pos)
            look = after.end() if after else pos
            if scheme is not None and look < len(value) and value[look] == "=":
                pos = _SPACE.match(value, look + 1).end()  # type: ignore[union-attr]
                q = _QUOTED.match(value, pos)
                if q is not None:
                    params[name.lower()] = re.sub(r"\\(.)", r"\1", q.group(1))
                    pos = q.end()
                    continue
                t = _TOKEN.match(value, pos)
                if t is not None:
                    params[name.lower()] = t.group()
                    pos = t.end()
                else:  # token68 padding or an empty value: skip it
                    while pos < len(value) and value[pos] == "=":
                        pos += 1
                continue
            if scheme is not None:
                challenges.append(Challenge(scheme, params))
            scheme, params = name.lower(), {}
        if scheme is not None:
            challenges.append(Challenge(scheme, params))
    return challenges


def select_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """Bearer (with a realm) before Basic; None when neither is offered."""
    found = list(challenges)
    for c in found:
        if c.scheme == "bearer" and c.realm:
            return c
    for c in found:
        if c.scheme == "basic":
            return c
    return None


def token_scope(repository: str, actions: str = "pull") -> str:
    return f"repository:{repository}:{actions}"


def parse_token_response(body: bytes) -> str | None:
    """The token of a token-server answer (``token`` or ``access_token``), or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for name in ("token", "access_token"):
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def normalize_host(text: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``HTTP://LocalHost:5000`` ->
    ``localhost:5000``: the form credentials are keyed by."""
    text = text.strip()
    host = urlsplit(text).netloc if "://" in text else text.split("/", 1)[0]
    host = host.rsplit("@", 1)[-1].lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def _entry_credentials(entry: Any) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(password, str) and user:
        return Credentials(user, password)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        if sep and user:
            return Credentials(user, password)
    return None


def parse_credentials(data: Any) -> dict[str, Credentials]:
    """Credentials from decoded JSON in either supported shape."""
    if not isinstance(data, dict):
        return {}
    auths = data.get("auths")
    entries: dict[Any, Any] = auths if isinstance(auths, dict) else data
    out: dict[str, Credentials] = {}
    for host, entry in entries.items():
        creds = _entry_credentials(entry)
        if isinstance(host, str) and creds is not None:
            out[normalize_host(host)] = creds
    return out


def docker_config_path(environ: Mapping[str, str]) -> Path | None:
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"]) / "config.json"
    home = environ.get("HOME")
    return Path(home) / ".docker" / "config.json" if home else None


def load_credentials(
    environ: Mapping[str, str] | None = None, *, config_path: Path | None = None
) -> dict[str, Credentials]:
    """Credentials by normalised host: the Docker config file, overridden by the environment.
    Unreadable sources are logged (without their content) and skipped."""
    env = os.environ if environ is None else environ
    out: dict[str, Credentials] = {}
    path = config_path if config_path is not None else docker_config_path(env)
    if path is not None and path.is_file():
        try:
            out.update(parse_credentials(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            log.warning("ignoring unreadable Docker config %s", path)
    raw = env.get(AUTH_ENV)
    if raw:
        try:
            out.update(parse_credentials(json.loads(raw)))
        except ValueError:
            log.warning("ignoring %s: not valid JSON", AUTH_ENV)
    return out
