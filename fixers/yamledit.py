"""Text edits that add to YAML block mappings and sequences, in the file's own layout.

ruamel tells where nodes start, not where they end, and re-emitting a document would re-flow
comments and quoting; so additions are computed as text: new lines are written with the
indentation, sequence-dash style and line ending the file already uses, and inserted after the
last line that belongs to the node. Flow-style nodes (``{a: b}``) are not edited: callers
report instead.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.model import Edit
from fixers.yamldoc import YamlStream


@dataclass(frozen=True)
class Layout:
    """How the file indents: the mapping step and where sequence dashes sit."""

    step: int = 2  # columns between a key and its child keys
    dash_offset: int = 0  # columns between a key and the dash of its sequence items


def _line_text(stream: YamlStream, line0: int) -> str:
    start = stream.starts[line0]
    end = stream.starts[line0 + 1] if line0 + 1 < len(stream.starts) else len(stream.text)
    return stream.text[start:end].rstrip("\r\n")


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _is_content(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("#")


def detect_layout(stream: YamlStream) -> Layout:
    """The first parent/child key pair and the first key/sequence pair decide the style."""
    step: int | None = None
    offset: int | None = None
    lines = [_line_text(stream, i) for i in range(len(stream.starts))]
    for i, text in enumerate(lines[:-1]):
        stripped = text.strip()
        if not stripped.endswith(":") or stripped.startswith(("#", "- ")):
            continue
        nxt = next((t for t in lines[i + 1 :] if _is_content(t)), None)
        if nxt is None:
            break
        delta = _indent(nxt) - _indent(text)
        if nxt.strip().startswith("- "):
            offset = delta if offset is None and delta >= 0 else offset
        elif delta > 0 and step is None:
            step = delta
        if step is not None and offset is not None:
            break
    return Layout(step or 2, offset if offset is not None else 0)


def is_flow(node: Any) -> bool:
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _key_column(node: CommentedMap) -> tuple[int, int] | None:
    """(line0, column) of the first key of a block mapping."""
    if not node:
        return None
    first = next(iter(node))
    line0, col = node.lc.key(first)
    return int(line0), int(col)


def _last_line(stream: YamlStream, first_line0: int, indent: int, *, dashes: bool = False) -> int:
    """The last line (0-based) of a block node whose lines are indented at least ``indent``;
    for a sequence (``dashes``), lines at ``indent`` must be items (``- ``).

    A `#` line indented deeper than the node's keys is kept inside it: it may be the text of
    a block scalar (`# done` ending a script), and inserting before it would cut it off.
    Comments at key level or less belong to what follows.
    """
    last = first_line0
    for i in range(first_line0 + 1, len(stream.starts)):
        text = _line_text(stream, i)
        if text.startswith(("---", "...")):
            break
        if not text.strip():
            continue
        col = _indent(text)
        if text.lstrip().startswith("#"):
            if col > indent:
                last = i
            continue
        if col < indent or (dashes and col == indent and not text.lstrip().startswith("-")):
            break
        last = i
    return last


def dump(value: Any, layout: Layout) -> list[str]:
    """Lines (no line endings) of ``value`` in block style, with the file's layout."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=layout.step, sequence=layout.dash_offset + 2, offset=layout.dash_offset)
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue().rstrip("\n").split("\n")


def _lines_edit(stream: YamlStream, after_line0: int, lines: list[str], indent: int) -> Edit:
    """Insert ``lines`` after line ``after_line0``; a file without a final newline keeps
    having none."""
    nl = stream.newline
    body = [" " * indent + line for line in lines]
    if after_line0 + 1 < len(stream.starts):
        offset = stream.starts[after_line0 + 1]
        return Edit(offset, offset, "".join(line + nl for line in body))
    end = len(stream.text)
    if stream.text.endswith("\n"):
        return Edit(end, end, "".join(line + nl for line in body))
    return Edit(end, end, "".join(nl + line for line in body))


def add_entries(stream: YamlStream, node: CommentedMap, entries: dict[str, Any]) -> Edit | None:
    """Add keys at the end of a block mapping. None for flow style or an empty mapping."""
    if is_flow(node):
        return None
    where = _key_column(node)
    if where is None:
        return None
    line0, col = where
    last = _last_line(stream, line0, col)
    return _lines_edit(stream, last, dump(entries, detect_layout(stream)), col)


def append_items(
    stream: YamlStream, parent: CommentedMap, key: str, items: list[Any]
) -> Edit | None:
    """Append items to the block sequence ``parent[key]``, creating the key when absent."""
    if key not in parent:
        return add_entries(stream, parent, {key: items})
    seq = parent[key]
    if not isinstance(seq, CommentedSeq) or is_flow(seq) or is_flow(parent) or not seq:
        return None
    line0, col = seq.lc.item(0)
    line_text = _line_text(stream, int(line0))
    dash_col = line_text.rfind("-", 0, int(col))
    if dash_col < 0 or line_text[dash_col + 1 : int(col)].strip():
        return None
    last = _last_line(stream, int(line0), dash_col, dashes=True)
    layout = detect_layout(stream)
    lines = dump(items, Layout(layout.step, 0))
    return _lines_edit(stream, last, lines, dash_col)


def fill_empty_mapping(
    stream: YamlStream, parent: CommentedMap, key: str, entries: dict[str, Any]
) -> list[Edit] | None:
    """Turn ``key: {}`` into a block mapping holding ``entries``: the ``{}`` goes, a comment
    after it stays. None unless the value is an empty flow mapping on the key's own line."""
    value = parent.get(key)
    if not isinstance(value, CommentedMap) or value or is_flow(parent):
        return None
    try:
        key_line, key_col = parent.lc.key(key)
        line0, col0 = parent.lc.value(key)
    except (KeyError, TypeError):
        return None
    if key_line != line0:
        return None
    text = stream.text
    brace = stream.offset(line0, col0)
    end = stream.starts[line0 + 1] if line0 + 1 < len(stream.starts) else len(text)
    rest = text[brace + 2 : end].strip()
    if text[brace : brace + 2] != "{}" or (rest and not rest.startswith("#")):
        return None
    colon = text.rfind(":", stream.starts[line0], brace)
    if colon < 0 or text[colon + 1 : brace].strip():
        return None
    layout = detect_layout(stream)
    lines = dump(entries, layout)
    insert = _lines_edit(stream, line0, lines, key_col + layout.step)
    return [Edit(colon + 1, brace + 2, ""), insert]
