"""Where the pod spec of each workload kind lives, and what kind of workload it is."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.k8s.kind import Manifest, mapping_at

# kind -> path from the object to its pod spec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                          "ReplicationController"})  # fmt: skip
BATCH = frozenset({"Job", "CronJob"})
BUILT_IN_GROUPS = frozenset({"v1", "apps", "batch", "extensions"})


@dataclass(frozen=True)
class PodSpec:
    manifest: Manifest
    spec: CommentedMap
    template_metadata: CommentedMap | None  # the pod template's metadata, when there is one

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def containers(self) -> list[CommentedMap]:
        items = self.spec.get("containers")
        return [c for c in items if isinstance(c, CommentedMap)] if items else []

    @property
    def init_containers(self) -> list[CommentedMap]:
        items = self.spec.get("initContainers")
        return [c for c in items if isinstance(c, CommentedMap)] if items else []


def pod_spec(manifest: Manifest) -> PodSpec | None:
    """The pod spec of a built-in workload (custom resources: None)."""
    path = POD_SPEC_PATHS.get(manifest.kind)
    if path is None or manifest.api_version.split("/")[0] not in BUILT_IN_GROUPS:
        return None
    spec = mapping_at(manifest.node, *path)
    if spec is None:
        return None
    template_meta = mapping_at(manifest.node, *path[:-1], "metadata") if len(path) > 1 else None
    return PodSpec(manifest, spec, template_meta)


def is_windows(spec: CommentedMap) -> bool:
    """A pod scheduled on Windows nodes (`os.name` or the `kubernetes.io/os` node selector)."""
    os_ = spec.get("os")
    if isinstance(os_, CommentedMap) and str(os_.get("name", "")).lower() == "windows":
        return True
    selector = spec.get("nodeSelector")
    return isinstance(selector, CommentedMap) and (
        str(selector.get("kubernetes.io/os", "")).lower() == "windows"
    )


def linux_containers(
    manifests: Iterable[Manifest], lists: tuple[str, ...]
) -> Iterator[tuple[PodSpec, CommentedMap]]:
    """(pod, container) for the containers under ``lists`` of every Linux pod spec."""
    for manifest in manifests:
        pod = pod_spec(manifest)
        if pod is None or is_windows(pod.spec):
            continue
        for key in lists:
            items = pod.spec.get(key)
            if isinstance(items, CommentedSeq):
                for container in items:
                    if isinstance(container, CommentedMap):
                        yield pod, container
