"""YAML streams read with ruamel.yaml's round-trip loader, for positions, never for re-emitting.

Fixes to YAML are text edits at positions ruamel reports, so every byte a fix does not own
(comments, quoting, key order, blank lines, ``---``/``...``, CRLF, flow style) stays as it was;
a file with nothing to fix comes back byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedKeyMap, CommentedKeySeq, CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from fixers.textedit import detect_newline, line_starts

MAX_NODES = 200_000  # a bound on walking a document (aliases are walked once)
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
# A template action alone on its line (`{{- if .Values.x }}`, `{% for %}`): such a file only
# becomes YAML after rendering. Placeholders inside values are judged after parsing
# (_templated_key_line), so `summary: "{{ $labels.instance }} down"` stays data.
_TEMPLATE_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?(?:\{\{|\{%)", re.MULTILINE)
_DUPLICATE = re.compile(r'found duplicate key "([^"]*)"')


class YamlError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class NotThisKind(YamlError):
    """Valid YAML, but not the kind of file it was taken for (a CI config with `services:`)."""


@dataclass
class YamlStream:
    text: str
    newline: str
    documents: list[Any]  # one ruamel node (or None) per document
    starts: list[int]  # line start offsets, for turning (line, col) into offsets

    def offset(self, line0: int, col0: int) -> int:
        return self.starts[line0] + col0


def looks_templated(text: str) -> bool:
    """Helm / Jinja / Go templates: text that only becomes YAML after rendering."""
    return bool(_TEMPLATE.search(text))


def templated_line(text: str) -> int | None:
    """The first line that is a template action, or None."""
    m = _TEMPLATE_LINE.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def describe(exc: YAMLError) -> tuple[str, int]:
    """A one-line problem and its line, never quoting values (they may be secrets)."""
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = str(exc.problem or exc.context or "invalid YAML").strip()
    else:
        line, problem = 1, str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
    duplicate = _DUPLICATE.search(problem)
    if duplicate:
        problem = f"duplicate key `{duplicate.group(1)}`"
    return problem, line


def load_stream(text: str) -> YamlStream:
    line = templated_line(text)
    if line is not None:
        raise YamlError("templated (Helm/Go/Jinja placeholders): not YAML until rendered", line)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        documents = list(yaml.load_all(text))
    except YAMLError as exc:
        problem, line = describe(exc)
        if looks_templated(text):
            problem = f"templated (placeholders), not YAML until rendered: {problem}"
        raise YamlError(problem, line) from None
    except RecursionError:
        raise YamlError("nesting too deep", 1) from None
    for document in documents:
        templated = _templated_key_line(document)
        if templated is not None:
            raise YamlError(
                "templated (`{{placeholder}}` values): not YAML until rendered", templated
            )
    return YamlStream(text, detect_newline(text), documents, line_starts(text))


def _templated_key_line(document: Any) -> int | None:
    """`key: {{name}}` parses as a mapping whose key is a mapping: the mark of a placeholder."""
    for parent, key, _ in walk(document):
        if isinstance(key, CommentedKeyMap | CommentedKeySeq):
            return int(parent.lc.line) + 1
    return None


def walk(node: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(parent, key, value) for every mapping entry and sequence item, each node once.

    Aliases make a document a graph; walking each node once keeps a billion-laughs file linear.
    """
    seen: set[int] = set()
    stack = [node]
    count = 0
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        count += 1
        if count > MAX_NODES:
            raise YamlError(f"more than {MAX_NODES} nodes", 1)
        items: Any
        if isinstance(current, CommentedMap):
            items = list(current.items())
        elif isinstance(current, CommentedSeq):
            items = list(enumerate(current))
        else:
            continue
        for key, value in items:
            yield current, key, value
            if isinstance(value, CommentedMap | CommentedSeq):
                stack.append(value)


@dataclass(frozen=True)
class Scalar:
    start: int  # offset of the value's first character (inside quotes)
    end: int  # offset just past its last character (inside quotes)
    quote: str  # "", "'" or '"'
    line: int  # 1-based


def value_span(stream: YamlStream, parent: Any, key: Any) -> Scalar | None:
    """Where the scalar value of ``parent[key]`` sits in the text, when it can be edited safely.

    None for block scalars (``|``, ``>``), multi-line plain scalars, escapes, anchors and tags:
    places where a text edit could change more than the value.
    """
    try:
        line0, col0 = (
            parent.lc.value(key) if isinstance(parent, CommentedMap) else parent.lc.item(key)
        )
    except (KeyError, IndexError, TypeError):
        return None
    value = parent[key]
    if not isinstance(value, str):
        return None
    text = stream.text
    pos = stream.offset(line0, col0)
    if pos >= len(text):
        return None
    first = text[pos]
    if first in "\"'":
        end = text.find(first, pos + 1)
        if end == -1 or text[pos + 1 : end] != value:
            return None  # escapes or folding: not a plain copy of the value
        return Scalar(pos + 1, end, first, line0 + 1)
    if first in "|>&!*":
        return None
    end = pos + len(value)
    if text[pos:end] != value:
        return None
    return Scalar(pos, end, "", line0 + 1)
