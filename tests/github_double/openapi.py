"""GitHub's OpenAPI description (subset): routing, validation, schema-directed response bodies.

`tests/data/github-openapi/subset.json` is GitHub's REST API description (version 2022-11-28)
cut down to the operations a repository-scanning bot uses; see the README next to it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "github-openapi" / "subset.json"
METHODS = ("get", "post", "patch", "put", "delete")
FIXED_TIME = "2024-01-01T00:00:00Z"


@functools.cache
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def resolve(node: Any) -> Any:
    """Follow local `$ref`s (`#/components/...`) until a non-reference node is reached."""
    spec = load_spec()
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    regex: re.Pattern[str]
    param_names: tuple[str, ...]
    spec: dict[str, Any]

    def request_schema(self) -> dict[str, Any] | None:
        body = resolve(self.spec.get("requestBody"))
        if not body:
            return None
        media = body.get("content", {}).get("application/json")
        return media.get("schema") if media else None

    def response_schema(self, status: int) -> tuple[bool, dict[str, Any] | None]:
        """(is the status documented, its JSON schema or None when it has no body)."""
        responses = self.spec.get("responses", {})
        resp = responses.get(str(status)) or responses.get("default")
        if resp is None:
            return False, None
        resp = resolve(resp)
        media = resp.get("content", {}).get("application/json")
        return True, (media.get("schema") if media else None)


def _compile(
    template: str, params: list[dict[str, Any]]
) -> tuple[re.Pattern[str], tuple[str, ...]]:
    multi = {p["name"] for p in params if p.get("in") == "path" and p.get("x-multi-segment")}
    names: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        names.append(name)
        return f"(?P<{name}>.+)" if name in multi else f"(?P<{name}>[^/]+)"

    pattern = re.sub(r"\\\{([^}]+)\\\}", repl, re.escape(template))
    return re.compile(f"^{pattern}$"), tuple(names)


@functools.cache
def operations() -> tuple[Operation, ...]:
    ops: list[Operation] = []
    for template, item in load_spec()["paths"].items():
        shared = [resolve(p) for p in item.get("parameters", [])]
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = shared + [resolve(p) for p in op.get("parameters", [])]
            regex, names = _compile(template, params)
            ops.append(Operation(method.upper(), template, op["operationId"], regex, names, op))
    # Fewer path parameters first, so literal segments win over `{param}` segments.
    ops.sort(key=lambda o: (len(o.param_names), -len(o.template)))
    return tuple(ops)


def match(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    for op in operations():
        if op.method != method:
            continue
        m = op.regex.match(path)
        if m:
            return op, m.groupdict()
    return None


def operation(operation_id: str) -> Operation:
    for op in operations():
        if op.operation_id == operation_id:
            return op
    raise KeyError(operation_id)


# ---------------------------------------------------------------- validation


def _nullable_aware(keyword: str) -> Any:
    base = OAS30Validator.VALIDATORS[keyword]

    def check(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Any:
        # OpenAPI 3.0.3: `nullable: true` allows null; openapi-schema-validator applies it only
        # next to `type`, and GitHub puts it next to `oneOf`/`anyOf`/`allOf` and `enum` too
        # (`start_side` of a single-line review comment is null on GitHub).
        if instance is None and schema.get("nullable"):
            return
        yield from base(validator, value, instance, schema)

    return check


Validator = extend(
    OAS30Validator,
    validators={k: _nullable_aware(k) for k in ("oneOf", "anyOf", "allOf", "enum")},
)


def _with_components(schema: dict[str, Any]) -> dict[str, Any]:
    # Local `#/components/...` references resolve against the root of the schema validated.
    return {"allOf": [schema], "components": load_spec()["components"]}


def _strip_array_discriminator(schema: dict[str, Any], instance: Any) -> dict[str, Any]:
    # repos/get-content: the `discriminator` maps `array`, which cannot apply to a JSON array
    # (see the README); validate a directory listing against the array alternative alone.
    if isinstance(instance, list) and "discriminator" in schema:
        for alt in schema.get("oneOf", []):
            if resolve(alt).get("type") == "array":
                return alt
    return schema


def validate(schema: dict[str, Any], instance: Any) -> list[str]:
    schema = _strip_array_discriminator(schema, instance)
    validator = Validator(_with_components(schema))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors]


# ---------------------------------------------------------- response bodies


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    if schema.get("nullable"):
        merged["nullable"] = True
    for part in schema["allOf"]:
        part = resolve(part)
        if "allOf" in part:
            part = _merge_all_of(part)
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


def _default(schema: dict[str, Any], base_url: str) -> Any:
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return FIXED_TIME
        if fmt in ("uri", "url"):
            return f"{base_url}/unset"
        if fmt == "email":
            return "unset@example.com"
        return ""
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return fill(schema, {}, base_url)


def fill(schema: Any, value: Any, base_url: str) -> Any:
    """A body that follows `schema`: the values given in `value`, defaults for missing required
    properties, and properties the schema does not list dropped."""
    schema = resolve(schema)
    if "allOf" in schema:
        schema = _merge_all_of(schema)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        if value is None and schema.get("nullable"):
            return None
        candidates = [fill(alt, copy.deepcopy(value), base_url) for alt in alternatives]
        for candidate, alt in zip(candidates, alternatives, strict=True):
            if not validate(alt, candidate):
                return candidate
        return candidates[0]
    if value is None:
        return None if schema.get("nullable") or not schema else _default(schema, base_url)
    kind = schema.get("type")
    if kind == "array" and isinstance(value, list):
        return [fill(schema.get("items", {}), item, base_url) for item in value]
    if (kind == "object" or "properties" in schema) and isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        out: dict[str, Any] = {}
        for key in props:
            if key in value:
                out[key] = fill(props[key], value[key], base_url)
            elif key in schema.get("required", []):
                out[key] = _default(resolve(props[key]), base_url)
        if not props or schema.get("additionalProperties"):
            for key, item in value.items():
                out.setdefault(key, item)
        return out
    return value


def fill_component(name: str, value: Any, base_url: str) -> Any:
    return fill({"$ref": f"#/components/schemas/{name}"}, value, base_url)
