"""GitHub Markdown built from text that comes from scanned repositories.

Paths, finding messages and the resource names inside them are chosen by whoever wrote the
files. Posted under the bot's identity they must stay inert: no HTML, no links or images, no
@-mention, and no stray backtick that pairs with another and changes what is code. Messages
mark names as code spans (Pod `web` ...); those are kept, everything else is literal.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

# Between "@" and a name it stops the mention, and renders as nothing. An entity (&#64;) would
# not: GitHub looks for mentions in the rendered text, where entities are already decoded.
WORD_JOINER = "\u2060"

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_PUNCT = re.compile(r"[!-/:-@\[-`{-~]")  # every ASCII punctuation character
# Outside code spans: what starts HTML, an entity, an escape, a code span, a link or image,
# emphasis or a table cell. As entities they show as themselves.
_LITERAL = {ord(c): f"&#{ord(c)};" for c in "\\`|[]*_~"}


def code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds (on one line)."""
    text = text.replace("\r", " ").replace("\n", " ")
    if not text:
        return ""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(text: str, lang: str = "") -> str:
    """A fenced code block that nothing in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"^[ \t]*(`{3,}|~{3,})", text, re.M)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip(chr(10))}\n{fence}"


def plain(text: str) -> str:
    """``text`` shown literally: no HTML, no Markdown, no @-mention."""
    text = html.escape(text, quote=False).translate(_LITERAL)
    return text.replace("@", "@" + WORD_JOINER)


def inline(text: str) -> str:
    """Markdown made of code spans and plain text (a finding message, a hint), on one line:
    the code spans are kept, the rest is literal (see ``plain``)."""
    return _inline(text, table=False)


def cell(text: str) -> str:
    """Like ``inline``, for one table cell: a pipe splits a cell even inside a code span."""
    return _inline(text, table=True)


def _inline(text: str, *, table: bool) -> str:
    text = " ".join(text.split())
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(plain(text[pos : m.start()]))
        content = m.group(2)
        # `\|` would fail after a backslash; in <code> every character can be an entity.
        out.append(f"<code>{_entities(content)}</code>" if table and "|" in content else m.group())
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)


def _entities(text: str) -> str:
    return _PUNCT.sub(lambda m: f"&#{ord(m.group())};", text)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of already escaped cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
