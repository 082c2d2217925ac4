"""CBP107: no secrets in ``ENV`` or ``ARG``: they are stored in the image for anyone to read."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from fixers.dockerfile.parser import Dockerfile, Instruction
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.textedit import line_starts, offset_to_line

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
_VAR_REF = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+?][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Checkov has no Dockerfile check for secrets in ENV/ARG; the ids of its secrets scanner for
# the value patterns recognised here are peers, so `checkov:skip=` comments for them count:
# AWS access key, basic auth credentials (URLs), base64 high entropy string, JSON web token,
# npm token, private key, Slack token, Stripe access key.
_CHECKOV_SECRET_IDS = (
    "CKV_SECRET_2", "CKV_SECRET_4", "CKV_SECRET_6", "CKV_SECRET_9",
    "CKV_SECRET_12", "CKV_SECRET_13", "CKV_SECRET_14", "CKV_SECRET_17",
)  # fmt: skip

_STORED = "it is stored in the image config and history, readable by anyone who can pull the image"


def name_parts(name: str) -> list[str]:
    """``dbPassword`` -> ``["DB", "PASSWORD"]``; ``API_KEY`` -> ``["API", "KEY"]``."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        parts.extend(p.upper() for p in _CAMEL.findall(chunk))
    return parts


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
        elif found is not None and part not in _SECRET_TAILS and not part.isdigit():
            found = None
    return found


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def _looks_random(token: str) -> bool:
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

    References to ``build_args`` count as values (`user:${DB_PASS}@` bakes the password in);
    other references expand to what is already in the image, or to nothing.
    """

    def expand(m: re.Match[str]) -> str:
        return "ARG" if (m.group(1) or m.group(2)) in build_args else ""

    expanded = _VAR_REF.sub(expand, value)
    for pattern, reason in _VALUE_PATTERNS:
        if pattern.search(expanded):
            return reason
    if not set(name_parts(name)) & _DIGEST_PARTS and not _PUBLIC_VALUE.search(value):
        bare = _VAR_REF.sub(" ", value)
        if any(_looks_random(token) for token in bare.split()):
            return "value looks like a random key (a long high-entropy string)"
    return None


def _harmless(value: str) -> bool:
    """Values that hold no secret whatever the name: booleans, paths, plain URLs."""
    v = value.strip()
    if v.lower() in _NOT_SECRET_VALUES:
        return True
    if v.startswith(("/", "./", "~/")) and " " not in v:
        return True
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", v))


def _refs(value: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _VAR_REF.finditer(value)]


@dataclass(frozen=True)
class _Assignment:
    name: str
    value: str | None  # None: an ARG without a default
    index: int  # index into the instruction's logical text where the name starts


def _words(text: str, escape: str) -> list[tuple[str, int]]:
    """Whitespace-separated words, quotes and escapes removed, with their start index."""
    out: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
            continue
        start = i
        value: list[str] = []
        quote: str | None = None
        while i < n:
            c = text[i]
            if quote:
                if c == quote:
                    quote = None
                elif c == escape and quote == '"' and i + 1 < n:
                    i += 1
                    value.append(text[i])
                else:
                    value.append(c)
            elif c in "'\"":
                quote = c
            elif c == escape and i + 1 < n:
                i += 1
                value.append(text[i])
            elif c in " \t\r\n":
                break
            else:
                value.append(c)
            i += 1
        out.append(("".join(value), start))
    return out


def assignments(ins: Instruction, escape: str) -> list[_Assignment]:
    """The variables an ENV or ARG instruction sets, in its three syntaxes."""
    base = ins.args_index
    text = ins.logical[base:]
    words = _words(text, escape)
    if not words:
        return []
    if ins.keyword == "ENV" and "=" not in words[0][0]:
        # Legacy `ENV NAME value with spaces`: the rest of the line is the value.
        name, start = words[0]
        value = " ".join(w for w, _ in words[1:])
        return [_Assignment(name, value, base + start)]
    out = []
    for word, start in words:
        name, sep, value = word.partition("=")
        if name:
            out.append(_Assignment(name, value if sep else None, base + start))
    return out


class SecretInEnv(Rule[Dockerfile]):
    doc = RuleDoc(
        code="CBP107",
        name="secret-in-env",
        kind="dockerfile",
        title="Keep secrets out of `ENV` and `ARG`; use build secrets and runtime secrets",
        what=(
            "Flags `ENV` and `ARG` instructions that set a variable named like a credential "
            "(whole name parts such as `PASSWORD`, `PASSWD`, `SECRET`, `TOKEN`, `API_KEY`, "
            "`ACCESS_KEY`, `PRIVATE_KEY`, `CREDENTIALS`, `AUTH`), or whose value looks like "
            "one (an AWS access key id, GitHub, GitLab, Slack, npm or Stripe live tokens, a "
            "private key block, a JSON Web Token, a URL with `user:password@`, a long random "
            "string). An `ENV` that copies a build arg (`ENV TOKEN=$TOKEN`) is flagged too, "
            "and an `ARG` with no default is flagged with a milder message. Left alone: "
            "names like `TOKENIZER_PATH` or `AUTHOR`, paths to secret files (`*_FILE`, "
            "`*_PATH`), `*_URL`, `*_ID`, `*_ENABLED` and similar, `GPG_KEY` (a public key "
            "fingerprint) and `*_PUBLIC_KEY`, booleans, paths and hex digests. Findings "
            "name the variable and the reason, never the value."
        ),
        why=(
            "`ENV` and `ARG` values are stored in the image config and layer history: anyone "
            "who can pull the image can read them with `docker history` or `docker inspect`, "
            "and every container started from it inherits them. A build arg used by a `RUN` "
            "is recorded in that layer's history and in build provenance, so `--build-arg` "
            "is no safer. A secret written in the Dockerfile is also in the repository. Give "
            "secrets to the build with `RUN --mount=type=secret` (they exist only for that "
            "step and never reach a layer) and to containers at run time (Kubernetes "
            "Secrets, `docker run --env-file`, a secret manager)."
        ),
        before=("ARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n"),
        after=None,
        fix=FixSafety.NONE,
        fix_notes=(
            "Detect-only: moving a secret to `RUN --mount=type=secret,id=npm_token,"
            "env=NPM_TOKEN npm ci` (built with `docker build --secret id=npm_token,"
            "env=NPM_TOKEN`) changes how the image is built and run, and a secret already "
            "committed must be rotated, which no edit can do."
        ),
        severity=Severity.ERROR,
        references=(
            "https://docs.docker.com/build/building/secrets/",
            "https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/",
            "https://kubernetes.io/docs/concepts/configuration/secret/",
        ),
        # Checkov has no Dockerfile check for this; its secrets scanner's ids for the value
        # patterns recognised here are peers, so `checkov:skip=` comments for them count.
        peers={"checkov": _CHECKOV_SECRET_IDS, "buildkit": ("SecretsUsedInArgOrEnv",)},
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        starts = line_starts(doc.text)
        build_args: set[str] = set()
        for ins in doc.instructions:
            if ins.keyword == "FROM":
                build_args = set()  # an ARG is in scope in its own stage only
            if ins.keyword not in ("ENV", "ARG"):
                continue
            for a in assignments(ins, doc.escape):
                message = self._message(ins.keyword, a, build_args)
                if ins.keyword == "ARG":
                    build_args.add(a.name)
                if message is None:
                    continue
                offset = ins.offset(a.index)
                line = offset_to_line(starts, offset)
                yield self.finding(
                    ctx,
                    line,
                    message,
                    column=offset - starts[line - 1] + 1,
                    suggestion=_suggestion(a.name),
                )

    def _message(self, keyword: str, a: _Assignment, build_args: set[str]) -> str | None:
        named = name_reason(a.name)
        value = a.value
        if value is None or (keyword == "ARG" and not value.strip()):
            if named is None:
                return None
            return (
                f"build arg `{a.name}` looks like {named}; build arg values are recorded "
                "in the image history and build metadata, pass it as a build secret instead"
            )
        reason = value_reason(a.name, value, build_args)
        if reason is None:
            copied = [r for r in _refs(value) if r in build_args]
            secret_arg = next((r for r in copied if name_reason(r)), None)
            if secret_arg is not None and keyword == "ENV":
                what = name_reason(secret_arg)
                return (
                    f"ENV `{a.name}` copies build arg `{secret_arg}` (named like {what}) "
                    f"into the image; {_STORED}"
                )
            only_refs = not _VAR_REF.sub("", value).strip()
            if named is None or _harmless(value) or (only_refs and not copied):
                return None
            if only_refs and keyword == "ENV":
                return f"ENV `{a.name}` copies build arg `{copied[0]}` into the image; {_STORED}"
            reason = f"its name looks like {named}"
        if keyword == "ARG":
            return (
                f"ARG `{a.name}` has a default value: {reason}; it is in the Dockerfile and "
                "the image history"
            )
        return f"ENV `{a.name}`: {reason}; {_STORED}"


def _suggestion(name: str) -> str:
    ident = name.lower()
    return (
        f"at build time: `RUN --mount=type=secret,id={ident},env={name} <command>` with "
        f"`docker build --secret id={ident},env={name}`; at run time: a Kubernetes Secret or "
        "`docker run --env-file`"
    )
