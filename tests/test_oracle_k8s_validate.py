"""kubernetes-validate as an oracle on every Kubernetes golden case: each fixed file
(``expected``) must validate ``--strict`` against the OpenAPI schemas of Kubernetes
``K8S_VERSION``, and so must each ``input`` that is a manifest at all.

- Kubernetes 1.30: kubernetes-validate (1.37.0) ships offline schemas for 1.25 to 1.37; 1.30 is
  an old release still run by managed clusters (extended support), so a fix must hold there.
  ``validate`` silently falls back to an older schema set when a version is missing, so each
  call's answer is checked to be 1.30.
- Strict: an unknown field (a typo, a key at the wrong level) is an error, as with
  ``kubectl apply --validate=strict``.
- Files are read as kubectl reads them (YAML 1.1, as PyYAML does): ``yes`` is a boolean, so
  ``value: yes`` under ``env`` fails as it would on a cluster. Timestamps stay strings (as in
  kubectl), empty documents are ignored and a ``kind: List`` is validated item by item (there
  is no schema for it).
- An ``input`` that is not a manifest (not YAML, or a document without ``apiVersion`` and
  ``kind``, e.g. a Helm template) is skipped; an ``expected`` must always be one.
- Custom resources (an ``apiVersion`` group that is not a Kubernetes one: ``argoproj.io/...``)
  have no schema here and are left out; a file of nothing else is skipped.
- Accepted exceptions go in the case's ``case.json``: ``"k8s_validate_skip": "reason"`` skips
  the case (e.g. an API version removed before 1.30, kept on purpose), and
  ``{"input": "reason"}`` or ``{"expected": "reason"}`` skips one of the two files.

Runs in-process (a few milliseconds a resource), so it is not marked slow.
"""

from __future__ import annotations

from typing import Any

import pytest

from fixers.registry import find_rule
from tests.golden import Case, cases

kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (PyPI) missing")
yaml = pytest.importorskip("yaml", reason="PyYAML (a kubernetes-validate dependency) missing")

K8S_VERSION = "1.30"
TYPE_KEYS = ("apiVersion", "kind")
LIST_KEYS = {*TYPE_KEYS, "metadata", "items"}
# API groups served by Kubernetes itself (plus the core group, ""): the unsuffixed legacy ones
# and every group ending in .k8s.io. Objects of other groups are custom resources: no schema
# ships for them, so they are left out (a file of nothing else is skipped).
LEGACY_GROUPS = {"", "apps", "batch", "autoscaling", "policy", "extensions"}


def _is_k8s(case: Case) -> bool:
    rule = find_rule(case.rule)
    return rule is not None and rule.doc.kind == "k8s" and case.meta.get("kind", "k8s") == "k8s"


CASES = [c for c in cases() if _is_k8s(c)]
PARAMS = [
    pytest.param(case, which, id=f"{case.id}:{which}")
    for case in CASES
    for which in ("input", "expected")
    if (case.folder / which).exists()
] or [
    pytest.param(
        None,
        "",
        id="no-k8s-cases",
        marks=pytest.mark.skip(reason="no golden cases of a Kubernetes rule under fixtures/ yet"),
    )
]


def _as_string(loader: Any, node: Any) -> str:
    return str(loader.construct_scalar(node))


# PyYAML's safe loader, with timestamps kept as strings and ``=`` read as a string.
_Loader: Any = type("_Loader", (yaml.SafeLoader,), {})
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
_Loader.add_constructor("tag:yaml.org,2002:value", _as_string)


def _is_object(node: Any) -> bool:
    return isinstance(node, dict) and all(isinstance(node.get(k), str) for k in TYPE_KEYS)


def objects(text: str) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """(where, object) for every object of the file, ``kind: List`` items included; or the
    reason the file is not a Kubernetes manifest."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        return [], "not YAML: " + " ".join(str(exc).split())
    found: list[tuple[str, dict[str, Any]]] = []
    for number, document in enumerate(documents, start=1):
        where = f"document {number}"
        if document is None:
            continue
        if not _is_object(document):
            return [], f"{where} is not an object with apiVersion and kind"
        if document["kind"] != "List" or document["apiVersion"] != "v1":
            found.append((where, document))
            continue
        items = document.get("items")
        if not isinstance(items, list) or set(document) - LIST_KEYS:
            return [], f"{where} is a List without items or with keys beyond {sorted(LIST_KEYS)}"
        for index, item in enumerate(items):
            if not _is_object(item):
                return [], f"{where}, item {index} is not an object with apiVersion and kind"
            found.append((f"{where}, item {index}", item))
    return found, None


def is_custom(obj: dict[str, Any]) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return group not in LEGACY_GROUPS and not group.endswith(".k8s.io")


def problems(obj: dict[str, Any]) -> list[str]:
    """Why ``obj`` does not validate (nothing when it does)."""
    try:
        version = kv.validate(obj, K8S_VERSION, strict=True)
    except kv.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(top)"
        return [f"{path}: {exc.message}"]
    except kv.SchemaNotFoundError as exc:
        return [f"{exc.message} (removed from or not yet in Kubernetes {K8S_VERSION}?)"]
    if version != K8S_VERSION:
        return [f"validated against Kubernetes {version}, not {K8S_VERSION}: schemas missing"]
    return []


def test_schema_version_ships() -> None:
    shipped = {kv.utils.major_minor(v) for v in kv.utils.all_versions()}
    assert K8S_VERSION in shipped, f"kubernetes-validate ships only {sorted(shipped)}"


@pytest.mark.parametrize(("case", "which"), PARAMS)
def test_manifest_validates(case: Case, which: str) -> None:
    skip = case.meta.get("k8s_validate_skip")
    if isinstance(skip, dict) and which in skip:
        pytest.skip(f"case.json k8s_validate_skip[{which!r}]: {skip[which]}")
    if skip and not isinstance(skip, dict):
        pytest.skip(f"case.json k8s_validate_skip: {skip}")
    found, not_manifest = objects((case.folder / which).read_bytes().decode("utf-8"))
    if not_manifest is not None:
        if which == "input":
            pytest.skip(f"the input is not a Kubernetes manifest ({not_manifest})")
        pytest.fail(f"the fixed file is not a Kubernetes manifest: {not_manifest}")
    if not found:
        if which == "input":
            pytest.skip("the input holds no Kubernetes object")
        pytest.fail("the fixed file holds no Kubernetes object")
    if all(is_custom(obj) for _, obj in found):
        pytest.skip(f"{which} holds only custom resources: no schema for them")
    errors = []
    for where, obj in found:
        if is_custom(obj):
            continue
        meta = obj.get("metadata")
        name = meta.get("name", "?") if isinstance(meta, dict) else "?"
        errors += [f"{where} ({obj['kind']} {name}): {p}" for p in problems(obj)]
    hint = f'invalid on purpose? case.json: "k8s_validate_skip": {{"{which}": "why"}}'
    assert not errors, "\n".join(
        [f"{which} does not validate against Kubernetes {K8S_VERSION}:", *errors, hint]
    )
