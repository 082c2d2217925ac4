"""Adding keys and sequence items to YAML as text, in the file's own layout."""

from __future__ import annotations

import pytest

from fixers.textedit import apply_edits
from fixers.yamldoc import load_stream
from fixers.yamledit import Layout, add_entries, append_items, detect_layout

COMPACT = """\
# a comment that stays
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      - name: api
        image: x   # trailing
        volumeMounts:
        - name: data
          mountPath: /data
        # about the sidecar
      - name: side
        image: y
      volumes:
      - name: data
        emptyDir: {}
      restartPolicy: Always
"""

WIDE = """\
kind: Job
spec:
    template:
        spec:
            containers:
              - name: job
                image: x
            restartPolicy: Never"""


def _apply(text: str, edit: object) -> str:
    assert edit is not None
    out = apply_edits(text, [edit])  # type: ignore[list-item]
    load_stream(out)  # still YAML
    return out


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_add_entries_at_the_end_of_a_list_item(newline: str) -> None:
    text = COMPACT.replace("\n", newline)
    stream = load_stream(text)
    container = stream.documents[0]["spec"]["template"]["spec"]["containers"][0]
    out = _apply(
        text, add_entries(stream, container, {"readinessProbe": {"tcpSocket": {"port": 80}}})
    )
    expected = COMPACT.replace(
        "          mountPath: /data\n",
        "          mountPath: /data\n        readinessProbe:\n"
        "          tcpSocket:\n            port: 80\n",
    )
    assert out == expected.replace("\n", newline)


def test_append_items_keeps_the_dash_style() -> None:
    stream = load_stream(COMPACT)
    spec = stream.documents[0]["spec"]["template"]["spec"]
    out = _apply(COMPACT, append_items(stream, spec, "volumes", [{"name": "tmp", "emptyDir": {}}]))
    assert (
        "        emptyDir: {}\n      - name: tmp\n        emptyDir: {}\n      restartPolicy" in out
    )
    container = spec["containers"][0]
    out = _apply(
        COMPACT, append_items(stream, container, "volumeMounts", [{"name": "t", "mountPath": "/t"}])
    )
    assert "          mountPath: /data\n        - name: t\n          mountPath: /t\n" in out


def test_wide_layout_and_no_final_newline() -> None:
    stream = load_stream(WIDE)
    assert detect_layout(stream) == Layout(step=4, dash_offset=2)
    spec = stream.documents[0]["spec"]["template"]["spec"]
    out = _apply(WIDE, append_items(stream, spec, "volumes", [{"name": "tmp", "emptyDir": {}}]))
    assert out.endswith(
        "restartPolicy: Never\n            volumes:\n"
        "              - name: tmp\n                emptyDir: {}"
    )
    out = _apply(WIDE, add_entries(stream, stream.documents[0]["spec"], {"backoffLimit": 3}))
    assert out.endswith("restartPolicy: Never\n    backoffLimit: 3")


def test_flow_style_is_not_edited() -> None:
    stream = load_stream("metadata: {name: x}\nitems: [a, b]\n")
    doc = stream.documents[0]
    assert add_entries(stream, doc["metadata"], {"labels": {"a": "b"}}) is None
    assert append_items(stream, doc, "items", ["c"]) is None


def test_a_following_document_is_not_part_of_the_node() -> None:
    text = "a:\n  b: 1\n---\nc: 2\n"
    stream = load_stream(text)
    out = _apply(text, add_entries(stream, stream.documents[0]["a"], {"d": 3}))
    assert out == "a:\n  b: 1\n  d: 3\n---\nc: 2\n"


def test_comment_like_lines_of_a_block_scalar_stay_inside_it() -> None:
    text = "c:\n  args: |\n    run\n    # done\n  # about the next key\nd: 1\n"
    stream = load_stream(text)
    out = _apply(text, add_entries(stream, stream.documents[0]["c"], {"e": 2}))
    assert out == "c:\n  args: |\n    run\n    # done\n  e: 2\n  # about the next key\nd: 1\n"
    assert load_stream(out).documents[0]["c"]["args"] == "run\n# done\n"
