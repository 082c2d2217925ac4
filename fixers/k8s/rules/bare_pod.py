"""CBP202: Pods run under a controller (a Deployment, or a Job when they run to completion).

The fix turns the Pod document into a Deployment or a Job as text: the `apiVersion` and `kind`
values change in place, the controller's keys are inserted under `spec:`, and every line of the
old pod spec moves two indentation steps deeper, byte for byte (comments, quoting, block
scalars). The result is loaded back and must hold exactly the old pod spec as the template's
spec, or no fix is offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent

from fixers.k8s.kind import K8sDoc, Manifest
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.textedit import apply_edits
from fixers.yamldoc import YamlStream, load_stream, value_span
from fixers.yamledit import Layout, detect_layout, dump, is_flow

_TOP_KEYS = frozenset({"apiVersion", "kind", "metadata", "spec"})
_JOB_RESTARTS = frozenset({"Never", "OnFailure"})
# A label value: at most 63 characters, alphanumerics with `-`, `_`, `.` inside.
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_MAX_PLAIN_NODES = 200_000
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# --- Helpers shared with the other Kubernetes rules that verify their edits ------------------


class _TooBig(ValueError):
    pass


def plain(node: Any, budget: list[int] | None = None) -> Any:
    """A ruamel node as plain dicts, lists and scalars (aliases expanded, within a bound)."""
    budget = budget if budget is not None else [_MAX_PLAIN_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig("document too large to compare")
    if isinstance(node, dict):
        return {plain(k, budget): plain(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v, budget) for v in node]
    return node


def locate(stream: YamlStream, target: Any) -> tuple[int, tuple[Any, ...]] | None:
    """(document index, key path) of the node ``target`` (by identity)."""
    for index, document in enumerate(stream.documents):
        stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if node is target:
                return index, path
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, CommentedMap):
                stack.extend((v, (*path, k)) for k, v in node.items())
            elif isinstance(node, CommentedSeq):
                stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return None


def _replaced(root: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(root, dict):
        return {k: (_replaced(v, rest, new) if k == head else v) for k, v in root.items()}
    return [(_replaced(v, rest, new) if i == head else v) for i, v in enumerate(root)]


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


_DOCUMENT_MARKER = re.compile(r"(---|\.\.\.)(\s|$)")


def document_span(stream: YamlStream, index: int) -> tuple[int, int] | None:
    """Offsets of document ``index``: from the line of its root node to the next document
    marker (`---` or `...` at column 0, which no scalar can hold) or the end of the text."""
    document = stream.documents[index]
    if not isinstance(document, CommentedMap | CommentedSeq):
        return None
    first = int(document.lc.line)
    for i in range(first + 1, len(stream.starts)):
        if _DOCUMENT_MARKER.match(_line(stream, i)):
            return stream.starts[first], stream.starts[i]
    return stream.starts[first], len(stream.text)


def verified(
    stream: YamlStream, edits: Sequence[Edit], target: Any, expect: Callable[[Any], Any]
) -> bool:
    """Whether the edits stay inside the document holding the node ``target``, and that
    document, edited, loads back as before except that ``target`` (as plain data) has become
    ``expect(old)``. Only that document is parsed again, so a check stays linear in the file."""
    located = locate(stream, target)
    if located is None:
        return False
    index, path = located
    span = document_span(stream, index)
    if span is None:
        return False
    start, end = span
    if any(e.start < start or e.end > end for e in edits):
        return False
    local = [Edit(e.start - start, e.end - start, e.new) for e in edits]
    try:
        new = load_stream(apply_edits(stream.text[start:end], local))
        if len(new.documents) != 1:
            return False
        old_doc = plain(stream.documents[index])
        new_doc = plain(new.documents[0])
        want = _replaced(old_doc, path, expect(_get(old_doc, path)))
    except (ValueError, RecursionError):
        return False
    return bool(want == new_doc)


def anchored_lines(text: str) -> set[int]:
    """0-based lines holding an anchor (`&a`) or an alias (`*a`)."""
    found: set[int] = set()
    try:
        for event in YAML(typ="rt").parse(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                found.add(int(event.start_mark.line))
    except YAMLError:
        return {-1}
    return found


def key_line(manifest: Manifest, key: str = "kind") -> int:
    """1-based line of a top-level key of the object (its first line when absent)."""
    try:
        return int(manifest.node.lc.key(key)[0]) + 1
    except (KeyError, TypeError):
        return manifest.line


def _line(stream: YamlStream, line0: int) -> str:
    start = stream.starts[line0]
    end = stream.starts[line0 + 1] if line0 + 1 < len(stream.starts) else len(stream.text)
    return stream.text[start:end].rstrip("\r\n")


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _block_end(stream: YamlStream, key_line0: int, indent: int) -> int:
    """The last line (0-based) of the block below the key on ``key_line0`` whose content is
    indented at least ``indent``: its content lines, the comment lines among them, and the
    comment lines at that depth that follow it."""
    last = key_line0
    for i in range(key_line0 + 1, len(stream.starts)):
        text = _line(stream, i)
        if text.startswith(("---", "...")):
            break
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if _indent(text) >= indent:
                last = i
            continue
        if _indent(text) < indent:
            break
        last = i
    return last


def add_entries_after_comments(
    stream: YamlStream, node: CommentedMap, entries: dict[str, Any]
) -> Edit | None:
    """Like ``fixers.yamledit.add_entries``, but after the comment-like lines indented at
    least as deep as the mapping's keys that end it (they may be the last lines of a block
    scalar: `# done` inside a script)."""
    if is_flow(node) or not node:
        return None
    line0, col = (int(x) for x in node.lc.key(next(iter(node))))
    last = _block_end(stream, line0, col)
    nl = stream.newline
    body = [" " * col + line for line in dump(entries, detect_layout(stream))]
    if last + 1 < len(stream.starts):
        offset = stream.starts[last + 1]
        return Edit(offset, offset, "".join(line + nl for line in body))
    end = len(stream.text)
    if stream.text.endswith("\n"):
        return Edit(end, end, "".join(line + nl for line in body))
    return Edit(end, end, "".join(nl + line for line in body))


def _strings(node: Any) -> dict[str, str] | None:
    """A mapping of strings to strings as a plain dict; {} when absent; None otherwise."""
    if node is None:
        return {}
    if not isinstance(node, CommentedMap):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in node.items()):
        return None
    return {str(k): str(v) for k, v in node.items()}


# --- The rule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    kind: str  # "Deployment" or "Job"
    api_version: str
    entries: dict[str, Any]  # the controller's keys before `template`
    template_meta: dict[str, Any]

    def spec(self, pod_spec: Any) -> dict[str, Any]:
        template: dict[str, Any] = {}
        if self.template_meta:
            template["metadata"] = self.template_meta
        template["spec"] = pod_spec
        return {**self.entries, "template": template}

    def snippet(self) -> str:
        parts = [f"{k}: {_flow(v)}" for k, v in self.entries.items()]
        template = []
        if self.template_meta:
            template.append(f"metadata: {_flow(self.template_meta)}")
        template.append("spec: <the pod's spec>")
        parts.append("template: {" + ", ".join(template) + "}")
        return (
            f"`apiVersion: {self.api_version}`, `kind: {self.kind}`, `spec: {{{', '.join(parts)}}}`"
        )


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value)


class BarePod(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP202",
        name="bare-pod",
        kind="k8s",
        title="Run Pods under a controller: a Deployment, or a Job when they run to completion",
        what=(
            "Flags `kind: Pod` objects (`apiVersion: v1`) that no controller owns (no "
            "`metadata.ownerReferences`), in every document of a file and in `List` items. "
            "With unsafe fixes it rewrites the Pod into a Deployment (`replicas: 1`, a "
            "selector on the Pod's labels, or `app: <name>` when it has none, and the pod "
            "spec as the template's spec); a Pod with `restartPolicy: Never` or `OnFailure` "
            "runs to completion and becomes a `batch/v1` Job instead (a Deployment only "
            "accepts `restartPolicy: Always`), with a `backoffLimit` and its restartPolicy "
            "kept. Pods a controller owns are left alone. One-off debug and test Pods are "
            "flagged too: names and annotations do not tell them apart reliably, so ignore "
            "those with a comment or the annotation."
        ),
        why=(
            "Nothing watches over a bare Pod: when its node fails, is drained or upgraded, the "
            "Pod is gone and nothing starts it elsewhere; when it keeps crashing beyond what "
            "its restartPolicy retries, nothing replaces it; it cannot be rolled out to a new "
            "version, rolled back or scaled, only deleted and created again by hand. "
            "Deployments keep long-running pods running, Jobs see run-to-completion work "
            "through to the end, and DaemonSets run one pod per node."
        ),
        before=(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\n  labels:\n    app: api\n"
            "spec:\n  containers:\n    - name: api\n      image: shop/api:1.8.2\n"
        ),
        after=(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  labels:\n"
            "    app: api\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: api\n"
            "  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n"
            "      containers:\n        - name: api\n          image: shop/api:1.8.2\n"
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: applying the result creates a new object beside the old Pod (delete the "
            "Pod by hand), and the controller names its pods `<name>-<hash>-<id>`, so whatever "
            "addresses the Pod by its name (`kubectl exec`, scripts, a headless service's "
            "hostname) must change. The metadata (name, namespace, labels, annotations) stays "
            "on the controller; the labels and annotations (but kubectl's "
            "last-applied-configuration) are also copied to the pod template "
            "so that what selects or configures the pods (Services, network policies, sidecar "
            "injection, scraping) still applies. The selector uses all the Pod's labels (a "
            "Deployment's selector cannot change later). A Job retries a failed pod up to "
            "`backoff-limit` (option, default 3) times where the Pod ran once: set it to 0 for "
            "a task that must not run twice. Every line of the pod spec moves two levels deeper "
            "byte for byte, and the fix is only offered when the result loads back with "
            "exactly the old spec. It is not offered (the finding suggests the controller "
            "instead) for a document in flow style, with anchors or aliases, with a `status:` "
            "or other unknown top-level keys, a Pod with `activeDeadlineSeconds` or "
            "`ephemeralContainers` that would become a Deployment, labels or annotations that "
            "are not strings, or no labels and a name that is not a valid label value. Static "
            "pods (files in the kubelet's `staticPodPath`) must stay Pods and cannot be told "
            "apart from a manifest: ignore them."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/concepts/configuration/overview/#naked-pods-vs-replicasets-deployments-and-jobs",
            "https://kubernetes.io/docs/concepts/workloads/pods/#working-with-pods",
            "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/",
            "https://kubernetes.io/docs/concepts/workloads/controllers/job/",
        ),
        options={"backoff-limit": 3},
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        anchors: set[int] | None = None
        for manifest in ctx.doc.manifests:
            if manifest.kind != "Pod" or manifest.api_version != "v1":
                continue
            meta = manifest.node.get("metadata")
            if isinstance(meta, CommentedMap) and meta.get("ownerReferences"):
                continue
            if anchors is None:
                anchors = anchored_lines(ctx.doc.stream.text)
            yield self._finding(ctx, manifest, anchors)

    def _finding(self, ctx: Context[K8sDoc], manifest: Manifest, anchors: set[int]) -> Finding:
        name = f"`{manifest.name}`" if manifest.name else "without a name"
        target, problem = self._target(ctx, manifest)
        edits: list[Edit] = []
        if target is not None and problem is None:
            edits, problem = _conversion(ctx.doc.stream, manifest, target, anchors)
        controller = target.kind if target is not None else "Deployment or Job"
        message = (
            f"Pod {name} is not managed by a controller: it is not rescheduled when its node "
            f"fails or is drained, nor replaced when it crashes; run it as a {controller}"
        )
        suggestion = None
        if problem is not None:
            suggestion = f"not rewritten ({problem})"
            if target is not None:
                suggestion += f"; run it under a {target.kind}: {target.snippet()}"
        return self.finding(
            ctx,
            key_line(manifest),
            message,
            edits=edits,
            fix_description=f"Run the Pod {name} as a {controller}",
            suggestion=suggestion,
        )

    def _target(
        self, ctx: Context[K8sDoc], manifest: Manifest
    ) -> tuple[_Target | None, str | None]:
        node = manifest.node
        spec = node.get("spec")
        if not isinstance(spec, CommentedMap) or not spec:
            return None, "the Pod has no spec"
        restart = spec.get("restartPolicy", "Always")
        if restart not in ("Always", *_JOB_RESTARTS):
            return None, f"unknown restartPolicy {restart!r}"
        meta = node.get("metadata")
        meta = meta if isinstance(meta, CommentedMap) else CommentedMap()
        labels = _strings(meta.get("labels"))
        annotations = _strings(meta.get("annotations"))
        problem = None
        if labels is None or annotations is None:
            problem = "labels and annotations must be strings"
            labels, annotations = labels or {}, annotations or {}
        # kubectl's record of the Pod as applied describes the object, not its pods.
        annotations.pop(_LAST_APPLIED, None)
        template_meta: dict[str, Any] = {}
        if restart in _JOB_RESTARTS:
            limit = self.option(ctx, "backoff-limit")
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                limit, problem = 3, "the backoff-limit option is not a whole number >= 0"
            if labels:
                template_meta["labels"] = labels
            if annotations:
                template_meta["annotations"] = annotations
            return _Target("Job", "batch/v1", {"backoffLimit": limit}, template_meta), problem
        if not labels:
            name = meta.get("name")
            if isinstance(name, str) and len(name) <= 63 and _LABEL_VALUE.match(name):
                labels = {"app": name}
            else:
                labels = {"app": "<name>"}
                problem = problem or "no labels, and no name that can be a label value"
        template_meta["labels"] = labels
        if annotations:
            template_meta["annotations"] = annotations
        if "activeDeadlineSeconds" in spec:
            problem = problem or (
                "a Deployment's pods cannot have activeDeadlineSeconds: drop it, or run the "
                "work as a Job with restartPolicy Never or OnFailure"
            )
        if "ephemeralContainers" in spec:
            problem = problem or "ephemeralContainers cannot be part of a pod template"
        entries = {"replicas": 1, "selector": {"matchLabels": dict(labels)}}
        return _Target("Deployment", "apps/v1", entries, template_meta), problem


def _conversion(
    stream: YamlStream, manifest: Manifest, target: _Target, anchors: set[int]
) -> tuple[list[Edit], str | None]:
    """The edits that turn the Pod into ``target``, or why there are none."""
    node = manifest.node
    spec = node["spec"]
    unknown = [str(k) for k in node if k not in _TOP_KEYS]
    if "status" in unknown:
        return [], "it has a `status:`, the dump of a live object"
    if unknown:
        return [], f"unknown top-level keys: {', '.join(unknown)}"
    if is_flow(node) or is_flow(spec):
        return [], "the pod spec is in flow style"
    first = int(node.lc.line)
    if -1 in anchors or any(first <= line < manifest.end_line for line in anchors):
        return [], "the document has anchors or aliases"
    api = value_span(stream, node, "apiVersion")
    kind = value_span(stream, node, "kind")
    if api is None or kind is None:
        return [], "apiVersion and kind cannot be edited in place"
    spec_line0, key_col = (int(x) for x in node.lc.key("spec"))
    first_key = next(iter(spec))
    child_line0, child_col = (int(x) for x in spec.lc.key(first_key))
    step = child_col - key_col
    if child_line0 <= spec_line0 or step <= 0:
        return [], "the spec's layout is unusual"
    new_lines = [" " * child_col + line for line in _entries_lines(target, step)]
    new_lines.append(" " * (child_col + step) + "spec:")
    nl = stream.newline
    start = stream.starts[spec_line0 + 1]
    edits = [
        Edit(api.start, api.end, target.api_version),
        Edit(kind.start, kind.end, target.kind),
        Edit(start, start, "".join(line + nl for line in new_lines)),
    ]
    shift = " " * (2 * step)
    for i in range(spec_line0 + 1, _block_end(stream, spec_line0, child_col) + 1):
        if _line(stream, i):
            edits.append(Edit(stream.starts[i], stream.starts[i], shift))

    def expect(old: Any) -> Any:
        new: dict[Any, Any] = {}
        for key, value in old.items():
            if key == "apiVersion":
                new[key] = target.api_version
            elif key == "kind":
                new[key] = target.kind
            elif key == "spec":
                new[key] = target.spec(value)
            else:
                new[key] = value
        return new

    if not verified(stream, edits, node, expect):
        return [], "the moved spec would not load back unchanged"
    return edits, None


def _entries_lines(target: _Target, step: int) -> list[str]:
    """The controller's keys and `template:` with its metadata; ruamel writes None as an
    empty value (`template:`), which the moved `spec:` then fills."""
    template = {"metadata": target.template_meta} if target.template_meta else None
    return dump({**target.entries, "template": template}, Layout(step, 0))
