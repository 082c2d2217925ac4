"""CBP107: no secrets in ``ENV`` or ``ARG``: they are stored in the image for anyone to read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fixers.dockerfile.parser import Dockerfile, Instruction
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.secrets import VAR_REF, harmless, name_reason, value_reason, var_refs
from fixers.textedit import line_starts, offset_to_line

# The name and value heuristics live in fixers.secrets (shared with Kubernetes' CBP208).
__all__ = ["SecretInEnv", "assignments", "name_reason", "value_reason"]

# Checkov has no Dockerfile check for secrets in ENV/ARG; the ids of its secrets scanner for
# the value patterns recognised here are peers, so `checkov:skip=` comments for them count:
# AWS access key, basic auth credentials (URLs), base64 high entropy string, JSON web token,
# npm token, private key, Slack token, Stripe access key.
_CHECKOV_SECRET_IDS = (
    "CKV_SECRET_2", "CKV_SECRET_4", "CKV_SECRET_6", "CKV_SECRET_9",
    "CKV_SECRET_12", "CKV_SECRET_13", "CKV_SECRET_14", "CKV_SECRET_17",
)  # fmt: skip

_STORED = "it is stored in the image config and history, readable by anyone who can pull the image"


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
            "`ACCESS_KEY`, `PRIVATE_KEY`, `CREDENTIALS`, `AUTH`, and password words glued to "
            "a prefix: `PGPASSWORD`, `ROOTPASSWD`, `SSHPASS`), or whose value looks like "
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
            copied = [r for r in var_refs(value) if r in build_args]
            secret_arg = next((r for r in copied if name_reason(r)), None)
            if secret_arg is not None and keyword == "ENV":
                what = name_reason(secret_arg)
                return (
                    f"ENV `{a.name}` copies build arg `{secret_arg}` (named like {what}) "
                    f"into the image; {_STORED}"
                )
            only_refs = not VAR_REF.sub("", value).strip()
            if named is None or harmless(value) or (only_refs and not copied):
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
