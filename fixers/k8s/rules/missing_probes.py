"""CBP203: long-running containers declare a readiness and a liveness probe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.images import parse_image
from fixers.k8s.kind import K8sDoc
from fixers.k8s.workloads import LONG_RUNNING, pod_spec
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.yamledit import add_entries

READINESS = "readinessProbe"
LIVENESS = "livenessProbe"
STARTUP = "startupProbe"

# Readiness: Kubernetes' own defaults, written out so that a reader sees them. The pod leaves
# the Service endpoints after 3 failures 10 s apart (~30 s).
READINESS_TIMING: dict[str, int] = {"periodSeconds": 10, "failureThreshold": 3}
# Liveness: more lenient, so that it never fires before readiness would. The first check runs
# 10 s after start; a restart takes 6 failures 20 s apart (~2 minutes of a dead port), long
# after readiness has taken the pod out of the endpoints; the earliest restart of a process
# that never opens its port is ~110 s after start (slower starters need a startupProbe).
LIVENESS_TIMING: dict[str, int] = {"initialDelaySeconds": 10, "periodSeconds": 20,
                                   "failureThreshold": 6}  # fmt: skip
# A startupProbe for slow starters: up to 30 x 10 s = 5 minutes before liveness takes over.
STARTUP_TIMING: dict[str, int] = {"periodSeconds": 10, "failureThreshold": 30}

# Port names preferred when a container declares several ports (in this order).
PREFERRED_PORT_NAMES = ("http", "web", "api", "app", "server", "https", "grpc")
# IANA_SVC_NAME: what Kubernetes accepts as a port name (and resolves in a probe).
_PORT_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# Images and settings that mark a slow starter (JVMs and friends).
_SLOW_IMAGES = ("java", "jdk", "jre", "temurin", "corretto", "zulu", "tomcat", "jetty",
                "wildfly", "jboss", "keycloak", "elasticsearch", "opensearch", "logstash",
                "kafka", "zookeeper", "solr", "sonarqube", "jenkins", "nexus")  # fmt: skip
_JVM_ENV = frozenset({"JAVA_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "CATALINA_OPTS"})


def _plain(value: Any) -> Any:
    """A copy of a ruamel node as plain data (no comments, no styles) for re-dumping."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def valid_port(value: Any) -> int | str | None:
    """A port as a probe may name it: a number in range, or an IANA service name."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value) if 1 <= value <= 65535 else None
    if isinstance(value, str) and _PORT_NAME.match(value):
        return str(value)
    return None


def _probe(container: CommentedMap, key: str) -> CommentedMap | None:
    value = container.get(key)
    return value if isinstance(value, CommentedMap) and value else None


def probed_port(container: CommentedMap) -> int | str | None:
    """A port an existing probe of the container already reaches (so it is served)."""
    for key in (READINESS, LIVENESS, STARTUP):
        probe = _probe(container, key)
        if probe is None:
            continue
        for handler in ("httpGet", "tcpSocket", "grpc"):
            action = probe.get(handler)
            if isinstance(action, CommentedMap) and not action.get("host"):
                port = valid_port(action.get("port"))
                if port is not None:
                    return port
    return None


def declared_port(container: CommentedMap) -> int | str | None:
    """The container's TCP port to probe: by name when named, preferring http/web/api."""
    ports = container.get("ports")
    if not isinstance(ports, CommentedSeq):
        return None
    found: list[tuple[str | None, int | str]] = []
    for item in ports:
        if not isinstance(item, CommentedMap):
            continue
        if str(item.get("protocol", "TCP")).upper() != "TCP":
            continue
        number = valid_port(item.get("containerPort"))
        if not isinstance(number, int):
            continue
        name = item.get("name")
        named = isinstance(name, str) and _PORT_NAME.match(name) is not None
        found.append((str(name) if named else None, str(name) if named else number))
    for preferred in PREFERRED_PORT_NAMES:
        for name, ref in found:
            if name == preferred:
                return ref
    return found[0][1] if found else None


def known_http_action(container: CommentedMap) -> dict[str, Any] | None:
    """An HTTP (or gRPC) health check the container's own liveness or startup probe already
    makes: the one source of a health path trusted here (annotations are not)."""
    for key in (LIVENESS, STARTUP):
        probe = _probe(container, key)
        if probe is None:
            continue
        http = probe.get("httpGet")
        if (
            isinstance(http, CommentedMap)
            and isinstance(http.get("path"), str)
            and valid_port(http.get("port")) is not None
        ):
            return {"httpGet": _plain(http)}
        grpc = probe.get("grpc")
        if isinstance(grpc, CommentedMap) and isinstance(valid_port(grpc.get("port")), int):
            return {"grpc": _plain(grpc)}
    return None


def slow_starter(container: CommentedMap) -> bool:
    image = parse_image(str(container.get("image", "")))
    if image is not None and any(word in image.path.lower() for word in _SLOW_IMAGES):
        return True
    env = container.get("env")
    if isinstance(env, CommentedSeq):
        for item in env:
            if isinstance(item, CommentedMap) and str(item.get("name", "")) in _JVM_ENV:
                return True
    return False


def planned_probes(container: CommentedMap, missing: list[str]) -> dict[str, Any] | None:
    """The probes to add (only what the manifest shows to be true), or None."""
    port = probed_port(container)
    if port is None:
        port = declared_port(container)
    entries: dict[str, Any] = {}
    if READINESS in missing:
        action = known_http_action(container)
        if action is None and port is not None:
            action = {"tcpSocket": {"port": port}}
        if action is None:
            return None
        entries[READINESS] = {**action, **READINESS_TIMING}
    if LIVENESS in missing:
        # Never an HTTP readiness path: those often check dependencies, and a liveness probe
        # that fails with them restarts every replica at once when a shared dependency is down.
        if port is None:
            return None
        entries[LIVENESS] = {"tcpSocket": {"port": port}, **LIVENESS_TIMING}
    return entries


def _snippet(missing: list[str], port: int | str | None, slow: bool, reason: str) -> str:
    where = str(port) if port is not None else "<the port the app listens on>"
    lines: list[str] = [f"{reason}; add to the container, e.g.:"]
    if READINESS in missing:
        lines += [
            "readinessProbe:",
            "  # httpGet: {path: <the app's health path>, port: ...} if it has one",
            f"  tcpSocket: {{port: {where}}}",
            "  periodSeconds: 10",
            "  failureThreshold: 3",
        ]
    if LIVENESS in missing:
        lines += [
            "livenessProbe:",
            f"  tcpSocket: {{port: {where}}}",
            "  initialDelaySeconds: 10",
            "  periodSeconds: 20",
            "  failureThreshold: 6",
        ]
    if slow:
        lines += [
            "startupProbe:  # slow starter: liveness waits until this succeeds (5 min)",
            f"  tcpSocket: {{port: {where}}}",
            "  periodSeconds: 10",
            "  failureThreshold: 30",
        ]
    return "\n".join(lines)


def _startup_note(port: int | str | None) -> str:
    where = f"tcpSocket: {{port: {port}}}" if port is not None else "the same check"
    return (
        "This image looks like a slow starter (JVM): add a startupProbe so that liveness "
        f"only starts once the app is up: `startupProbe: {{{where}, periodSeconds: 10, "
        "failureThreshold: 30}` (up to 5 minutes)."
    )


class MissingProbes(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP203",
        name="missing-probes",
        kind="k8s",
        title="Give long-running containers a readiness and a liveness probe",
        what=(
            "Flags the `containers` (not `initContainers`) of Deployments, StatefulSets, "
            "DaemonSets, ReplicaSets and ReplicationControllers that have no `readinessProbe`, "
            "no `livenessProbe`, or neither; one finding per container. Pods, Jobs and "
            "CronJobs are left alone (they run to completion or are not managed). The fix adds "
            "the missing probes, using only what the manifest shows: a `tcpSocket` check on a "
            "port the container declares (or an existing probe reaches), or the `httpGet` of "
            "its own liveness/startup probe for readiness."
        ),
        why=(
            "Without a readiness probe a pod gets traffic as soon as its process starts, "
            "before it can serve, and keeps getting it while it shuts down or hangs: every "
            "rollout and every restart drops requests. Without a liveness probe a deadlocked "
            "process that has not exited is never restarted. A liveness probe that is too "
            "eager is worse than none: it restarts pods that are merely slow or overloaded "
            "(restart storms), so liveness must be more lenient than readiness and must not "
            "depend on other services; slow starters (JVMs) need a `startupProbe` so that "
            "liveness does not kill them while they boot."
        ),
        before=(
            "spec:\n  template:\n    spec:\n      containers:\n        - name: api\n"
            "          image: registry.example.com/shop/api:1.8.2\n"
            "          ports:\n            - name: http\n              containerPort: 8000\n"
        ),
        after=(
            "spec:\n  template:\n    spec:\n      containers:\n        - name: api\n"
            "          image: registry.example.com/shop/api:1.8.2\n"
            "          ports:\n            - name: http\n              containerPort: 8000\n"
            "          readinessProbe:\n            tcpSocket:\n              port: http\n"
            "            periodSeconds: 10\n            failureThreshold: 3\n"
            "          livenessProbe:\n            tcpSocket:\n              port: http\n"
            "            initialDelaySeconds: 10\n            periodSeconds: 20\n"
            "            failureThreshold: 6\n"
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: probes change what the cluster does. A declared `containerPort` the app "
            "does not listen on (or listens on only at 127.0.0.1) keeps the new pods unready "
            "and stalls the rollout, and the liveness probe can restart a container. Added "
            "only when a port is known: the port an existing probe reaches, else the "
            "container's first TCP `containerPort` (preferring the names http, web, api), by "
            "name when it is named. Readiness reuses the `httpGet` (or `grpc`) check of the "
            "container's own liveness or startup probe when there is one, else `tcpSocket`; "
            "health paths are never guessed, and annotations (of Services, Ingresses, load "
            "balancers) do not count. Readiness: `periodSeconds: 10`, `failureThreshold: 3` "
            "(out of the endpoints after ~30 s). Liveness is always a `tcpSocket` check "
            "(never an HTTP readiness path, which may check dependencies and would restart "
            "every replica when one is down), `initialDelaySeconds: 10`, `periodSeconds: 20`, "
            "`failureThreshold: 6`: it fires only after ~2 minutes of a dead port, long after "
            "readiness would. kube-score reports a readiness and a liveness `tcpSocket` check "
            "of the same port as identical even with these different thresholds. No port, a "
            "flow-style container or an empty probe key: reported with a suggested snippet, "
            "never a placeholder command; slow starters (JVM images) get a `startupProbe` "
            "suggestion."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/tasks/configure-pod-container/"
            "configure-liveness-readiness-startup-probes/",
            "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/",
            "https://github.com/zegl/kube-score/blob/master/README_PROBES.md",
        ),
        peers={
            "kube-linter": ("no-liveness-probe", "no-readiness-probe"),
            "kube-score": ("pod-probes",),
            "polaris": ("readinessProbeMissing", "livenessProbeMissing"),
            "checkov": ("CKV_K8S_8", "CKV_K8S_9"),
        },
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        stream = ctx.doc.stream
        for manifest in ctx.doc.manifests:
            if manifest.kind not in LONG_RUNNING:
                continue
            pod = pod_spec(manifest)
            if pod is None:
                continue
            for container in pod.containers:
                missing = [k for k in (READINESS, LIVENESS) if _probe(container, k) is None]
                if not missing:
                    continue
                name = str(container.get("name", "?"))
                what = " and no ".join(missing)
                message = f"container `{name}` of {manifest.kind} has no {what}"
                slow = slow_starter(container)
                port = probed_port(container)
                if port is None:
                    port = declared_port(container)
                entries = None
                if not any(k in container for k in missing):  # an empty key: not ours to add
                    entries = planned_probes(container, missing)
                edit = add_entries(stream, container, entries) if entries else None
                if edit is None:
                    if entries:
                        reason = "flow-style container: not edited"
                    elif any(k in container for k in missing):
                        reason = "an empty probe key: not edited"
                    else:
                        reason = "no port to probe is declared (a health check is not guessed)"
                    yield self.finding(
                        ctx,
                        int(container.lc.line) + 1,
                        message,
                        suggestion=_snippet(missing, port, slow, reason),
                    )
                    continue
                yield self.finding(
                    ctx,
                    int(container.lc.line) + 1,
                    message,
                    edits=[edit],
                    fix_description=f"Add {' and '.join(missing)} to `{name}`",
                    suggestion=_startup_note(port) if slow else None,
                )
