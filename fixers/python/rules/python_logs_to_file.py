"""CBP401: Python apps in containers log to stdout, not to files inside the container.

A libcst codemod: the call is rewritten in the concrete syntax tree (libcst re-emits every
untouched byte), and the fix is the difference, line by line, between the old and new code.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from fixers.model import Finding, FixSafety, Severity
from fixers.python.kind import PythonModule, code_edits
from fixers.rule import Context, Rule, RuleDoc

BASIC_CONFIG = "logging.basicConfig"
FILE_HANDLERS = frozenset(
    {"logging.FileHandler", "logging.handlers.RotatingFileHandler",
     "logging.handlers.TimedRotatingFileHandler", "logging.handlers.WatchedFileHandler"}
)  # fmt: skip
# "Files" that are the standard streams already, or nothing at all.
NOT_LOG_FILES = frozenset(
    {"/dev/stdout", "/dev/stderr", "/dev/fd/1", "/dev/fd/2", "/proc/self/fd/1",
     "/proc/self/fd/2", "/proc/1/fd/1", "/proc/1/fd/2", "/dev/null", "nul"}
)  # fmt: skip
# Attributes only file handlers have: code that uses them breaks on a StreamHandler.
FILE_HANDLER_ATTRIBUTES = frozenset(
    {"baseFilename", "doRollover", "shouldRollover", "rotator", "namer", "rotation_filename",
     "rolloverAt", "computeRollover", "getFilesToDelete", "reopenIfNeeded", "maxBytes",
     "backupCount"}
)  # fmt: skip

_ItemT = TypeVar("_ItemT", cst.Arg, cst.ImportAlias)


@dataclass
class _Site:
    node: cst.Call | cst.Dict
    line: int
    what: str  # as shown: `logging.basicConfig(filename=...)`, `RotatingFileHandler`
    filename: cst.BaseExpression | None
    handler: bool  # a handler constructor (else basicConfig, or a dict config: node is a Dict)
    logging_ref: str | None = None  # `log` in `log.FileHandler(...)`: names the logging module


class _Scan(cst.CSTVisitor):
    """Collects the places that log to files, every string literal and every attribute name."""

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[_Site] = []
        self.strings: list[tuple[cst.CSTNode, str]] = []
        self.attributes: set[str] = set()

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _line(self, node: cst.CSTNode) -> int:
        return int(self.get_metadata(PositionProvider, node).start.line)

    def visit_Call(self, node: cst.Call) -> None:
        names = self._qualified(node.func)
        if BASIC_CONFIG in names:
            filename = _keyword(node.args, "filename")
            if filename is not None and _writes_a_file(filename.value):
                what = f"`{_dotted(node.func)}(filename=...)`"
                self.sites.append(_Site(node, self._line(node), what, filename.value, False))
        elif names & FILE_HANDLERS:
            arg = _filename_arg(node.args)
            if arg is None or _writes_a_file(arg.value):
                what = f"`{min(names & FILE_HANDLERS).rsplit('.', 1)[-1]}`"
                value = arg.value if arg is not None else None
                site = _Site(node, self._line(node), what, value, True, self._logging(node.func))
                self.sites.append(site)

    def _logging(self, func: cst.BaseExpression) -> str | None:
        """The expression in ``func`` that names the logging module, if it is spelled out."""
        if not isinstance(func, cst.Attribute):
            return None
        inner = func.value
        candidates = [inner, inner.value] if isinstance(inner, cst.Attribute) else [inner]
        for candidate in candidates:
            if "logging" in self._qualified(candidate):
                dotted = _dotted(candidate)
                return dotted if "..." not in dotted else None
        return None

    def visit_Dict(self, node: cst.Dict) -> None:
        for element in node.elements:
            if (
                isinstance(element, cst.DictElement)
                and _string(element.key) == "class"
                and _string(element.value) in FILE_HANDLERS
            ):
                what = f"a logging config's `{_string(element.value)}`"
                self.sites.append(_Site(node, self._line(element), what, None, True))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = _string(node)
        if value is not None:
            self.strings.append((node, value))

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.strings.append((node, node.value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes.add(node.attr.value)


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # an odd literal libcst cannot evaluate: not ours to judge
            return None
        return value if isinstance(value, str) else None
    return None


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return "..."


def _keyword(args: Sequence[cst.Arg], name: str) -> cst.Arg | None:
    for arg in args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def _filename_arg(args: Sequence[cst.Arg]) -> cst.Arg | None:
    """The handler's ``filename``: its first positional argument or the keyword."""
    if args and args[0].keyword is None and not args[0].star:
        return args[0]
    return _keyword(args, "filename")


def _writes_a_file(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Name) and value.value == "None":
        return False
    if isinstance(value, cst.Attribute) and _dotted(value) == "os.devnull":
        return False
    literal = _string(value)
    return literal is None or literal.strip().lower() not in NOT_LOG_FILES


def _safety(site: _Site, scan: _Scan) -> FixSafety:
    """Safe when the file is named by a literal that nothing else in the module mentions."""
    if scan.attributes & FILE_HANDLER_ATTRIBUTES or site.filename is None:
        return FixSafety.UNSAFE
    if isinstance(site.node, cst.Call) and any(arg.star for arg in site.node.args):
        return FixSafety.UNSAFE  # `**options` may hold anything, `stream=` included
    literal = _string(site.filename)
    if not literal:
        return FixSafety.UNSAFE
    needles = {literal, posixpath.basename(literal)} - {""}
    for node, value in scan.strings:
        if node is not site.filename and any(n in value for n in needles):
            return FixSafety.UNSAFE
    return FixSafety.SAFE


# --- Names in scope: how to spell sys.stdout and StreamHandler ---------------------------------


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _is_import_line(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body
    )


def _top_imports(module: cst.Module) -> Iterator[cst.Import | cst.ImportFrom]:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import | cst.ImportFrom):
                    yield small


def _module_alias(module: cst.Module, name: str) -> str | None:
    """The name a top-level ``import <name>`` binds (``import logging as log``: log)."""
    for imp in _top_imports(module):
        if not isinstance(imp, cst.Import):
            continue
        for alias in imp.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None:
                if dotted == name and isinstance(alias.asname.name, cst.Name):
                    return alias.asname.name.value
            elif dotted == name or dotted.startswith(name + "."):
                return name
    return None


def _from_logging(imp: cst.Import | cst.ImportFrom) -> bool:
    return (
        isinstance(imp, cst.ImportFrom)
        and not imp.relative
        and imp.module is not None
        and _dotted(imp.module) == "logging"
        and not isinstance(imp.names, cst.ImportStar)
    )


def _imported_name(module: cst.Module, source: str, name: str) -> str | None:
    """The local name of a top-level ``from <source> import <name> [as x]``."""
    for imp in _top_imports(module):
        if (
            isinstance(imp, cst.ImportFrom)
            and not imp.relative
            and imp.module is not None
            and _dotted(imp.module) == source
            and not isinstance(imp.names, cst.ImportStar)
        ):
            for alias in imp.names:
                if _dotted(alias.name) == name:
                    return _local(alias)
    return None


def _local(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _dotted(alias.name)


def _uses(module: cst.Module, name: str) -> int:
    """How often ``name`` is used, not counting the names imports bind."""

    class Count(cst.CSTVisitor):
        count = 0

        def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                self.count += 1

    counter = Count()
    module.visit(counter)
    return counter.count


# --- Editing sequences with commas -------------------------------------------------------------


def _merge_space(
    keep: cst.BaseParenthesizableWhitespace, drop: cst.BaseParenthesizableWhitespace
) -> cst.BaseParenthesizableWhitespace:
    """The space after the new last item: its own comment stays, the layout of the dropped
    last item's end (a line break before ``)``, or nothing) is taken over."""
    if isinstance(keep, cst.ParenthesizedWhitespace):
        if not isinstance(drop, cst.ParenthesizedWhitespace):
            return keep
        return drop.with_changes(
            first_line=keep.first_line, empty_lines=[*keep.empty_lines, *drop.empty_lines]
        )
    return drop


def _drop(items: Sequence[_ItemT], drop: set[int]) -> list[_ItemT]:
    """``items`` without the indexes in ``drop``; when the last one goes, the new last item
    ends the way it did."""
    kept = [item for i, item in enumerate(items) if i not in drop]
    if not kept or len(items) - 1 not in drop:
        return kept
    last, new_last = items[-1], kept[-1]
    comma = new_last.comma
    if not isinstance(comma, cst.Comma):
        return kept
    if isinstance(last.comma, cst.Comma):
        new_comma = comma.with_changes(
            whitespace_after=_merge_space(comma.whitespace_after, last.comma.whitespace_after)
        )
        kept[-1] = new_last.with_changes(comma=new_comma)
    elif isinstance(new_last, cst.Arg) and isinstance(last, cst.Arg):
        space = _merge_space(comma.whitespace_after, last.whitespace_after_arg)
        kept[-1] = new_last.with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=space
        )
    else:
        kept[-1] = new_last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept


def _append_alias(names: Sequence[cst.ImportAlias], name: str) -> list[cst.ImportAlias]:
    """``names`` and one more, in the statement's own layout (a trailing comma kept)."""
    last = names[-1]
    new = cst.ImportAlias(name=cst.Name(name))
    between: cst.Comma | cst.MaybeSentinel = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new name goes before it
        if len(names) > 1:
            between = names[-2].comma
        return [*names[:-1], last.with_changes(comma=between), new.with_changes(comma=last.comma)]
    return [*names[:-1], last.with_changes(comma=between), new]


# --- The codemod -------------------------------------------------------------------------------


def _import_block(module: cst.Module) -> range:
    """Indexes of the import lines that open the module (after its docstring)."""
    body = module.body
    first = 1 if body and _is_docstring(body[0]) else 0
    end = first
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    return range(first, end)


def _stdlib_line(stmt: cst.BaseStatement, straight: bool) -> str | None:
    """The first module a line of standard-library imports names (``import os``, ``from
    logging import x``; ``straight``: only the former); None for other lines."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return None
    names: list[str] = []
    for small in stmt.body:
        if isinstance(small, cst.Import):
            names.extend(_dotted(a.name) for a in small.names)
        elif isinstance(small, cst.ImportFrom) and not straight and not small.relative:
            names.append(_dotted(small.module) if small.module is not None else "")
        else:
            return None
    tops = [n.split(".", 1)[0] for n in names]
    if not tops or "__future__" in tops or not all(t in sys.stdlib_module_names for t in tops):
        return None
    return names[0]


def _insert_at(module: cst.Module, name: str) -> tuple[int, bool]:
    """Where ``import <name>`` goes, as isort/ruff would put it: among the opening block's
    standard-library ``import x`` lines in order, else before its first standard-library
    ``from x import``, else at the start of the block (after ``from __future__``); and
    whether it goes in front of the line at that index (which then hands over the blank
    lines and comments above it) rather than after the one before."""
    block = _import_block(module)
    body = module.body
    straight = [i for i in block if _stdlib_line(body[i], True) is not None]
    if straight:
        for i in straight:
            if str(_stdlib_line(body[i], True)).lower() > name:
                return i, True
        return straight[-1] + 1, False
    froms = [i for i in block if _stdlib_line(body[i], False) is not None]
    if froms:
        return froms[0], True
    index = block.start
    while index < block.stop and _is_future(body[index]):
        index += 1
    return index, True


def _is_future(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and s.module is not None and _dotted(s.module) == "__future__"
        for s in stmt.body
    )


def _add_imports(module: cst.Module, names: Sequence[str]) -> cst.Module:
    for name in sorted(names):
        at, in_front = _insert_at(module, name)
        line = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(cst.Name(name))])])
        body = list(module.body)
        if in_front and at < len(body):
            line = line.with_changes(leading_lines=body[at].leading_lines)
            body[at] = body[at].with_changes(leading_lines=[])
        body.insert(at, line)
        module = module.with_changes(body=body)
    return module


def _binding_import(module: cst.Module, local: str) -> tuple[int, int, int] | None:
    """(statement, small statement, alias) of the top-level from-import that binds ``local``."""
    for i, stmt in enumerate(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for j, small in enumerate(stmt.body):
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for k, alias in enumerate(small.names):
                    if _local(alias) == local:
                        return i, j, k
    return None


def _edit_import(module: cst.Module, local: str, rename: str | None) -> cst.Module:
    """Rename (``rename``) or drop the top-level from-import of ``local``; a statement left
    without names goes, and the comments above it stay."""
    where = _binding_import(module, local)
    if where is None:
        return module
    i, j, k = where
    stmt = cast(cst.SimpleStatementLine, module.body[i])
    imp = cast(cst.ImportFrom, stmt.body[j])
    names = list(cast(Sequence[cst.ImportAlias], imp.names))
    body = list(module.body)
    if rename is not None:
        names[k] = names[k].with_changes(name=cst.Name(rename), asname=None)
    else:
        names = _drop(names, {k})
    if names:
        small = list(stmt.body)
        small[j] = imp.with_changes(names=names)
        body[i] = stmt.with_changes(body=small)
        return module.with_changes(body=body)
    if len(stmt.body) > 1:
        small = [s for n, s in enumerate(stmt.body) if n != j]
        last = small[-1]
        if isinstance(last.semicolon, cst.Semicolon):
            small[-1] = last.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        body[i] = stmt.with_changes(body=small)
        return module.with_changes(body=body)
    del body[i]
    if stmt.leading_lines:
        if i < len(body):
            following = body[i]
            body[i] = following.with_changes(
                leading_lines=[*stmt.leading_lines, *following.leading_lines]
            )
        else:
            return module.with_changes(body=body, footer=[*stmt.leading_lines, *module.footer])
    return module.with_changes(body=body)


def _append_to_from_logging(module: cst.Module, name: str) -> cst.Module | None:
    """Add ``name`` to the first top-level ``from logging import ...``; None without one."""
    body = list(module.body)
    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for j, small in enumerate(stmt.body):
            if isinstance(small, cst.ImportFrom) and _from_logging(small):
                names = cast(Sequence[cst.ImportAlias], small.names)
                parts = list(stmt.body)
                parts[j] = small.with_changes(names=_append_alias(names, name))
                body[i] = stmt.with_changes(body=parts)
                return module.with_changes(body=body)
    return None


class _Replace(cst.CSTTransformer):
    """Replace one call (found by identity) with the result of ``make``."""

    def __init__(self, target: cst.CSTNode, make: Callable[[cst.Call], cst.Call]) -> None:
        super().__init__()
        self.target = target
        self.make = make

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self.make(updated_node) if original_node is self.target else updated_node


def _fix_basic_config(module: cst.Module, site: _Site) -> cst.Module:
    call = cast(cst.Call, site.node)
    keywords = {a.keyword.value: i for i, a in enumerate(call.args) if a.keyword is not None}
    drop = {keywords[k] for k in ("filename", "filemode") if k in keywords}
    add: list[str] = []
    stream_instead = "stream" not in keywords and "handlers" not in keywords
    sys_name = _module_alias(module, "sys")
    if stream_instead and sys_name is None:
        sys_name = "sys"
        add.append("sys")

    def make(node: cst.Call) -> cst.Call:
        args = list(node.args)
        removed = set(drop)
        if stream_instead:
            index = keywords["filename"]
            stdout = cst.parse_expression(f"{sys_name}.stdout")
            args[index] = args[index].with_changes(keyword=cst.Name("stream"), value=stdout)
            removed.discard(index)
        return node.with_changes(args=_drop(args, removed))

    return _add_imports(module.visit(_Replace(site.node, make)), add)


def _fix_handler(module: cst.Module, site: _Site) -> cst.Module:
    call = cast(cst.Call, site.node)
    add: list[str] = []
    sys_name = _module_alias(module, "sys")
    if sys_name is None:
        sys_name = "sys"
        add.append("sys")
    local = call.func.value if isinstance(call.func, cst.Name) else None
    unused_after = (
        local is not None
        and _binding_import(module, local) is not None
        and _uses(module, local) == 1
    )
    rename = False
    append = False
    logging_alias = site.logging_ref or _module_alias(module, "logging")
    imported = _imported_name(module, "logging", "StreamHandler")
    if logging_alias is not None:
        stream = f"{logging_alias}.StreamHandler"
    elif imported is not None:
        stream = imported
    elif (
        unused_after
        and local is not None
        and _imported_name(module, "logging", _origin(module, local)) == local
    ):
        stream, rename = "StreamHandler", True
    elif any(_from_logging(i) for i in _top_imports(module)):
        stream, append = "StreamHandler", True
    else:
        stream = "logging.StreamHandler"
        add.append("logging")

    def make(node: cst.Call) -> cst.Call:
        arg = cst.Arg(value=cst.parse_expression(f"{sys_name}.stdout"))
        return node.with_changes(
            func=cst.parse_expression(stream),
            args=[arg],
            whitespace_before_args=cst.SimpleWhitespace(""),
        )

    module = module.visit(_Replace(site.node, make))
    if unused_after and local is not None:
        module = _edit_import(module, local, "StreamHandler" if rename else None)
    if append:
        module = _append_to_from_logging(module, "StreamHandler") or module
    return _add_imports(module, add)


def _origin(module: cst.Module, local: str) -> str:
    """The imported name behind a from-import's local name (``FileHandler as FH``: FileHandler)."""
    where = _binding_import(module, local)
    if where is None:
        return local
    i, j, k = where
    stmt = cast(cst.SimpleStatementLine, module.body[i])
    imp = cast(cst.ImportFrom, stmt.body[j])
    return _dotted(cast(Sequence[cst.ImportAlias], imp.names)[k].name)


# --- The rule ----------------------------------------------------------------------------------

_DICT_SUGGESTION = (
    'use `"class": "logging.StreamHandler", "stream": "ext://sys.stdout"` and drop the file '
    "options (`filename`, `mode`, `maxBytes`, `backupCount`, `when`...)"
)


class PythonLogsToFile(Rule[PythonModule]):
    doc = RuleDoc(
        code="CBP401",
        name="python-logs-to-file",
        kind="python",
        title="Log to stdout, not to files inside the container",
        what=(
            "In the Python modules an image runs (the script or module of the final stage's "
            "CMD/ENTRYPOINT: `python app.py`, `python -m pkg`, `gunicorn app:app`, `uvicorn "
            "main:app`, `flask --app app run`; or a `.py` file named on the command line), "
            "flags `logging.basicConfig(filename=...)`, the file handlers of `logging` "
            "(`FileHandler`, `RotatingFileHandler`, `TimedRotatingFileHandler`, "
            "`WatchedFileHandler`, however imported or aliased) and `dictConfig`-style "
            'dictionaries whose `"class"` is one of them. Files that are the standard streams '
            "(`/dev/stdout`, `/proc/self/fd/1`...) or `/dev/null` are left alone, and so is "
            "`basicConfig(filename=None)`."
        ),
        why=(
            "Containers should log to stdout/stderr: the runtime collects those streams, and "
            "the cluster rotates and ships them (`docker logs`, `kubectl logs`, the node's log "
            "agent). A log file inside the container is invisible to all of them, is lost "
            "with the container, and grows in the writable layer (copy-on-write storage, "
            "slow, and counted against the node's disk) until something evicts the pod."
        ),
        before=(
            "import logging\n\n"
            'logging.basicConfig(filename="/var/log/app.log", filemode="a", level=logging.INFO)\n'
            'handler = logging.FileHandler("/var/log/access.log")\n'
        ),
        after=(
            "import logging\nimport sys\n\n"
            "logging.basicConfig(stream=sys.stdout, level=logging.INFO)\n"
            "handler = logging.StreamHandler(sys.stdout)\n"
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "`basicConfig(filename=..., filemode=...)` becomes `basicConfig(stream=sys.stdout, "
            "...)` and a file handler becomes `logging.StreamHandler(sys.stdout)` (spelled "
            "with the module's own `logging` alias or `from logging import`; a from-import "
            "the fix leaves unused is dropped, `import sys` is added after the module's "
            "opening imports when missing). Only the changed lines change: libcst keeps "
            "every other byte. Safe when the file name is a string literal that appears "
            "nowhere else in the module (nothing there reads the file back) and the module "
            "uses no file-handler attribute (`baseFilename`, `doRollover`...); otherwise "
            "unsafe, as other code may read, ship or rotate that file. `dictConfig` "
            "dictionaries are reported without a fix."
        ),
        severity=Severity.WARNING,
        references=(
            "https://12factor.net/logs",
            "https://docs.docker.com/engine/logging/",
            "https://kubernetes.io/docs/concepts/cluster-administration/logging/",
            "https://docs.python.org/3/library/logging.html#logging.basicConfig",
        ),
        peers={},
    )

    def check(self, ctx: Context[PythonModule]) -> Iterator[Finding]:
        doc = ctx.doc
        scan = _Scan()
        doc.wrapper.visit(scan)
        exact = doc.module.code == doc.source  # libcst re-emits the file byte for byte
        for site in scan.sites:
            message = (
                f"{site.what} writes the logs to a file inside the container: log to stdout, "
                "where the runtime collects them"
            )
            if isinstance(site.node, cst.Dict):
                yield self.finding(ctx, site.line, message, suggestion=_DICT_SUGGESTION)
                continue
            module = (
                _fix_handler(doc.module, site)
                if site.handler
                else _fix_basic_config(doc.module, site)
            )
            edits = code_edits(doc, module.code) if exact else []
            if not edits:
                yield self.finding(
                    ctx, site.line, message, suggestion="log to `sys.stdout` instead"
                )
                continue
            yield self.finding(
                ctx,
                site.line,
                message,
                edits=edits,
                safety=_safety(site, scan),
                fix_description="log to stdout",
            )
