"""Property tests: the parser and the engine never raise anything but ParseError."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixers.dockerfile.parser import ParseError, parse
from fixers.engine import Selection, fix_text

KEYWORDS = ["FROM", "RUN", "CMD", "ENTRYPOINT", "USER", "ENV", "ARG", "EXPOSE", "COPY", "LABEL"]
FRAGMENTS = [
    "python", "node:latest", "alpine:3.20", "scratch", "$BASE", "${X:-y}", " AS build", "\\",
    "\\\n", "\n", "\r\n", "# c\n", "<<EOF\n", "EOF\n", '["a", "b"]', "[", "apt-get install -y x",
    "&&", "&", "nohup ", "root", "0", "22", "PASSWORD=x", "'", '"', "--platform=x ", "\t", " ",
    "exec ", "sh -c", "openssh-server", "rm -rf /var/lib/apt/lists/*", "dumb-init", "`",
]  # fmt: skip

lines = st.lists(
    st.tuples(st.sampled_from(KEYWORDS), st.lists(st.sampled_from(FRAGMENTS), max_size=6)).map(
        lambda t: t[0] + " " + "".join(t[1])
    ),
    max_size=12,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.text(max_size=400))
def test_parse_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse(text)


@SETTINGS
@given(lines, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_fix_never_raises_and_is_idempotent(body: list[str], newline: str, unsafe: bool) -> None:
    text = newline.join(body)
    try:
        parse(text)
    except ParseError:
        return
    once = fix_text("Dockerfile", "dockerfile", text, Selection(), unsafe=unsafe)
    parse(once.text)
    assert fix_text("Dockerfile", "dockerfile", once.text, Selection(), unsafe=unsafe).text == (
        once.text
    )
