"""CBP203 missing-probes and CBP204 writable-root-filesystem, beyond their golden cases."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from fixers.discover import sniff_yaml
from fixers.engine import Selection, fix_text, scan_text
from fixers.k8s.kind import parse_manifests
from fixers.k8s.rules import missing_probes as mp
from fixers.k8s.rules import writable_root_filesystem as wr
from fixers.k8s.workloads import POD_SPEC_PATHS
from fixers.model import Finding, FixSafety, Severity
from fixers.registry import find_rule
from fixers.yamldoc import YamlError, load_stream
from tests.golden import FIXTURES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
K8S = sorted((SHARED / "k8s").iterdir()) if (SHARED / "k8s").is_dir() else []
BOTH = frozenset({"CBP203", "CBP204"})


def _scan(code: str, text: str) -> list[Finding]:
    return scan_text("deploy.yaml", "k8s", text, Selection(only=frozenset({code})))


def _fix(code: str, text: str, *, unsafe: bool = True) -> str:
    outcome = fix_text("deploy.yaml", "k8s", text, Selection(only=frozenset({code})), unsafe=unsafe)
    assert outcome.rejected == []
    return outcome.text


def _container(text: str, index: int = 0, key: str = "containers") -> Any:
    doc = load_stream(text).documents[0]
    spec = doc["spec"]["template"]["spec"] if "template" in doc["spec"] else doc["spec"]
    return spec[key][index]


def _deployment(container: str, *, spec_extra: str = "") -> str:
    """A Deployment whose one container is ``container`` (lines indented for `- `)."""
    body = "".join(f"        {line}\n" if line else "\n" for line in container.splitlines())
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n"
        "  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n"
        "      labels:\n        app: app\n    spec:\n      containers:\n"
        f"      - {body.lstrip()}{spec_extra}"
    )


# --- the rules' documentation ------------------------------------------------------------


def test_rules_are_registered() -> None:
    probes, writable = find_rule("missing-probes"), find_rule("writable-root-filesystem")
    assert probes is not None and probes.doc.code == "CBP203" and probes.doc.kind == "k8s"
    assert probes.doc.fix == FixSafety.UNSAFE and probes.doc.after is not None
    assert writable is not None and writable.doc.code == "CBP204" and writable.doc.kind == "k8s"
    assert writable.doc.fix == FixSafety.SAFE and writable.doc.after is not None
    assert probes.doc.severity == writable.doc.severity == Severity.WARNING


def test_peers_are_the_verified_ids() -> None:
    probes, writable = find_rule("CBP203"), find_rule("CBP204")
    assert probes is not None and writable is not None
    assert dict(probes.doc.peers) == {
        "kube-linter": ("no-liveness-probe", "no-readiness-probe"),
        "kube-score": ("pod-probes",),
        "polaris": ("readinessProbeMissing", "livenessProbeMissing"),
        "checkov": ("CKV_K8S_8", "CKV_K8S_9"),
    }
    assert dict(writable.doc.peers) == {
        "kube-linter": ("no-read-only-root-fs",),
        "kube-score": ("container-security-context-readonlyrootfilesystem",),
        "polaris": ("notReadOnlyRootFilesystem",),
        "checkov": ("CKV_K8S_22",),
    }
    assert find_rule("pod-probes") is probes and find_rule("CKV_K8S_9") is probes
    assert find_rule("no-read-only-root-fs") is writable and find_rule("CKV_K8S_22") is writable


def test_the_doc_examples_are_what_the_rules_do() -> None:
    probes = find_rule("CBP203")
    assert probes is not None and probes.doc.after is not None
    before = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n" + probes.doc.before
    after = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n" + probes.doc.after
    assert _fix("CBP203", before) == after
    writable = find_rule("CBP204")
    assert writable is not None and writable.doc.after is not None
    head = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
    assert _fix("CBP204", head + writable.doc.before) == head + writable.doc.after


# --- CBP203: which containers ------------------------------------------------------------


def test_liveness_is_more_lenient_than_readiness() -> None:
    ready = mp.READINESS_TIMING["periodSeconds"] * mp.READINESS_TIMING["failureThreshold"]
    live = mp.LIVENESS_TIMING["periodSeconds"] * mp.LIVENESS_TIMING["failureThreshold"]
    assert live >= 2 * ready
    assert mp.LIVENESS_TIMING["periodSeconds"] > mp.READINESS_TIMING["periodSeconds"]
    assert mp.LIVENESS_TIMING["failureThreshold"] > mp.READINESS_TIMING["failureThreshold"]


@pytest.mark.parametrize(
    ("kind", "api", "fires"),
    [
        ("Deployment", "apps/v1", True),
        ("StatefulSet", "apps/v1", True),
        ("DaemonSet", "apps/v1", True),
        ("ReplicaSet", "apps/v1", True),
        ("ReplicationController", "v1", True),
        ("Job", "batch/v1", False),
        ("Rollout", "argoproj.io/v1alpha1", False),
    ],
)
def test_only_long_running_workloads(kind: str, api: str, fires: bool) -> None:
    text = _deployment("name: a\nimage: x:1\nports:\n- containerPort: 80\n")
    text = text.replace("apiVersion: apps/v1\nkind: Deployment", f"apiVersion: {api}\nkind: {kind}")
    assert bool(_scan("CBP203", text)) is fires


def test_init_containers_and_pods_are_not_flagged() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "  - name: a\n    image: x:1\n    ports:\n    - containerPort: 80\n"
    )
    assert _scan("CBP203", text) == []
    text = _deployment(
        "name: a\nimage: x:1\nreadinessProbe:\n  tcpSocket:\n    port: 80\n"
        "livenessProbe:\n  tcpSocket:\n    port: 80\n"
    ).replace("      containers:\n", "      initContainers:\n      - name: i\n        image: y\n"
              "      containers:\n")  # fmt: skip
    assert _scan("CBP203", text) == []


# --- CBP203: what the fix knows ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ("- containerPort: 9090\n  name: metrics\n- containerPort: 8000\n  name: http\n", "http"),
        ("- containerPort: 9090\n  name: metrics\n- containerPort: 8000\n", "metrics"),
        ("- containerPort: 53\n  protocol: UDP\n- containerPort: 8053\n", 8053),
        ("- containerPort: 8080\n  name: Not_A_Name\n", 8080),
        ("- containerPort: 8080\n  name: web\n- containerPort: 8081\n  name: api\n", "web"),
        ("- containerPort: 70000\n- containerPort: '8080'\n", None),
        ("- containerPort: 53\n  protocol: UDP\n", None),
    ],
)
def test_declared_port(ports: str, expected: int | str | None) -> None:
    body = "".join(f"  {line}\n" for line in ports.splitlines())
    container = _container(_deployment(f"name: a\nimage: x:1\nports:\n{body}"))
    assert mp.declared_port(container) == expected


def test_a_port_an_existing_probe_reaches_wins() -> None:
    text = _deployment(
        "name: a\nimage: x:1\nports:\n- containerPort: 9090\n"
        "readinessProbe:\n  httpGet:\n    path: /ready\n    port: 8080\n"
    )
    assert mp.probed_port(_container(text)) == 8080
    out = _fix("CBP203", text)
    live = YAML(typ="safe").load(out)["spec"]["template"]["spec"]["containers"][0]
    assert live["livenessProbe"]["tcpSocket"] == {"port": 8080}
    # A probe of another host says nothing about this container's ports.
    other = text.replace("    path: /ready\n", "    path: /ready\n            host: example.com\n")
    assert mp.probed_port(_container(other)) is None


def test_readiness_reuses_the_liveness_http_check_with_its_scheme_and_headers() -> None:
    text = _deployment(
        "name: a\nimage: x:1\nlivenessProbe:\n  httpGet:\n    path: /healthz  # cheap\n"
        "    port: 8443\n    scheme: HTTPS\n    httpHeaders:\n    - name: Host\n"
        "      value: api.local\n"
    )
    out = _fix("CBP203", text)
    container = YAML(typ="safe").load(out)["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"] == {
        "httpGet": {
            "path": "/healthz",
            "port": 8443,
            "scheme": "HTTPS",
            "httpHeaders": [{"name": "Host", "value": "api.local"}],
        },
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    assert out.count("# cheap") == 1  # the comment is not copied


def test_liveness_never_reuses_an_http_readiness_path() -> None:
    text = _deployment(
        "name: a\nimage: x:1\nports:\n- containerPort: 8000\n  name: http\n"
        "readinessProbe:\n  httpGet:\n    path: /ready\n    port: http\n"
    )
    container = YAML(typ="safe").load(_fix("CBP203", text))["spec"]["template"]["spec"]
    live = container["containers"][0]["livenessProbe"]
    assert live == {"tcpSocket": {"port": "http"}, **mp.LIVENESS_TIMING}


def test_a_service_annotation_is_not_a_health_path() -> None:
    service = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: app\n  annotations:\n"
        "    alb.ingress.kubernetes.io/healthcheck-path: /healthz\nspec:\n  ports:\n"
        "  - port: 80\n---\n"
    )
    text = service + _deployment("name: a\nimage: x:1\nports:\n- containerPort: 8000\n")
    out = _fix("CBP203", text)
    assert "httpGet" not in out and "/healthz" in out and out.startswith(service)


def test_no_port_is_reported_with_a_snippet_never_a_placeholder_command() -> None:
    text = _deployment("name: worker\nimage: registry.example.com/worker:1\n")
    [finding] = _scan("CBP203", text)
    assert finding.fix is None and finding.suggestion is not None
    assert "readinessProbe:" in finding.suggestion and "livenessProbe:" in finding.suggestion
    assert "exec" not in finding.suggestion and "/tmp/healthy" not in finding.suggestion
    assert "startupProbe" not in finding.suggestion
    assert _fix("CBP203", text) == text


def test_slow_starters_are_offered_a_startup_probe() -> None:
    text = _deployment("name: a\nimage: tomcat:10.1\nports:\n- containerPort: 8080\n")
    [finding] = _scan("CBP203", text)
    assert finding.fix is not None and finding.suggestion is not None
    assert "startupProbe" in finding.suggestion and "8080" in finding.suggestion
    assert "startupProbe" not in _fix("CBP203", text)  # offered, not added
    jvm = _deployment("name: a\nimage: registry.example.com/billing:3\nenv:\n- name: JAVA_OPTS\n")
    [finding] = _scan("CBP203", jvm)
    assert finding.suggestion is not None and "startupProbe" in finding.suggestion


def test_an_empty_probe_key_is_reported_not_duplicated() -> None:
    text = _deployment("name: a\nimage: x:1\nports:\n- containerPort: 80\nlivenessProbe:\n")
    [finding] = _scan("CBP203", text)
    assert finding.fix is None and "readinessProbe and no livenessProbe" in finding.message
    assert _fix("CBP203", text) == text


def test_one_finding_per_container_and_both_probes_in_one_fix() -> None:
    text = _deployment("name: a\nimage: x:1\nports:\n- containerPort: 80\n")
    [finding] = _scan("CBP203", text)
    assert finding.fix is not None and len(finding.fix.edits) == 1
    assert finding.fix.safety == FixSafety.UNSAFE
    assert _fix("CBP203", text, unsafe=False) == text


# --- CBP204: scratch volumes -------------------------------------------------------------


def test_volume_names_never_collide() -> None:
    assert wr.volume_name("/tmp", set()) == "tmp"
    assert wr.volume_name("/tmp", {"tmp", "tmp-1"}) == "tmp-2"
    assert wr.volume_name("/var/cache/nginx", {"var-cache-nginx"}) == "var-cache-nginx-1"


def test_known_image_paths() -> None:
    def paths(image: str) -> tuple[str, ...]:
        return wr.writable_paths(_container(_deployment(f"name: a\nimage: {image}\n")))

    assert paths("nginx") == ("/tmp", "/var/cache/nginx", "/var/run")
    assert paths("docker.io/library/nginx:1.27-alpine@sha256:" + "a" * 64)[1:] == (
        "/var/cache/nginx",
        "/var/run",
    )
    assert paths("public.ecr.aws/nginx/nginx:1.27") == ("/tmp", "/var/cache/nginx", "/var/run")
    assert paths("nginxinc/nginx-unprivileged:1.27") == ("/tmp",)
    assert paths("bitnami/nginx:1.27") == ("/tmp",)
    assert paths("$(IMAGE)") == ("/tmp",)


def test_a_mount_at_or_above_the_path_covers_it() -> None:
    text = _deployment(
        "name: a\nimage: nginx:1.27\nvolumeMounts:\n- name: v\n  mountPath: /var/\n"
        "- name: t\n  mountPath: /tmp/sub\n"
    )
    assert wr.unmounted(_container(text)) == ["/tmp"]


def test_safe_mounts_land_first_then_the_unsafe_flag() -> None:
    text = _deployment("name: a\nimage: x:1\n")
    findings = _scan("CBP204", text)
    assert [(f.severity, f.fix_safety) for f in findings] == [
        (Severity.WARNING, FixSafety.NONE),  # the flag waits for the mounts
        (Severity.INFO, FixSafety.SAFE),
    ]
    safe = _fix("CBP204", text, unsafe=False)
    [flag] = _scan("CBP204", safe)
    assert flag.fix_safety == FixSafety.UNSAFE
    out = _fix("CBP204", text)
    assert _scan("CBP204", out) == []
    data = YAML(typ="safe").load(out)["spec"]["template"]["spec"]
    assert data["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert data["containers"][0]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert data["containers"][0]["securityContext"] == {"readOnlyRootFilesystem": True}


def test_claim_template_names_are_taken() -> None:
    text = (
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\nspec:\n  template:\n"
        "    spec:\n      containers:\n      - name: a\n        image: x:1\n"
        "  volumeClaimTemplates:\n  - metadata:\n      name: tmp\n    spec: {}\n"
    )
    data = YAML(typ="safe").load(_fix("CBP204", text))["spec"]["template"]["spec"]
    assert data["volumes"] == [{"name": "tmp-1", "emptyDir": {}}]


def test_containers_do_not_share_a_tmp_volume() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "  - name: a\n    image: x:1\n    volumeMounts:\n    - name: tmp\n      mountPath: /tmp\n"
        "  - name: b\n    image: y:1\n  volumes:\n  - name: tmp\n    emptyDir: {}\n"
    )
    data = YAML(typ="safe").load(_fix("CBP204", text))["spec"]
    assert data["containers"][1]["volumeMounts"] == [{"name": "tmp-1", "mountPath": "/tmp"}]
    assert [v["name"] for v in data["volumes"]] == ["tmp", "tmp-1"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("final", [True, False])
def test_an_empty_flow_security_context_is_filled(newline: str, final: bool) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n"
        "  - name: t\n    emptyDir: {}\n  containers:\n  - name: a\n    image: x:1\n"
        "    volumeMounts:\n    - name: t\n      mountPath: /tmp\n    securityContext: {}\n"
    )
    expected = text.replace(
        "securityContext: {}\n", "securityContext:\n      readOnlyRootFilesystem: true\n"
    )
    if not final:
        text, expected = text[:-1], expected[:-1]
    out = _fix("CBP204", text.replace("\n", newline))
    assert out == expected.replace("\n", newline)


def test_flow_nodes_and_explicit_false_are_reported_not_edited() -> None:
    text = _deployment(
        "name: a\nimage: x:1\nvolumeMounts:\n- name: t\n  mountPath: /tmp\n"
        "securityContext: {runAsNonRoot: true}\n",
        spec_extra="      volumes:\n      - name: t\n        emptyDir: {}\n",
    )
    [finding] = _scan("CBP204", text)
    assert finding.fix is None and finding.suggestion is not None
    false = text.replace("{runAsNonRoot: true}", "\n          readOnlyRootFilesystem: false")
    [finding] = _scan("CBP204", false)
    assert finding.fix is None and "false" in finding.message
    assert _fix("CBP204", false) == false


def test_windows_pods_are_left_alone() -> None:
    text = _deployment("name: a\nimage: x:1\n", spec_extra="      os:\n        name: windows\n")
    assert _scan("CBP204", text) == []


# --- both rules: fixtures stay schema-valid ----------------------------------------------


def _pod_specs(document: Any) -> list[dict[str, Any]]:
    found = []
    for path in POD_SPEC_PATHS.values():
        node = document
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and "containers" in node:
            found.append(node)
    return found


EXPECTED = sorted(
    p
    for rule in ("missing-probes", "writable-root-filesystem")
    for p in (FIXTURES / rule).glob("*/expected")
)


@pytest.mark.parametrize(
    "path", EXPECTED, ids=[f"{p.parent.parent.name}/{p.parent.name}" for p in EXPECTED]
)
def test_fixed_containers_are_schema_valid(path: Path) -> None:
    """Every container a fix changed, in a Pod with the pod's volumes, passes the strict
    Kubernetes schema; every mount names a volume of the pod, and volume names are unique."""
    kv = pytest.importorskip("kubernetes_validate")
    before = list(YAML(typ="safe").load_all((path.parent / "input").read_bytes().decode()))
    after = list(YAML(typ="safe").load_all(path.read_bytes().decode()))
    checked = 0
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        claims = [c["metadata"]["name"] for c in new["spec"].get("volumeClaimTemplates", [])]
        for spec in _pod_specs(new):
            volumes = spec.get("volumes") or []
            names = [v["name"] for v in volumes] + claims
            assert len(names) == len(set(names))
            for container in spec.get("initContainers", []) + spec["containers"]:
                mounts = {m["name"] for m in container.get("volumeMounts") or []}
                assert mounts <= set(names)
                pod = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "check"},
                    "spec": {"containers": [container], "volumes": volumes},
                }
                kv.validate(pod, "1.30", strict=True)
                checked += 1
    assert checked


# --- both rules over the shared corpus ---------------------------------------------------


def _contained(old: Any, new: Any) -> bool:
    """``new`` only adds to ``old``: mapping keys, and items at the end of lists."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(
            k in new and _contained(v, new[k]) for k, v in old.items()
        )
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(new) >= len(old)
            and all(_contained(a, b) for a, b in zip(old, new, strict=False))
        )
    return bool(old == new)


@pytest.mark.slow
@pytest.mark.skipif(not K8S, reason="../shared/corpus/k8s is not beside the checkout")
@pytest.mark.parametrize("path", K8S, ids=[p.name for p in K8S])
def test_corpus_file(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    if sniff_yaml(path.name, text) != "k8s":
        return
    try:
        doc = parse_manifests(text)
    except YamlError:
        return  # a per-file error, covered by test_corpus_yaml
    selection = Selection(only=BOTH)
    findings = scan_text(path.name, "k8s", text, selection)
    once = fix_text(path.name, "k8s", text, selection, unsafe=True)
    assert once.rejected == []
    assert fix_text(path.name, "k8s", once.text, selection, unsafe=True).text == once.text
    before = list(YAML(typ="rt").load_all(text))
    after = list(YAML(typ="rt").load_all(once.text))  # the result loads
    assert len(before) == len(after)
    safe_before = list(YAML(typ="safe").load_all(text))
    safe_after = list(YAML(typ="safe").load_all(once.text))
    for old, new in zip(safe_before, safe_after, strict=True):
        assert _contained(old, new)
    # Only the objects a fix was offered for change; every other line stays byte for byte.
    touched = [
        m
        for m in doc.manifests
        if any(f.fix is not None and m.line <= f.line <= m.end_line for f in findings)
    ]
    old_lines, new_lines = text.splitlines(True), once.text.splitlines(True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, _, _ in matcher.get_opcodes():
        if op == "equal":
            continue
        if op != "insert":  # a last line gaining its newline, or `securityContext: {}` filled
            assert op == "replace" and i2 - i1 == 1, (op, i1)
            assert i2 == len(old_lines) or "{}" in old_lines[i1], (op, i1)
        assert any(m.line - 1 <= i1 <= m.end_line for m in touched), i1
