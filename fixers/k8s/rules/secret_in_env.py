"""CBP208: no credentials written as literal ``env`` values in manifests: reference a Secret."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.k8s.kind import K8sDoc, Manifest, containers
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.secrets import VAR_REF, harmless, name_reason, value_reason

# `$(NAME)`: Kubernetes expands it from the container's other variables (`$$(NAME)` is a
# literal); like `${NAME}` (envsubst and similar), it is a reference, not a value.
K8S_VAR_REF = re.compile(r"(?<!\$)\$\([A-Za-z_][A-Za-z0-9_.-]*\)")
# A reference right before `:` is the user of a URL's `user:password@`: it stands for a name,
# so that a literal password after it is still seen.
_USER_REF = re.compile(rf"(?:{K8S_VAR_REF.pattern}|{VAR_REF.pattern})(?=:)")
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")
_SECRET_KEY = re.compile(r"[^-._a-zA-Z0-9]+")


def literal(value: str) -> str:
    """The value with its references removed: what is written out in the manifest."""
    return VAR_REF.sub("", K8S_VAR_REF.sub("", value))


def secret_reason(name: str, value: str) -> str | None:
    """Why the literal ``value`` of variable ``name`` looks like a secret (never quoting it)."""
    bare = K8S_VAR_REF.sub("", _USER_REF.sub("user", value))
    reason = value_reason(name, bare)
    if reason is not None:
        return reason
    named = name_reason(name)
    if named is None or harmless(value) or not literal(value).strip():
        return None
    return f"its name looks like {named}"


def secret_name(manifest: Manifest) -> str:
    """A placeholder Secret name for the workload: ``<name>-secrets``."""
    base = _DNS_LABEL.sub("-", str(manifest.name or manifest.kind).lower()).strip("-")
    return f"{base[:200] or 'app'}-secrets"


def secret_key(variable: str) -> str:
    """``DB_PASSWORD`` -> ``db-password`` (a valid Secret key)."""
    return _SECRET_KEY.sub("-", variable.lower().replace("_", "-")).strip("-.") or "value"


def _suggestion(manifest: Manifest, variable: str) -> str:
    secret, key = secret_name(manifest), secret_key(variable)
    return (
        f"put the value in a Secret (`kubectl create secret generic {secret} "
        f"--from-literal={key}=...`, or Sealed Secrets / External Secrets, never in git) and "
        f"reference it: `- name: {variable}` / `valueFrom: {{secretKeyRef: {{name: {secret}, "
        f"key: {key}}}}}`, or mount the Secret as a file; then rotate the value: it stays in "
        "the git history"
    )


def _value_line(item: CommentedMap) -> int:
    try:
        return int(item.lc.value("value")[0]) + 1
    except (KeyError, TypeError):
        return int(item.lc.line) + 1


class PlainSecretInEnv(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP208",
        name="plain-secret-in-env",
        kind="k8s",
        title="Reference Secrets from `env`; never write credentials into a manifest",
        what=(
            "Flags `env` entries of containers (every workload kind, custom resources "
            "included) with a literal `value` whose variable is named like a credential "
            "(whole name parts such as `PASSWORD`, `SECRET`, `TOKEN`, `API_KEY`, "
            "`CREDENTIALS`, or glued ones such as `PGPASSWORD`) or whose value looks like "
            "one (AWS, GitHub, GitLab, Slack, npm or Stripe tokens, a private key, a JSON "
            "Web Token, a URL with `user:password@`, a long random string): the same "
            "heuristics as CBP107 for Dockerfiles. Left alone: `valueFrom` references, values "
            "that only reference other variables (`$(DB_PASSWORD)`), empty values, booleans, "
            "paths and plain URLs, and names like `*_FILE`, `*_PATH`, `*_URL`, `*_ID`. "
            "Findings name the variable and the reason, never the value."
        ),
        why=(
            "A manifest lives in git, in CI logs and in every clone, and the value is served "
            "back by `kubectl get -o yaml` and `kubectl describe` to anyone who can read the "
            "Deployment, a much wider group than those who may read Secrets. A Secret can be "
            "restricted with RBAC, encrypted at rest, kept out of git (Sealed Secrets, "
            "External Secrets, a secret manager) and rotated without editing the workload."
        ),
        before=(
            "containers:\n  - name: api\n    env:\n      - name: DB_PASSWORD\n"
            "        value: p4ssw0rd\n"
        ),
        after=None,
        fix=FixSafety.NONE,
        fix_notes=(
            "Detect-only: the value has to go to a Secret that no edit of this file can create "
            "safely (writing it into a Secret manifest would keep it in git), and a credential "
            "that was committed must be rotated. The suggestion shows the `valueFrom."
            "secretKeyRef` to use, with a placeholder Secret named after the workload. checkov "
            "`CKV_K8S_35` (and kube-linter `read-secret-from-env-var`) go one step further and "
            "flag Secrets read through `env` at all, preferring files; that is a different "
            "check (it fires on the `secretKeyRef` this rule suggests), so it is not a peer."
        ),
        severity=Severity.ERROR,
        references=(
            "https://kubernetes.io/docs/concepts/configuration/secret/",
            "https://kubernetes.io/docs/tasks/inject-data-application/distribute-credentials-secure/",
            "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        ),
        peers={"kube-linter": ("env-var-secret",), "polaris": ("sensitiveContainerEnvVar",)},
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        for manifest in ctx.doc.manifests:
            for container in containers(manifest):
                env = container.get("env")
                if not isinstance(env, CommentedSeq):
                    continue
                for item in env:
                    if isinstance(item, CommentedMap):
                        finding = self._entry(ctx, manifest, container, item)
                        if finding is not None:
                            yield finding

    def _entry(
        self, ctx: Context[K8sDoc], manifest: Manifest, container: CommentedMap, item: CommentedMap
    ) -> Finding | None:
        variable, value = item.get("name"), item.get("value")
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        if not isinstance(variable, str) or "valueFrom" in item:
            return None
        reason = secret_reason(variable, str(value))
        if reason is None:
            return None
        owner = f"{manifest.kind} `{manifest.name}`" if manifest.name else f"the {manifest.kind}"
        return self.finding(
            ctx,
            _value_line(item),
            f"env `{variable}` of container `{container.get('name', '?')}` is written into "
            f"the manifest: {reason}; anyone who can read the repository or {owner} "
            "(`kubectl get -o yaml`) can read it",
            suggestion=_suggestion(manifest, variable),
        )
