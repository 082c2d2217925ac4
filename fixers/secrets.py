"""Whether a variable holds a secret, from its name or its value: the heuristics shared by the
rules that look for credentials written into files (Dockerfile ``ENV``/``ARG``, Kubernetes
``env``). Pure functions; reasons never quote the value."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection

# Whole parts of a variable name (split at `_`, `-`, `.` and camelCase) that name a credential.
_SECRET_PARTS = {
    "PASSWORD": "a password", "PASSWORDS": "a password", "PASSWD": "a password",
    "PASS": "a password", "PASSPHRASE": "a password", "PWD": "a password",
    "SECRET": "a secret", "SECRETS": "a secret",
    "TOKEN": "a token", "TOKENS": "a token", "PAT": "a token", "APITOKEN": "a token",
    "AUTHTOKEN": "a token", "ACCESSTOKEN": "a token",
    "APIKEY": "a key", "ACCESSKEY": "a key", "SECRETKEY": "a key", "PRIVATEKEY": "a key",
    "CREDENTIAL": "credentials", "CREDENTIALS": "credentials", "CREDS": "credentials",
    "AUTH": "credentials",
}  # fmt: skip
# Password words glued to what they protect, with no separator or case change to split at:
# `PGPASSWORD` (libpq), `dbpassword`, `ROOTPASSWD`. These match after any prefix; `PASS`
# only after the prefixes below (`SSHPASS` for sshpass, `STOREPASS`/`KEYPASS` for keytool),
# not in words like `BYPASS`, `COMPASS` or `GIT_ASKPASS` (a program).
_GLUED_PASSWORDS = ("PASSWORD", "PASSWD", "PASSPHRASE")
_PASS_PREFIXES = frozenset(
    {"DB", "PG", "MYSQL", "SQL", "MSSQL", "SA", "SMTP", "FTP", "SSH", "LDAP", "ADMIN", "ROOT",
     "USER", "MAIL", "REDIS", "MONGO", "RABBITMQ", "KEY", "STORE", "KEYSTORE", "TRUSTSTORE"}
)  # fmt: skip
# `<X>_KEY` is a credential for these X only: GPG_KEY (a public fingerprint) or
# SSH_PUBLIC_KEY are not.
_KEY_PREFIXES = frozenset(
    {
        "API", "ACCESS", "PRIVATE", "SECRET", "ENCRYPTION", "SIGNING", "MASTER", "ACCOUNT",
        "LICENSE", "SSH", "APP", "STORAGE", "SHARED", "HMAC", "JWT", "DEPLOY", "SESSION",
        "CLIENT", "SERVICE", "AUTH",
    }
)  # fmt: skip
# Parts that may follow the credential word and still name the secret itself (`SECRET_KEY_BASE`,
# `API_KEY_PROD`); any other part after it names something next to the secret: a file holding
# it (`DB_PASSWORD_FILE`, docker secrets), `AUTH_URL`, `TOKEN_TTL`, `AWS_ACCESS_KEY_ID`.
_SECRET_TAILS = frozenset(
    {
        "BASE", "VALUE", "STR", "STRING", "B64", "BASE64", "JSON", "RAW", "PLAIN", "TEXT",
        "ENCODED", "PROD", "PRODUCTION", "DEV", "TEST", "STAGING", "LIVE", "OLD", "NEW",
    }
)  # fmt: skip
# Names whose long values are identifiers, digests, versions or public keys: no entropy guess.
_DIGEST_PARTS = frozenset(
    {
        "SHA", "SHA1", "SHA256", "SHA512", "MD5", "CHECKSUM", "HASH", "DIGEST", "FINGERPRINT",
        "COMMIT", "REF", "REVISION", "REV", "VERSION", "GPG", "KEYS", "ID", "UUID", "INTEGRITY",
        "BUILD", "TAG", "PUBLIC", "PUB", "CERT", "CERTIFICATE", "CA",
    }
)  # fmt: skip
# Public material that looks random but is meant to be shared.
_PUBLIC_VALUE = re.compile(
    r"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-ssh-\S+) [A-Za-z0-9+/=]+"
    r"|-----BEGIN (?:CERTIFICATE|PUBLIC KEY)"
)
_NOT_SECRET_VALUES = frozenset(
    {"", "true", "false", "yes", "no", "on", "off", "0", "1", "none", "null", "disabled"}
)

_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY"), "value looks like a private key"),
    (re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
     "value looks like an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
     "value looks like a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20}"), "value looks like a GitLab token"),
    (re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"), "value looks like a Slack token"),
    (re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}"), "value looks like a Stripe live key"),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "value looks like an npm token"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "value looks like a Google API key"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
     "value looks like a JSON Web Token"),
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
     "value is a URL with a password in it"),
)  # fmt: skip
_RANDOM = re.compile(r"[A-Za-z0-9+/=_-]{21,}")
_HEXISH = re.compile(r"[0-9a-fA-F-]+")
VAR_REF = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+?][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_parts(name: str) -> list[str]:
    """``dbPassword`` -> ``["DB", "PASSWORD"]``; ``API_KEY`` -> ``["API", "KEY"]``."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        parts.extend(p.upper() for p in _CAMEL.findall(chunk))
    return parts


def _glued_password(part: str) -> bool:
    """``PGPASSWORD``, ``ROOTPASSWD``, ``SSHPASS``: a password word after a glued prefix."""
    for word in _GLUED_PASSWORDS:
        if part.endswith(word) and part[: -len(word)] not in ("", "NO"):  # sudo's NOPASSWD
            return True
    return part.endswith("PASS") and part[: -len("PASS")] in _PASS_PREFIXES


def name_reason(name: str) -> str | None:
    """What the name says it holds ("a password"), or None when it does not name a secret."""
    parts = name_parts(name)
    if parts == ["PWD"]:
        return None  # the shell's working directory
    found: str | None = None
    for i, part in enumerate(parts):
        if part in _SECRET_PARTS:
            found = _SECRET_PARTS[part]
        elif part == "KEY" and i > 0 and parts[i - 1] in _KEY_PREFIXES:
            found = "a key"
        elif _glued_password(part):
            found = "a password"
        elif found is not None and part not in _SECRET_TAILS and not part.isdigit():
            found = None
    return found


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def looks_random(token: str) -> bool:
    """A long base64-ish string of mixed case and digits: an API key or similar."""
    if not _RANDOM.fullmatch(token) or _HEXISH.fullmatch(token):
        return False  # hex: checksums, commits, GPG fingerprints
    if token.startswith("-") or "//" in token:
        return False
    if not (re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token)):
        return False
    # Words glued together (`MyApplicationName2024`) have long letter runs; random keys do not.
    if sum(1 for piece in re.split(r"[_-]", token) if len(piece) >= 3 and piece.isalpha()) >= 2:
        return False  # WORDS_JOINED_LIKE_THIS
    segments = _SEGMENT.findall(token)
    if sum(map(len, segments)) / max(1, len(segments)) >= 3.5:
        return False
    return _entropy(token) >= 3.8


def value_reason(name: str, value: str, build_args: Collection[str] = ()) -> str | None:
    """Why a value looks like a secret, never quoting it.

    ``$X``/``${X}`` references to names in ``build_args`` (variables the file itself fills in,
    such as a Dockerfile's build args) count as values: `user:${DB_PASS}@` bakes the password
    in; other references expand to what is already there, or to nothing.
    """

    def expand(m: re.Match[str]) -> str:
        return "ARG" if (m.group(1) or m.group(2)) in build_args else ""

    expanded = VAR_REF.sub(expand, value)
    for pattern, reason in _VALUE_PATTERNS:
        if pattern.search(expanded):
            return reason
    if not set(name_parts(name)) & _DIGEST_PARTS and not _PUBLIC_VALUE.search(value):
        bare = VAR_REF.sub(" ", value)
        if any(looks_random(token) for token in bare.split()):
            return "value looks like a random key (a long high-entropy string)"
    return None


def harmless(value: str) -> bool:
    """Values that hold no secret whatever the name: booleans, paths, plain URLs."""
    v = value.strip()
    if v.lower() in _NOT_SECRET_VALUES:
        return True
    if v.startswith(("/", "./", "~/")) and " " not in v:
        return True
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", v))


def var_refs(value: str) -> list[str]:
    """The names ``$X`` and ``${X}`` references in ``value`` point to."""
    return [m.group(1) or m.group(2) for m in VAR_REF.finditer(value)]
