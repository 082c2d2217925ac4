"""Text from scanned files is inert wherever the bot posts it: review comments and body, the
fix pull request's body and the job summary."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.fixpr.body import pr_body
from bot.fixpr.state import PrState
from bot.markdown import WORD_JOINER, cell, code, inline, plain
from bot.review.hunks import parse_patch
from bot.review.suggestions import review_comments
from bot.summary import job_summary
from fixers.engine import Selection
from fixers.model import Finding, Severity, Skipped
from fixers.run import RunResult, run

NAME = "x` @acme/security-team please approve <img src=x> `y"
POD = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: "{NAME}"
spec:
  containers:
    - name: app
      image: nginx:1.27
"""
STATE = PrState(base_sha="a" * 40, fixes_digest="d" * 64, version="1")

_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.M | re.S)
_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_CODE_TAG = re.compile(r"<code>.*?</code>", re.S)


def outside_code(markdown: str) -> str:
    """What GitHub renders as Markdown: the text without fenced blocks and code spans."""
    text = _FENCE.sub("", markdown)
    text = _CODE_TAG.sub("", text)
    return _SPAN.sub("", text)


def assert_inert(markdown: str) -> None:
    text = outside_code(markdown)
    assert "@acme" not in text, text
    assert "<img" not in text, text
    assert "`" not in text, text


class Files:
    """A source of a few files held in memory."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def walk(self, under: str = "") -> Iterator[str]:
        return iter(sorted(self.files))

    def read_text(self, path: str) -> str:
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]


def pod_result() -> RunResult:
    return run(Files({"k8s/pod.yaml": POD}), [("k8s/pod.yaml", "yaml")], Selection(), fix=True)


def test_helpers_keep_code_spans_and_make_the_rest_literal() -> None:
    message = f"Pod `{NAME}` is not managed"
    out = inline(message)
    assert out.startswith("Pod `x` @\u2060acme/security-team please approve &lt;img src=x&gt; `y`")
    assert_inert(out)
    assert plain("a@b [l](u) ![i](u) *e* <b>&amp;") == (
        f"a@{WORD_JOINER}b &#91;l&#93;(u) !&#91;i&#93;(u) &#42;e&#42; &lt;b&gt;&amp;amp;"
    )
    # A lone backtick cannot pair with a later one; line breaks cannot start a block.
    assert inline("one ` two\n# three") == "one &#96; two # three"
    assert inline("`@team` stays code") == "`@team` stays code"
    assert cell("`a|b` @c") == f"<code>a&#124;b</code> @{WORD_JOINER}c"
    assert code("a`b @c") == "``a`b @c``"


def test_review_comments_are_inert() -> None:
    result = pod_result()
    patch = "@@ -0,0 +1,8 @@\n" + "".join(f"+{line}\n" for line in POD.splitlines())
    comments, _ = review_comments(result.files[0], parse_patch(patch))
    assert "CBP202" in {c.rule for c in comments}
    for comment in comments:
        assert_inert(comment.body)


def test_pr_body_and_job_summary_are_inert() -> None:
    result = pod_result()
    assert result.files[0].applied
    file = result.files[0]
    file.remaining = [
        *file.remaining,
        Finding("CBP108", file.path, 4, 4, f"Pod `{NAME}`: x", Severity.WARNING, suggestion=NAME),
    ]
    result.skipped = [Skipped(f"k8s/@acme/{NAME}.yaml", f"cannot parse: {NAME}")]
    body = pr_body(result, state=STATE)
    assert_inert(body)
    assert "@\u2060acme/security-team" in body
    for mode in ("fix", "review", "scan"):
        assert_inert(job_summary(result, mode=mode))


def test_review_summary_says_suggested_not_fixed() -> None:
    result = pod_result()
    applied = len(result.files[0].applied)
    text = job_summary(result, mode="review", outside=2)
    assert "| Suggested | Left |" in text and "| Fixed |" not in text
    assert text.count("| suggested |") == applied and "| fixed |" not in text
    assert "2 of these findings are on lines this pull request does not change" in text
    one = job_summary(result, mode="review", outside=1)
    assert "1 of these findings is on a line this pull request does not change" in one
