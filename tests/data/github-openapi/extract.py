"""Cut GitHub's REST API description down to the operations the GitHub double serves.

Usage: python extract.py API_GITHUB_COM_JSON [OPERATION_ID ...] [--out subset.json]

API_GITHUB_COM_JSON is `generated/api.github.com.json` of the npm package `@octokit/openapi`
(23.0.2 for the committed `subset.json`). Without operation ids, OPERATIONS below is used.
See README.md for what is changed on the way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_PREFIX = "#/components/"
INFO_TITLE = "GitHub v3 REST API (subset)"
INFO_DESCRIPTION = (
    "Subset of GitHub's published REST API OpenAPI description; see README.md next to this"
    " file for provenance."
)

# In README order: paths appear in the order their first operation is listed here.
OPERATIONS = (
    "repos/get",
    "repos/get-branch",
    "git/get-ref",
    "git/list-matching-refs",
    "git/get-commit",
    "git/get-tree",
    "git/get-blob",
    "repos/get-content",
    "repos/get-commit",
    "git/create-blob",
    "git/create-tree",
    "git/create-commit",
    "git/create-ref",
    "git/update-ref",
    "git/delete-ref",
    "pulls/list",
    "pulls/create",
    "pulls/get",
    "pulls/update",
    "pulls/list-files",
    "pulls/list-reviews",
    "pulls/create-review",
    "pulls/list-review-comments",
    "issues/add-labels",
    "issues/create-comment",
    "issues/create-label",
    "repos/list-for-org",
    "apps/list-repos-accessible-to-installation",
    "rate-limit/get",
    "code-scanning/upload-sarif",
    "code-scanning/get-sarif",
    "pulls/delete-review-comment",
    "issues/list-comments",
    "orgs/get",
)

# octokit's build drops `type: array` alternatives from top-level request-body `oneOf`s. These
# are the two of `issues/add-labels` as github/rest-api-description has them (commit
# 0000036e42b5e7121c2b1ac244cb7bba1d2f3914); PyGithub's add_to_labels() sends a bare array.
_LABEL_PROPERTIES: dict[str, Any] = {
    "rationale": {"type": "string", "description": "Optional reasoning for adding this label."},
    "suggest": {
        "type": "boolean",
        "description": "If `true`, the label is stored as a pending suggestion for human review"
        " rather than applied directly.",
    },
    "confidence": {
        "type": "string",
        "description": "The confidence level for this label choice.",
        "enum": ["low", "medium", "high"],
    },
}
RESTORED_ONE_OF: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", "post"): [
        {"type": "array", "items": {"type": "string"}},
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, **_LABEL_PROPERTIES},
                "required": ["name"],
            },
        },
    ],
}


def _without_octokit(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_octokit(v) for k, v in node.items() if k != "x-octokit"}
    if isinstance(node, list):
        return [_without_octokit(v) for v in node]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _restore(paths: dict[str, Any]) -> None:
    for (path, method), alternatives in RESTORED_ONE_OF.items():
        op = paths.get(path, {}).get(method)
        if op is None:
            continue
        one_of = op["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
        one_of += [alt for alt in alternatives if alt not in one_of]


def extract(source: dict[str, Any], operation_ids: Sequence[str]) -> dict[str, Any]:
    """The subset document: the operations, in the order given, and every component they
    reach through `$ref`s."""
    where: dict[str, tuple[str, str]] = {}
    for path, item in source["paths"].items():
        for method in METHODS:
            if method in item:
                where[item[method]["operationId"]] = (path, method)
    missing = [op for op in operation_ids if op not in where]
    if missing:
        raise KeyError(f"operations not in the description: {', '.join(missing)}")
    wanted: dict[str, set[str]] = {}
    for op in operation_ids:
        path, method = where[op]
        wanted.setdefault(path, set()).add(method)
    paths: dict[str, Any] = {}
    for path, methods in wanted.items():
        item = source["paths"][path]
        paths[path] = {k: v for k, v in item.items() if k not in METHODS or k in methods}
    paths = _without_octokit(paths)
    _restore(paths)

    components: dict[str, dict[str, Any]] = {}
    todo = list(_refs(paths))
    while todo:
        ref = todo.pop()
        if not ref.startswith(COMPONENT_PREFIX):
            raise ValueError(f"non-local $ref: {ref}")
        kind, name = ref.removeprefix(COMPONENT_PREFIX).split("/", 1)
        if name in components.setdefault(kind, {}):
            continue
        node = _without_octokit(source["components"][kind][name])
        components[kind][name] = node
        todo += _refs(node)

    return {
        "openapi": source["openapi"],
        "info": {
            "title": INFO_TITLE,
            "version": source["info"]["version"],
            "description": INFO_DESCRIPTION,
        },
        "servers": source["servers"],
        "paths": paths,
        "components": {
            kind: {name: components[kind][name] for name in sorted(components[kind])}
            for kind in sorted(components)
        },
    }


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="@octokit/openapi generated/api.github.com.json")
    parser.add_argument("operations", nargs="*", help="operationIds (default: OPERATIONS)")
    parser.add_argument("--out", type=Path, default=HERE / "subset.json")
    args = parser.parse_args(argv)
    source = json.loads(args.source.read_text(encoding="utf-8"))
    doc = extract(source, args.operations or OPERATIONS)
    args.out.write_text(dump(doc), encoding="utf-8")
    ops = sum(len([m for m in item if m in METHODS]) for item in doc["paths"].values())
    counts = ", ".join(f"{len(v)} {k}" for k, v in doc["components"].items())
    print(f"{args.out}: {ops} operations; components: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
