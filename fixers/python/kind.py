"""The Python kind: the modules an image runs, found through its Dockerfile's CMD/ENTRYPOINT.

Python files are not discovered on their own (most of a repository's Python is libraries,
tests and tooling); ``DockerfileKind.related`` names the module an image starts
(``python app.py``, ``gunicorn app:app``...), and a ``.py`` file named on the command line is
taken as one too.

The model is libcst's concrete syntax tree, which keeps every byte of the source: rules
transform the tree and turn the difference between the old and the new code into text edits
(``code_edits``): only the lines that changed are replaced. Ignore comments:

- ``# container-bp ignore=CBP401 reason`` at the end of the finding's line, or in the block of
  comment lines directly above it;
- ``# container-bp ignore-file=CBP401`` anywhere: the whole file.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper

from fixers.model import Edit
from fixers.textedit import detect_newline, line_starts

_OURS = re.compile(r"^container-bp\s+ignore\s*=\s*([\w,\s-]+?)(?:\s+\S.*)?$", re.IGNORECASE)
_OURS_FILE = re.compile(r"^container-bp\s+ignore-file\s*=\s*([\w,\s-]+?)(?:\s+\S.*)?$", re.I)
_ERROR_AT = re.compile(r"error at (\d+):")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")  # lines as ``line_starts`` counts them, ends kept
BOM = "\ufeff"


@dataclass(frozen=True)
class PyComment:
    line: int  # 1-based
    text: str  # without the leading '#', stripped
    alone: bool  # the only thing on its line


@dataclass
class PythonModule:
    text: str  # the file as read (a UTF-8 BOM included)
    module: cst.Module  # parsed from ``text`` without its BOM
    newline: str
    comments: list[PyComment]
    bom: int = 0  # 1 when the file starts with a BOM: offsets of ``module.code`` are shifted
    _wrapper: MetadataWrapper | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        """The text libcst parsed (and re-emits byte for byte): ``text`` without its BOM."""
        return self.text[self.bom :]

    @property
    def wrapper(self) -> MetadataWrapper:
        """Metadata (positions, qualified names) over ``module`` itself, computed once."""
        if self._wrapper is None:
            self._wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return self._wrapper

    def comments_above(self, line: int) -> list[PyComment]:
        """The block of comment-only lines directly above ``line``."""
        by_line = {c.line: c for c in self.comments if c.alone}
        block: list[PyComment] = []
        current = line - 1
        while current in by_line:
            block.append(by_line[current])
            current -= 1
        block.reverse()
        return block


def _comments(source: str) -> list[PyComment]:
    found: list[PyComment] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    lines = source.splitlines()
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line, col = token.start
        before = lines[line - 1][:col] if line - 1 < len(lines) else ""
        found.append(PyComment(line, token.string[1:].strip(), not before.strip()))
    return found


def parse(text: str) -> PythonModule:
    """Parse a module; raises ValueError (with a line) when it is not valid Python."""
    bom = 1 if text.startswith(BOM) else 0
    source = text[bom:]
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        m = _ERROR_AT.search(exc.message)
        line = int(m.group(1)) if m else exc.raw_line
        message = exc.message.split(":", 1)[-1].strip() if m else exc.message
        raise ValueError(f"line {line}: not valid Python: {message}") from None
    except RecursionError:
        raise ValueError("line 1: nesting too deep") from None
    return PythonModule(
        text=text,
        module=module,
        newline=detect_newline(source),
        comments=_comments(source),
        bom=bom,
    )


def code_edits(doc: PythonModule, new_code: str) -> list[Edit]:
    """Edits that turn ``doc.source`` into ``new_code``, whole lines at a time and only where
    lines differ (offsets into ``doc.text``). Empty when nothing changed."""
    old_lines = _LINE.findall(doc.source)
    new_lines = _LINE.findall(new_code)
    starts = [*line_starts(doc.source)[: len(old_lines)], len(doc.source)]
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            new = "".join(new_lines[j1:j2])
            edits.append(Edit(starts[i1] + doc.bom, starts[i2] + doc.bom, new))
    return edits


def _ids(group: str) -> set[str]:
    return {part.strip() for part in re.split(r"[,\s]+", group) if part.strip()}


def ignored_ids(doc: PythonModule, line: int) -> frozenset[str]:
    found: set[str] = set()
    for comment in doc.comments:
        m = _OURS_FILE.match(comment.text)
        if m:
            found |= _ids(m.group(1))
    nearby = [c for c in doc.comments if c.line == line] + doc.comments_above(line)
    for comment in nearby:
        m = _OURS.match(comment.text)
        if m:
            found |= _ids(m.group(1))
    return frozenset({i.upper() for i in found} | {i.lower() for i in found})


class PythonKind:
    name = "python"

    def parse(self, text: str) -> PythonModule:
        return parse(text)

    def ignored_ids(self, doc: Any, line: int) -> frozenset[str]:
        return ignored_ids(doc, line)
