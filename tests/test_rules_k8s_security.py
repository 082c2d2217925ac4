"""CBP206 image-pull-policy, CBP207 runs-as-root and CBP208 plain-secret-in-env, beyond their
golden cases; and the three over the shared Kubernetes corpus, when it is there."""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

import pytest

from bot.report import json_report, sarif_report, text_report
from fixers import secrets
from fixers.discover import sniff_yaml
from fixers.dockerfile.rules import secret_in_env as dockerfile_secrets
from fixers.engine import Selection, fix_text, scan_text
from fixers.facts import Facts
from fixers.images import parse_image
from fixers.k8s.rules.secret_in_env import secret_key, secret_reason
from fixers.model import Finding, FixSafety, Severity
from fixers.pinning.model import Resolution, resolution_key
from fixers.registry import all_rules, find_rule
from fixers.run import discover, run
from fixers.source import LocalSource
from fixers.textedit import apply_edits
from fixers.yamldoc import YamlError, load_stream
from fixers.yamledit import fill_empty_mapping

CODES = frozenset({"CBP206", "CBP207", "CBP208"})
DIGEST = "sha256:" + "4f1b3c2a" * 8
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "k8s"
CORPUS = sorted(SHARED.iterdir()) if SHARED.is_dir() else []


def _scan(code: str, text: str) -> list[Finding]:
    return scan_text("k8s.yaml", "k8s", text, Selection(only=frozenset({code})))


def _fix(code: str, text: str, *, unsafe: bool = True) -> str:
    outcome = fix_text("k8s.yaml", "k8s", text, Selection(only=frozenset({code})), unsafe=unsafe)
    assert outcome.rejected == []
    return outcome.text


def _pod(container: str, *, pod: str = "", annotations: str = "") -> str:
    """A Pod around one container (its lines indented by 4) and optional pod-level lines."""
    meta = f"  annotations:\n{annotations}" if annotations else ""
    body = "\n".join("    " + line for line in container.strip("\n").split("\n"))
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n{meta}spec:\n{pod}"
        f"  containers:\n  - name: app\n{body}\n"
    )


# --- documentation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "code", "fix", "severity"),
    [
        ("image-pull-policy", "CBP206", FixSafety.SAFE, Severity.WARNING),
        ("runs-as-root", "CBP207", FixSafety.UNSAFE, Severity.WARNING),
        ("plain-secret-in-env", "CBP208", FixSafety.NONE, Severity.ERROR),
    ],
)
def test_rules_are_registered(selector: str, code: str, fix: FixSafety, severity: Severity) -> None:
    rule = find_rule(selector)
    assert rule is not None and rule.doc.code == code and rule.doc.kind == "k8s"
    assert (rule.doc.fix, rule.doc.severity) == (fix, severity)
    assert (rule.doc.after is None) == (fix == FixSafety.NONE)
    names = [r.doc.name for r in all_rules()]
    assert len(names) == len(set(names))


def test_peers_are_exactly_the_checks_that_agree() -> None:
    pull, root, env = (find_rule(c) for c in ("CBP206", "CBP207", "CBP208"))
    assert pull is not None and root is not None and env is not None
    # kube-score, checkov and Polaris want Always everywhere: not peers of the digest advice.
    assert pull.doc.peers == {}
    assert find_rule("CKV_K8S_15") is None
    assert root.doc.peers == {
        "checkov": ("CKV_K8S_23", "CKV_K8S_20", "CKV_K8S_16"),
        "kube-linter": (
            "run-as-non-root",
            "privilege-escalation-container",
            "privileged-container",
        ),
        "polaris": ("runAsRootAllowed", "privilegeEscalationAllowed", "runAsPrivileged"),
        "kube-score": ("container-security-context-privileged",),
    }
    # kube-score's user-group-id check asks for ids >= 10000: another check.
    assert "container-security-context-user-group-id" not in root.doc.peer_ids
    # CKV_K8S_35 prefers Secrets as files over `secretKeyRef`: it would fire on our suggestion.
    assert env.doc.peers == {
        "kube-linter": ("env-var-secret",),
        "polaris": ("sensitiveContainerEnvVar",),
    }
    assert "CKV_K8S_35" in env.doc.fix_notes and "CKV_K8S_35" not in env.doc.peer_ids


# --- CBP206 image-pull-policy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "policy", "expected"),
    [
        ("shop/api:latest", "IfNotPresent", ("Always", FixSafety.UNSAFE, Severity.WARNING)),
        ("shop/api", "IfNotPresent", ("Always", FixSafety.UNSAFE, Severity.WARNING)),
        ("shop/api", "Never", (None, FixSafety.NONE, Severity.WARNING)),
        (f"shop/api@{DIGEST}", "Always", ("IfNotPresent", FixSafety.SAFE, Severity.INFO)),
        (f"shop/api:latest@{DIGEST}", "Always", ("IfNotPresent", FixSafety.SAFE, Severity.INFO)),
        ("shop/api:1.8.2", "Always", (None, FixSafety.NONE, Severity.INFO)),
        ("localhost:5000/api:dev", "Always", (None, FixSafety.NONE, Severity.INFO)),
    ],
)
def test_pull_policy_findings(
    image: str, policy: str, expected: tuple[str | None, FixSafety, Severity]
) -> None:
    text = _pod(f"image: {image}\nimagePullPolicy: {policy}")
    [finding] = _scan("CBP206", text)
    new, safety, severity = expected
    assert (finding.fix_safety, finding.severity, finding.line) == (safety, severity, 9)
    if new is None:
        assert finding.suggestion is not None
        return
    assert finding.fix is not None and finding.suggestion is None
    fixed = apply_edits(text, finding.fix.edits)
    assert fixed == text.replace(f"imagePullPolicy: {policy}", f"imagePullPolicy: {new}")


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("shop/api:latest", "Always"),
        ("shop/api:1.8.2", "IfNotPresent"),
        ("shop/api:1.8.2", "Never"),
        (f"shop/api@{DIGEST}", "IfNotPresent"),
        ("shop/api:latest", "always"),  # Kubernetes rejects it: not ours to judge
        ("shop/api:${TAG}", "IfNotPresent"),  # not a reference yet
    ],
)
def test_pull_policies_that_fit(image: str, policy: str) -> None:
    assert _scan("CBP206", _pod(f'image: "{image}"\nimagePullPolicy: {policy}')) == []
    # No imagePullPolicy: Kubernetes' defaults are the right ones.
    assert _scan("CBP206", _pod(f'image: "{image}"')) == []


def test_safe_fix_leaves_latest_alone_unless_unsafe() -> None:
    text = _pod("image: shop/api:latest\nimagePullPolicy: IfNotPresent")
    assert _fix("CBP206", text, unsafe=False) == text
    assert "imagePullPolicy: Always" in _fix("CBP206", text)


def test_always_peers_silence_the_latest_finding_only() -> None:
    for note in (
        "    kube-score/ignore: container-image-pull-policy\n",
        "    checkov.io/skip1: CKV_K8S_15=loaded by kind\n",
        '    polaris.fairwinds.com/pullPolicyNotAlways-exempt: "true"\n',
    ):
        latest = _pod("image: shop/api:latest\nimagePullPolicy: IfNotPresent", annotations=note)
        assert _scan("CBP206", latest) == []
        pinned = _pod(f"image: shop/api@{DIGEST}\nimagePullPolicy: Always", annotations=note)
        assert len(_scan("CBP206", pinned)) == 1


def test_cbp201_pin_then_always_is_flagged_and_fixed() -> None:
    text = _pod("image: shop/api:latest  # pinned by CBP201\nimagePullPolicy: Always")
    image = parse_image("shop/api:latest")
    assert image is not None
    key = resolution_key(image)
    facts = Facts(resolutions={key: Resolution(key, digest=DIGEST, tag="1.8.2")}, resolved=True)
    assert _scan("CBP206", text) == []  # `Always` is right while the image is `latest`
    selection = Selection(only=frozenset({"CBP201", "CBP206"}), facts=facts)
    outcome = fix_text("k8s.yaml", "k8s", text, selection)
    assert outcome.rejected == []
    assert [f.rule for f in outcome.applied] == ["CBP201", "CBP206"]
    assert outcome.text == text.replace(
        "image: shop/api:latest", f"image: shop/api:1.8.2@{DIGEST}"
    ).replace("imagePullPolicy: Always", "imagePullPolicy: IfNotPresent")


def test_pull_policy_in_custom_resources_and_lists() -> None:
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: canary\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: shop/app@{DIGEST}\n        imagePullPolicy: Always\n"
    )
    [finding] = _scan("CBP206", text)
    assert finding.line == 11 and finding.fix_safety == FixSafety.SAFE


# --- CBP207 runs-as-root ---------------------------------------------------------------------


def _root(text: str) -> list[tuple[str, bool]]:
    return [(f.message, f.fix is not None) for f in _scan("CBP207", text)]


def test_container_settings_override_the_pods() -> None:
    pod = "  securityContext:\n    runAsNonRoot: true\n"
    hardened = "image: x:1\nsecurityContext:\n  allowPrivilegeEscalation: false"
    assert _root(_pod(hardened, pod=pod)) == []
    assert _root(_pod(hardened)) == [
        ("container `app` may run as root (no `runAsNonRoot: true`)", True)
    ]
    override = (
        "image: x:1\nsecurityContext:\n  runAsNonRoot: false\n  allowPrivilegeEscalation: false"
    )
    [(message, fixable)] = _root(_pod(override, pod=pod))
    assert "runAsNonRoot: false" in message and not fixable
    root_pod = "  securityContext:\n    runAsUser: 0\n"
    [(message, fixable)] = _root(
        _pod("image: x:1\nsecurityContext:\n  allowPrivilegeEscalation: false", pod=root_pod)
    )
    assert "runAsUser: 0" in message and not fixable
    user = "image: x:1\nsecurityContext:\n  runAsUser: 10001\n  allowPrivilegeEscalation: false"
    assert _root(_pod(user, pod=root_pod)) == []


def test_pod_level_non_root_needs_only_the_escalation_flag() -> None:
    text = _pod("image: x:1", pod="  securityContext:\n    runAsNonRoot: true\n")
    [finding] = _scan("CBP207", text)
    assert "may run as root" not in finding.message and "escalation" in finding.message
    assert _fix("CBP207", text).endswith(
        "    image: x:1\n    securityContext:\n      allowPrivilegeEscalation: false\n"
    )


def test_root_and_non_root_in_one_context_is_reported() -> None:
    text = _pod(
        "image: x:1\nsecurityContext:\n  runAsUser: 0\n  runAsNonRoot: true\n"
        "  allowPrivilegeEscalation: false"
    )
    [(message, fixable)] = _root(text)
    assert "refuses to start" in message and not fixable


@pytest.mark.parametrize("capability", ["SYS_ADMIN", "CAP_SYS_ADMIN", "sys_admin"])
def test_sys_admin_gets_no_escalation_flag(capability: str) -> None:
    text = _pod(
        f"image: x:1\nsecurityContext:\n  runAsNonRoot: true\n  capabilities:\n"
        f"    add: [{capability}]"
    )
    [(message, fixable)] = _root(text)
    assert "SYS_ADMIN" in message and not fixable


def test_privileged_is_an_error_of_its_own() -> None:
    [finding] = _scan("CBP207", _pod("image: x:1\nsecurityContext:\n  privileged: true"))
    assert finding.severity == Severity.ERROR and finding.fix is None
    assert finding.suggestion is not None and "capabilities" in finding.suggestion


def test_keys_without_values_are_never_written_twice() -> None:
    empty = _pod("image: x:1\nsecurityContext:")
    findings = _scan("CBP207", empty)
    assert findings and all(f.fix is None for f in findings)
    assert _fix("CBP207", empty) == empty
    no_value = _pod("image: x:1\nsecurityContext:\n  runAsNonRoot:")
    assert sorted(_root(no_value)) == [
        (
            "container `app` allows privilege escalation (no `allowPrivilegeEscalation: false`)",
            True,
        ),
        ("container `app` may run as root: `runAsNonRoot` has no value", False),
    ]
    fixed = _fix("CBP207", no_value)
    assert fixed.count("runAsNonRoot") == 1
    assert fixed.endswith("      runAsNonRoot:\n      allowPrivilegeEscalation: false\n")


def test_every_container_list_and_windows() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
        "  initContainers:\n  - name: init\n    image: x:1\n"
        "  containers:\n  - name: app\n    image: x:1\n"
        "  ephemeralContainers:\n  - name: debug\n    image: x:1\n"
    )
    assert [f.line for f in _scan("CBP207", text)] == [7, 10, 13]
    fixed = _fix("CBP207", text)
    assert fixed.count("runAsNonRoot: true") == 3 and _scan("CBP207", fixed) == []
    windows = text.replace("spec:\n", "spec:\n  os:\n    name: windows\n", 1)
    assert _scan("CBP207", windows) == []


def test_fill_empty_mapping() -> None:
    text = "a:\n  b: {}   # empty\n  c: 1\n"
    stream = load_stream(text)
    edits = fill_empty_mapping(stream, stream.documents[0]["a"], "b", {"x": True})
    assert edits is not None
    assert apply_edits(text, edits) == "a:\n  b:   # empty\n    x: true\n  c: 1\n"
    last = "a:\n  b: {}"
    stream = load_stream(last)
    edits = fill_empty_mapping(stream, stream.documents[0]["a"], "b", {"x": True})
    assert edits is not None and apply_edits(last, edits) == "a:\n  b:\n    x: true"
    for other in ("a:\n  b: {y: 1}\n", "a:\n  b:\n    {}\n", "a:\n  b: {}, \n", "a: {b: {}}\n"):
        try:
            stream = load_stream(other)
        except YamlError:
            continue
        assert fill_empty_mapping(stream, stream.documents[0]["a"], "b", {"x": True}) is None


# --- CBP208 plain-secret-in-env --------------------------------------------------------------


def test_heuristics_are_shared_with_the_dockerfile_rule() -> None:
    assert dockerfile_secrets.name_reason is secrets.name_reason
    assert dockerfile_secrets.value_reason is secrets.value_reason


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DB_PASSWORD", "hunter2", "a password"),
        ("dbPassword", "hunter2", "a password"),
        ("UPSTREAM", "AKIAIOSFODNN7EXAMPLE", "AWS access key"),
        ("DATABASE_URL", "postgres://app:hunter2@db/app", "URL with a password"),
        ("DATABASE_URL", "postgres://$(DB_USER):hunter2@db/app", "URL with a password"),
        ("API_TOKEN", "prefix-$(SUFFIX)", "a token"),
        ("SETTING", "Zk3j9QpL2mN8vB4xT7wR1sYc", "random"),
    ],
)
def test_secret_values(name: str, value: str, reason: str) -> None:
    found = secret_reason(name, value)
    assert found is not None and reason in found and value not in found


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgres://app:$(DB_PASSWORD)@db/app"),
        ("API_TOKEN", "$(GITLAB_TOKEN)"),
        ("API_TOKEN", "${GITLAB_TOKEN}"),
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD_FILE", "/run/secrets/db"),
        ("REQUIRE_AUTH", "false"),
        ("AWS_ACCESS_KEY_ID", "shop"),
        ("GIT_COMMIT", "8fb5f9fbc7609fa822cb31549884575db7fd9657"),
    ],
)
def test_values_that_are_not_secrets(name: str, value: str) -> None:
    assert secret_reason(name, value) is None


def test_secret_keys_are_valid() -> None:
    assert secret_key("DB_PASSWORD") == "db-password"
    assert secret_key("apiKey") == "apikey"
    assert re.fullmatch(r"[-._a-zA-Z0-9]+", secret_key("weird name/with:chars"))


def test_suggestion_references_a_secret_named_after_the_workload() -> None:
    text = _pod("image: x:1\nenv:\n- name: STRIPE_API_KEY\n  value: sk_live_0123456789abcdefABCDEF")
    text = text.replace("name: web", "name: Shop_API.v2")
    [finding] = _scan("CBP208", text)
    assert finding.fix is None and finding.severity == Severity.ERROR
    assert finding.line == 11 and "Stripe" in finding.message
    assert finding.suggestion is not None
    assert "secretKeyRef: {name: shop-api-v2-secrets, key: stripe-api-key}" in finding.suggestion
    assert "sk_live" not in finding.suggestion + finding.message


def test_non_string_values_and_value_from() -> None:
    text = _pod(
        "image: x:1\nenv:\n- name: PIN_PASSWORD\n  value: 123456\n- name: FLAG_TOKEN\n  value: true"
    )
    [finding] = _scan("CBP208", text)
    assert "`PIN_PASSWORD`" in finding.message
    both = _pod(
        "image: x:1\nenv:\n- name: DB_PASSWORD\n  value: x\n"
        "  valueFrom: {secretKeyRef: {name: s, key: k}}"
    )
    assert _scan("CBP208", both) == []


SECRET_VALUES = (
    "hunter2",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "correct-horse-battery-staple",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "sk_live_0123456789abcdefABCDEF",
    "Zk3j9QpL2mN8vB4xT7wR1sYc",
)


def test_secret_values_appear_in_no_finding_and_no_report(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "api.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n"
        "  selector:\n    matchLabels: {app: api}\n  template:\n"
        "    metadata:\n      labels: {app: api}\n    spec:\n      containers:\n"
        "      - name: api\n        image: shop/api:latest\n        env:\n"
        "        - name: DB_PASSWORD\n          value: hunter2\n"
        "        - name: UPSTREAM\n          value: AKIAIOSFODNN7EXAMPLE\n"
        "        - name: GH_TOKEN\n          value: 'ghp_0123456789abcdefghijABCDEFGHIJ012345'\n"
        '        - name: ADMIN_PASSWORD\n          value: "correct-horse-battery-staple"\n'
        "        - name: TLS_KEY\n          value: |\n"
        "            -----BEGIN RSA PRIVATE KEY-----\n"
        "            MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
        "        - name: STRIPE\n          value: sk_live_0123456789abcdefABCDEF\n"
        "        - name: SETTING\n          value: Zk3j9QpL2mN8vB4xT7wR1sYc\n"
    )
    source = LocalSource(tmp_path)
    selection = Selection(only=CODES)
    result = run(source, discover(source), selection)
    secret_findings = [f for f in result.findings if f.rule == "CBP208"]
    assert [f.line for f in secret_findings] == [17, 19, 21, 23, 25, 29, 31]
    for finding in result.findings:
        fields = repr(dataclasses.astuple(finding))
        assert not [v for v in SECRET_VALUES if v in fields]
    for explain in (False, True):
        report = text_report.render(result, explain=explain, fixing=False, diff=False, unsafe=False)
        assert "CBP208" in report and "secretKeyRef" in report
        assert not [v for v in SECRET_VALUES if v in report]
    fixed = run(source, discover(source), selection, fix=True, unsafe=True)
    assert any(f.changed for f in fixed.files)  # CBP207 and CBP206 did fix something
    for module in (json_report, sarif_report):
        report = module.render(result, explain=True, fixing=False, diff=False, unsafe=True)
        assert not [v for v in SECRET_VALUES if v in report]
    # The diff of a fix shows context lines only: none of them may carry a secret either.
    report = text_report.render(fixed, explain=True, fixing=True, diff=False, unsafe=True)
    assert not [v for v in SECRET_VALUES if v in report]


# --- the three over the shared corpus --------------------------------------------------------


def _documents(text: str) -> list[str]:
    """The text split at document markers (``---`` lines), markers kept with what follows."""
    parts = re.split(r"(?m)^(?=---)", text)
    return [p for p in parts if p]


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS, reason="../shared/corpus/k8s is not beside the checkout")
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    if sniff_yaml(path.name, text) != "k8s":
        return
    selection = Selection(only=CODES)
    try:
        findings = scan_text(path.name, "k8s", text, selection)
    except YamlError as exc:
        assert "duplicate key" in str(exc)  # the corpus's known defect: a per-file error
        return
    once = fix_text(path.name, "k8s", text, selection, unsafe=True, findings=findings)
    assert once.rejected == []
    assert fix_text(path.name, "k8s", once.text, selection, unsafe=True).text == once.text
    assert not [f for f in once.remaining if f.fix is not None]
    before, after = _documents(text), _documents(once.text)
    assert len(before) == len(after)
    fixed_lines = {f.line for f in once.applied}
    line = 1
    for old, new in zip(before, after, strict=True):
        lines = range(line, line + old.count("\n") + 1)
        line += old.count("\n")
        if not fixed_lines & set(lines):
            assert old == new  # a document no fix touched stays byte for byte
            continue
        removed = [d for d in difflib.ndiff(old.splitlines(), new.splitlines()) if d[0] == "-"]
        added = [d for d in difflib.ndiff(old.splitlines(), new.splitlines()) if d[0] == "+"]
        assert all("imagePullPolicy" in d for d in removed), removed
        allowed = ("imagePullPolicy", "securityContext", "runAsNonRoot", "allowPrivilegeEscalation")
        assert all(any(k in d for k in allowed) for d in added), added
