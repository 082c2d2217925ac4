"""Kubernetes manifests: every object of a YAML stream (``List`` items included), with the
positions fixes need. Nothing is re-emitted: fixes are text edits (see fixers/yamldoc.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.ignorecomments import normalise
from fixers.images import ImageRef, parse_image
from fixers.yamldoc import NotThisKind, YamlStream, load_stream, walk
from fixers.yamlignores import comment_ignores

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
IGNORE_ANNOTATION = "container-bp.io/ignore"
_KUBE_LINTER = "ignore-check.kube-linter.io/"
_KUBE_SCORE = "kube-score/ignore"
_POLARIS = "polaris.fairwinds.com/"
_CHECKOV = "checkov.io/skip"


@dataclass(frozen=True)
class Manifest:
    node: CommentedMap
    api_version: str
    kind: str
    name: str | None
    line: int  # 1-based line of its first key
    end_line: int  # last line that belongs to it

    @property
    def annotations(self) -> dict[str, str]:
        """The object's annotations, and its pod template's (where teams often put them)."""
        found: dict[str, str] = {}
        template = mapping_at(self.node, "spec", "template", "metadata")
        for meta in (template, mapping_at(self.node, "metadata")):
            notes = meta.get("annotations") if isinstance(meta, CommentedMap) else None
            if isinstance(notes, CommentedMap):
                found.update({str(k): str(v) for k, v in notes.items()})
        return found


def mapping_at(node: CommentedMap, *keys: str) -> CommentedMap | None:
    """The mapping at ``node[k1][k2]...``, or None where the path breaks or ends elsewhere."""
    current: object = node
    for key in keys:
        current = current.get(key) if isinstance(current, CommentedMap) else None
    return current if isinstance(current, CommentedMap) else None


def annotation_ignores(annotations: dict[str, str]) -> set[str]:
    """Rule ids switched off by the annotations of ours and of the tools teams already use:
    kube-linter, kube-score, Polaris and checkov."""
    found: set[str] = set()
    for key, value in annotations.items():
        if key in (IGNORE_ANNOTATION, _KUBE_SCORE):
            found |= {part.strip() for part in value.split(",") if part.strip()}
        elif key.startswith(_KUBE_LINTER):
            found.add(key[len(_KUBE_LINTER) :])
        elif key.startswith(_POLARIS) and key.endswith("-exempt"):
            found.add(key[len(_POLARIS) : -len("-exempt")])
        elif key == _POLARIS + "exempt" and value.strip().lower() == "true":
            found.add("*")
        elif key.startswith(_CHECKOV):
            found.add(value.split("=", 1)[0].strip())
    return found


@dataclass
class K8sDoc:
    stream: YamlStream
    manifests: list[Manifest]
    lines: list[str]


def _objects(node: Any) -> Iterator[CommentedMap]:
    if not isinstance(node, CommentedMap):
        return
    if "apiVersion" in node and "kind" in node:
        if str(node["kind"]).endswith("List") and isinstance(node.get("items"), CommentedSeq):
            for item in node["items"]:
                yield from _objects(item)
        else:
            yield node


def parse_manifests(text: str) -> K8sDoc:
    stream = load_stream(text)
    found: list[tuple[int, CommentedMap]] = []
    for document in stream.documents:
        for obj in _objects(document):
            found.append((int(obj.lc.line) + 1, obj))
    if not found:
        raise NotThisKind("no Kubernetes object (apiVersion and kind) in the file", 1)
    total = len(stream.starts)
    manifests = []
    for index, (line, obj) in enumerate(found):
        end = found[index + 1][0] - 1 if index + 1 < len(found) else total
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, CommentedMap) else None
        manifests.append(
            Manifest(obj, str(obj["apiVersion"]), str(obj["kind"]), name, line, max(end, line))
        )
    return K8sDoc(stream, manifests, text.splitlines())


def containers(manifest: Manifest) -> Iterator[CommentedMap]:
    """Every container of any workload kind (pod templates, CronJob job templates, CRDs)."""
    for _, key, value in walk(manifest.node):
        if key in CONTAINER_LISTS and isinstance(value, CommentedSeq):
            for item in value:
                if isinstance(item, CommentedMap):
                    yield item


def manifest_at(doc: K8sDoc, line: int) -> Manifest | None:
    for manifest in doc.manifests:
        if manifest.line <= line <= manifest.end_line:
            return manifest
    return None


class K8sKind:
    name = "k8s"

    def parse(self, text: str) -> K8sDoc:
        return parse_manifests(text)

    def ignored_ids(self, doc: Any, line: int) -> frozenset[str]:
        found = set(comment_ignores(doc.lines, line))
        manifest = manifest_at(doc, line)
        if manifest is not None:
            found |= annotation_ignores(manifest.annotations)
        return normalise(found)

    def object_at(self, doc: K8sDoc, line: int) -> tuple[str, str] | None:
        """(kind, name) of the object a line belongs to, for config ignores."""
        manifest = manifest_at(doc, line)
        return (manifest.kind, str(manifest.name or "")) if manifest is not None else None

    def images(self, doc: K8sDoc) -> list[ImageRef]:
        found = []
        for manifest in doc.manifests:
            for container in containers(manifest):
                image = parse_image(str(container.get("image", "")))
                if image is not None:
                    found.append(image)
        return found
