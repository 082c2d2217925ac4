"""CBP207: containers run as a non-root user and cannot gain privileges; none is privileged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.k8s.kind import K8sDoc
from fixers.k8s.workloads import PodSpec, linux_containers
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.yamldoc import YamlStream
from fixers.yamledit import add_entries, fill_empty_mapping

LISTS = ("initContainers", "containers", "ephemeralContainers")
NON_ROOT = "runAsNonRoot"
NO_ESCALATION = "allowPrivilegeEscalation"
# Kubernetes rejects `allowPrivilegeEscalation: false` next to `privileged: true` or to this
# capability (validation compares the literal `CAP_SYS_ADMIN`; `SYS_ADMIN` is the usual
# spelling and grants the same, so neither gets the flag).
_SYS_ADMIN = frozenset({"SYS_ADMIN", "CAP_SYS_ADMIN"})


def _context(node: CommentedMap) -> CommentedMap:
    value = node.get("securityContext")
    return value if isinstance(value, CommentedMap) else CommentedMap()


def _setting(container: CommentedMap, pod: CommentedMap, key: str) -> tuple[Any, bool]:
    """The value in force (the container's overrides the pod's) and whether it is written
    anywhere at all (a key with no value counts as written)."""
    own, shared = _context(container), _context(pod)
    if key in own:
        return own[key], True
    if key in shared:
        return shared[key], True
    return None, False


def _is_user_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _adds_sys_admin(context: CommentedMap) -> bool:
    caps = context.get("capabilities")
    added = caps.get("add") if isinstance(caps, CommentedMap) else None
    return isinstance(added, CommentedSeq) and any(str(c).upper() in _SYS_ADMIN for c in added)


@dataclass
class _Problems:
    """What is wrong with one container: ``missing`` keys the fix can add (in order), and
    ``reported`` problems no text edit should decide."""

    missing: dict[str, bool] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)
    fixable: list[str] = field(default_factory=list)  # the messages of ``missing``


def _problems(container: CommentedMap, pod: CommentedMap) -> _Problems:
    found = _Problems()
    own = _context(container)
    user, _ = _setting(container, pod, "runAsUser")
    non_root, written = _setting(container, pod, NON_ROOT)
    if _is_user_id(user) and user == 0:
        found.reported.append(
            "runs as root: `runAsUser: 0`"
            + (" (and `runAsNonRoot: true`: the kubelet refuses to start it)" if non_root else "")
        )
    elif non_root is True or (_is_user_id(user) and user > 0):
        pass  # a non-root user id, or the kubelet checks the image's user at start
    elif non_root is False:
        found.reported.append("may run as root: it sets `runAsNonRoot: false`")
    elif written:
        found.reported.append("may run as root: `runAsNonRoot` has no value")
    else:
        found.missing[NON_ROOT] = True
        found.fixable.append("may run as root (no `runAsNonRoot: true`)")
    escalation = own.get(NO_ESCALATION)
    if escalation is False:
        return found
    if NO_ESCALATION in own:
        found.reported.append(
            "allows privilege escalation: it sets `allowPrivilegeEscalation: true`"
            if escalation is True
            else "allows privilege escalation: `allowPrivilegeEscalation` is not `false`"
        )
    elif _adds_sys_admin(own):
        found.reported.append(
            "allows privilege escalation: it adds `SYS_ADMIN`, which Kubernetes does not "
            "allow with `allowPrivilegeEscalation: false`"
        )
    else:
        found.missing[NO_ESCALATION] = False
        found.fixable.append("allows privilege escalation (no `allowPrivilegeEscalation: false`)")
    return found


def context_edits(
    stream: YamlStream, container: CommentedMap, entries: dict[str, bool]
) -> list[Edit] | None:
    """Add ``entries`` to the container's ``securityContext`` (created when absent); None
    where a text edit cannot (flow style, a key with no value)."""
    if "securityContext" not in container:
        edit = add_entries(stream, container, {"securityContext": entries})
        return [edit] if edit is not None else None
    context = container["securityContext"]
    if not isinstance(context, CommentedMap):
        return None
    if not context:
        return fill_empty_mapping(stream, container, "securityContext", entries)
    if any(key in context for key in entries):
        return None  # never write a key twice
    edit = add_entries(stream, context, entries)
    return [edit] if edit is not None else None


def _snippet(entries: dict[str, bool]) -> str:
    inner = ", ".join(f"{k}: {str(v).lower()}" for k, v in entries.items())
    return f"`securityContext: {{{inner}}}`"


class RunsAsRoot(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP207",
        name="runs-as-root",
        kind="k8s",
        title="Run containers as a non-root user, without privilege escalation",
        what=(
            "Flags containers, init containers and ephemeral containers of every built-in "
            "workload (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, "
            "ReplicationControllers, Jobs, CronJobs, PodTemplates) that may run as root (no "
            "`runAsNonRoot: true` in their own or the pod's `securityContext`, and no non-zero "
            "`runAsUser`), that run as root on purpose (`runAsUser: 0`), or that do not set "
            "`allowPrivilegeEscalation: false`; and, as an error of its own, containers with "
            "`privileged: true`. The container's settings override the pod's, as in "
            "Kubernetes. Windows pods are left alone."
        ),
        why=(
            "Root in a container is root on the node's kernel: only namespaces and dropped "
            "capabilities separate it from the host, and every kernel or runtime escape bug "
            "starts from there, with write access to whatever volumes it mounts. Without "
            "`allowPrivilegeEscalation: false` a process can still gain privileges through "
            "setuid binaries (`su`, `sudo`, a planted one) or file capabilities. A privileged "
            "container is the host: every capability and every device. Pod Security "
            "Admission's `restricted` level, enforced by many clusters and namespaces, rejects "
            "pods that do not set both flags."
        ),
        before=("spec:\n  containers:\n    - name: api\n      image: shop/api:1.8.2\n"),
        after=(
            "spec:\n  containers:\n    - name: api\n      image: shop/api:1.8.2\n"
            "      securityContext:\n        runAsNonRoot: true\n"
            "        allowPrivilegeEscalation: false\n"
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: the image may need root. With `runAsNonRoot: true` the kubelet refuses to "
            "start a container whose image runs as UID 0, or names its user instead of giving "
            "a numeric id it can check (`USER app` rather than `USER 10001`): set "
            "`runAsUser` too, or fix the image's `USER`. `allowPrivilegeEscalation: false` "
            "breaks `sudo`/`su` inside the container. Init containers that `chown` volumes or "
            "set sysctls usually need root: keep them as they are with an ignore comment. The "
            "fix adds only the keys that are missing, to the container's `securityContext` "
            "(created when absent, `{}` filled in); it never writes a key twice and never "
            "changes a value someone wrote. "
            "Reported without a fix: `runAsUser: 0`, `runAsNonRoot: false`, "
            "`allowPrivilegeEscalation: true`, a container adding `SYS_ADMIN` (Kubernetes "
            "rejects the flag next to it), `privileged: true` (an error: drop it and add only "
            "the capabilities needed), and flow-style `securityContext` mappings."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
            "https://kubernetes.io/docs/concepts/security/linux-kernel-security-constraints/",
        ),
        peers={
            "checkov": ("CKV_K8S_23", "CKV_K8S_20", "CKV_K8S_16"),
            "kube-linter": (
                "run-as-non-root",
                "privilege-escalation-container",
                "privileged-container",
            ),
            "polaris": ("runAsRootAllowed", "privilegeEscalationAllowed", "runAsPrivileged"),
            "kube-score": ("container-security-context-privileged",),
        },
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        for pod, container in linux_containers(ctx.doc.manifests, LISTS):
            yield from self._container(ctx, pod, container)

    def _container(
        self, ctx: Context[K8sDoc], pod: PodSpec, container: CommentedMap
    ) -> Iterator[Finding]:
        line = int(container.lc.line) + 1
        name = str(container.get("name", "?"))
        if _context(container).get("privileged") is True:
            yield self.finding(
                ctx,
                line,
                f"container `{name}` is privileged: it has every capability and the node's "
                "devices; root in it is root on the node",
                severity=Severity.ERROR,
                suggestion=(
                    "drop `privileged: true`; add only the capabilities it needs under "
                    "`securityContext.capabilities.add`"
                ),
            )
            return
        found = _problems(container, pod.spec)
        for problem in found.reported:
            yield self.finding(ctx, line, f"container `{name}` {problem}")
        if not found.missing:
            return
        edits = context_edits(ctx.doc.stream, container, found.missing)
        yield self.finding(
            ctx,
            line,
            f"container `{name}` " + " and ".join(found.fixable),
            edits=edits or (),
            fix_description=f"Set {_snippet(found.missing)} on `{name}`",
            suggestion=None if edits else f"set {_snippet(found.missing)}",
        )
