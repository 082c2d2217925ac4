"""Workload rules: CBP202 bare-pod and CBP205 job-without-deadline.

Besides the golden fixtures: what the rewritten objects load as (the pod spec moved intact,
the selector matching the template's labels), the cases where no fix is offered, the options,
both rules together, the helpers, random pod specs in every layout, and the real-world corpus
(../shared/corpus/k8s, when present) with kubernetes-validate as a schema oracle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from fixers.config import Config
from fixers.discover import sniff_yaml
from fixers.engine import Selection, fix_text, scan_text
from fixers.k8s.kind import parse_manifests
from fixers.k8s.rules.bare_pod import (
    BarePod,
    add_entries_after_comments,
    anchored_lines,
    locate,
    plain,
    verified,
)
from fixers.k8s.rules.job_without_deadline import JobWithoutDeadline, job_spec
from fixers.model import FixSafety
from fixers.textedit import apply_edits
from fixers.yamldoc import YamlError, load_stream
from fixers.yamledit import add_entries

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
K8S = sorted((SHARED / "k8s").iterdir()) if (SHARED / "k8s").is_dir() else []
K8S_VERSION = "1.30"  # as tests/test_oracle_k8s_validate.py


def _only(*codes: str, **options: dict[str, object]) -> Selection:
    return Selection(config=Config(options=options), only=frozenset(codes))


def _fix(text: str, *codes: str, **options: dict[str, object]) -> str:
    outcome = fix_text("k.yaml", "k8s", text, _only(*codes, **options), unsafe=True)
    assert outcome.rejected == []
    return outcome.text


def _objects(text: str) -> list[dict[str, Any]]:
    return [plain(m.node) for m in parse_manifests(text).manifests]


def _schema_errors(obj: dict[str, Any]) -> str | None:
    """kubernetes-validate's complaint about an object (strict: no unknown fields), or None."""
    kv = pytest.importorskip("kubernetes_validate")
    data = json.loads(json.dumps(obj, default=str))
    try:
        kv.validate(data, K8S_VERSION, strict=True)
    except Exception as exc:  # ValidationError, SchemaNotFoundError
        return str(getattr(exc, "message", exc))
    return None


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
  - name: api
    image: shop/api:1.8.2
"""


# --- CBP202 bare-pod --------------------------------------------------------------------------


def test_a_pod_becomes_a_deployment_selecting_its_template() -> None:
    (old,) = _objects(POD)
    (new,) = _objects(_fix(POD, "CBP202"))
    assert (new["apiVersion"], new["kind"]) == ("apps/v1", "Deployment")
    assert new["metadata"] == old["metadata"]
    spec = new["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"] == {"matchLabels": {"app": "api"}}
    assert spec["template"]["metadata"] == {"labels": {"app": "api"}}
    assert spec["template"]["spec"] == old["spec"]
    assert _schema_errors(new) is None


@pytest.mark.parametrize("restart", ["Never", "OnFailure"])
def test_a_run_to_completion_pod_becomes_a_job(restart: str) -> None:
    text = POD.replace("spec:\n", f"spec:\n  restartPolicy: {restart}\n", 1)
    text = text.replace("  name: api\n", "  name: api\n  labels:\n    team: shop\n")
    (old,) = _objects(text)
    (new,) = _objects(_fix(text, "CBP202"))
    assert (new["apiVersion"], new["kind"]) == ("batch/v1", "Job")
    assert new["spec"]["backoffLimit"] == 3
    assert "selector" not in new["spec"]  # the Job controller makes its own
    assert new["spec"]["template"] == {
        "metadata": {"labels": {"team": "shop"}},
        "spec": old["spec"],
    }
    assert new["spec"]["template"]["spec"]["restartPolicy"] == restart
    assert _schema_errors(new) is None


def test_the_job_backoff_limit_is_an_option() -> None:
    text = POD.replace("spec:\n", "spec:\n  restartPolicy: Never\n", 1)
    (new,) = _objects(_fix(text, "CBP202", **{"bare-pod": {"backoff-limit": 0}}))
    assert new["spec"]["backoffLimit"] == 0
    assert "labels" not in new["metadata"] and "metadata" not in new["spec"]["template"]


def test_labels_and_annotations_go_to_the_template_too() -> None:
    text = POD.replace(
        "  name: api\n",
        '  name: api\n  labels:\n    app: api\n    tier: "1"\n  annotations:\n'
        '    sidecar.istio.io/inject: "false"\n'
        "    kubectl.kubernetes.io/last-applied-configuration: '{}'\n",
    )
    (new,) = _objects(_fix(text, "CBP202"))
    labels = {"app": "api", "tier": "1"}
    assert new["metadata"]["labels"] == labels  # kept on the Deployment
    assert new["spec"]["selector"]["matchLabels"] == labels
    assert new["spec"]["template"]["metadata"] == {
        "labels": labels,
        "annotations": {"sidecar.istio.io/inject": "false"},
    }
    assert _schema_errors(new) is None


def test_pods_a_controller_owns_and_other_kinds_are_not_flagged() -> None:
    owned = POD.replace(
        "  name: api\n",
        "  name: api\n  ownerReferences:\n  - {apiVersion: apps/v1, kind: ReplicaSet, "
        "name: api-1, uid: u}\n",
    )
    assert scan_text("k.yaml", "k8s", owned, _only("CBP202")) == []
    custom = POD.replace("apiVersion: v1", "apiVersion: example.com/v1")
    assert scan_text("k.yaml", "k8s", custom, _only("CBP202")) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("spec:\n", "spec:\n  restartPolicy: Sometimes\n"), "restartPolicy"),
        (("spec:\n", "spec:\n  activeDeadlineSeconds: 60\n"), "activeDeadlineSeconds"),
        (("spec:\n", "spec:\n  ephemeralContainers: []\n"), "ephemeralContainers"),
        (("  name: api\n", "  name: api\n  labels:\n    replicas: 3\n"), "strings"),
        (("  name: api\n", "  name: " + "a" * 64 + "\n"), "label value"),
        (("  name: api\n", "  name: api_\n"), "label value"),
        (("  image: shop/api:1.8.2\n", "  image: shop/api:1.8.2\nstatus: {}\n"), "status"),
        (("  image: shop/api:1.8.2\n", "  image: shop/api:1.8.2\nextra: 1\n"), "extra"),
        (("  name: api\n", "  name: &n api\n"), "anchors"),
        (("kind: Pod\n", "kind: !!str Pod\n"), "in place"),
    ],
)
def test_no_fix_but_a_suggestion_when_the_pod_cannot_be_moved_safely(
    change: tuple[str, str], reason: str
) -> None:
    text = POD.replace(*change, 1)
    (finding,) = scan_text("k.yaml", "k8s", text, _only("CBP202"))
    assert finding.fix is None
    assert finding.suggestion is not None and reason in finding.suggestion
    assert fix_text("k.yaml", "k8s", text, _only("CBP202"), unsafe=True).text == text


def test_the_suggestion_names_the_controller() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: api}\nspec: {containers: []}\n"
    (finding,) = scan_text("k.yaml", "k8s", text, _only("CBP202"))
    assert finding.suggestion is not None
    assert "flow style" in finding.suggestion and "kind: Deployment" in finding.suggestion
    assert "matchLabels: {app: api}" in finding.suggestion


# Each line: its indentation as tokens (M: the mapping step, D: the dash offset, I: the two
# columns after a dash), then `|` and the text.
_LAYOUT = """\
|apiVersion: v1
|kind: Pod
|metadata:
M|name: api
|spec:
M|containers:
MD|- name: api
MDI|image: shop/api:1.8.2   # pinned
MDI|command:
MDID|- sh
MDID|- -c
MDID|- |
MDIDI|  echo "starting"
MDIDI|    indented more
MDIDI|  # a comment-like line of the script
MDI|env:
MDID|- {name: MODE, value: "a: b"}
M|# a comment between keys
M|volumes:
MD|- name: data
MDI|emptyDir: {}
"""


def _layout(step: int, dash: int) -> str:
    widths = {"M": step, "D": dash, "I": 2}
    lines = []
    for line in _LAYOUT.splitlines():
        tokens, text = line.split("|", 1)
        lines.append(" " * sum(widths[t] for t in tokens) + text + "\n")
    return "".join(lines)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize(("step", "dash"), [(2, 0), (2, 2), (4, 0), (4, 2), (4, 4)])
def test_every_layout_moves_the_spec_intact(
    newline: str, final_newline: bool, step: int, dash: int
) -> None:
    text = _layout(step, dash)
    if not final_newline:
        text = text.rstrip("\n")
    text = text.replace("\n", newline)
    fixed = _fix(text, "CBP202")
    (old,) = _objects(text)
    (new,) = _objects(fixed)
    assert new["spec"]["template"]["spec"] == old["spec"]
    assert fixed.endswith(newline) == final_newline
    assert fixed.count("\r\n") == (fixed.count("\n") if newline == "\r\n" else 0)
    # Every old line is still there, with only indentation added.
    new_lines = {line.strip() for line in fixed.splitlines()}
    for line in text.splitlines():
        if not line.startswith(("apiVersion", "kind")):
            assert line.strip() in new_lines
    assert len(fixed.splitlines()) == len(text.splitlines()) + 9  # replicas .. spec:
    assert f"\n{' ' * 3 * step}containers:" in fixed.replace("\r", "")
    assert _schema_errors(new) is None


def test_other_documents_and_list_items_stay_byte_for_byte() -> None:
    other = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}  # keep\ndata: {a: 'b'}\n"
    text = "---\n" + POD + other + "...\n"
    fixed = _fix(text, "CBP202")
    assert fixed.startswith("---\napiVersion: apps/v1\n")
    assert fixed.endswith(other + "...\n")


# Random pod specs, dumped by ruamel in several layouts, must move intact.
_scalars = st.one_of(
    st.integers(-5, 10**6),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["line one\nline two\n", "  lead\n", "# not a comment\n", "a: b", "- x"]),
)
_keys = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(_keys, inner, min_size=1, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(_keys, _values, min_size=1, max_size=4),
    st.sampled_from([(2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4), (3, 3, 1)]),
    st.sampled_from(["Always", "Never"]),
)
def test_random_pod_specs_move_intact(
    extra: dict[str, Any], indent: tuple[int, int, int], restart: str
) -> None:
    import io

    spec = {"restartPolicy": restart, **extra, "containers": [{"name": "a", "image": "b"}]}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    out = io.StringIO()
    yaml.dump(pod, out)
    text = out.getvalue()
    (finding,) = scan_text("k.yaml", "k8s", text, _only("CBP202"))
    assert finding.fix is not None, finding.suggestion
    (new,) = _objects(apply_edits(text, finding.fix.edits))
    assert new["spec"]["template"]["spec"] == plain(load_stream(text).documents[0]["spec"])


def test_bare_pod_doc() -> None:
    doc = BarePod.doc
    assert (doc.code, doc.name, doc.kind, doc.fix) == (
        "CBP202",
        "bare-pod",
        "k8s",
        FixSafety.UNSAFE,
    )
    assert "restartPolicy" in doc.what and "Always" in doc.what
    assert "static" in doc.fix_notes.lower()
    assert doc.options == {"backoff-limit": 3}
    assert doc.after is not None
    assert _fix(doc.before, "CBP202") == doc.after


# --- CBP205 job-without-deadline --------------------------------------------------------------

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: backfill
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: backfill
        image: shop/backfill:2.1
"""


def test_the_deadline_and_backoff_limit_go_into_the_job_spec() -> None:
    (new,) = _objects(_fix(JOB, "CBP205"))
    assert new["spec"]["activeDeadlineSeconds"] == 3600
    assert new["spec"]["backoffLimit"] == 3
    assert "activeDeadlineSeconds" not in new["spec"]["template"]["spec"]
    assert _schema_errors(new) is None


def test_an_existing_backoff_limit_is_kept_and_the_options_apply() -> None:
    text = JOB.replace("spec:\n  template:", "spec:\n  backoffLimit: 9\n  template:")
    options = {"job-without-deadline": {"active-deadline-seconds": 120, "backoff-limit": 0}}
    (new,) = _objects(_fix(text, "CBP205", **options))
    assert (new["spec"]["activeDeadlineSeconds"], new["spec"]["backoffLimit"]) == (120, 9)


@pytest.mark.parametrize(
    "options",
    [
        {"active-deadline-seconds": 0},
        {"active-deadline-seconds": "1h"},
        {"backoff-limit": -1},
        {"backoff-limit": True},
    ],
)
def test_bad_options_give_no_fix(options: dict[str, object]) -> None:
    selection = _only("CBP205", **{"job-without-deadline": options})
    (finding,) = scan_text("k.yaml", "k8s", JOB, selection)
    assert finding.fix is None and finding.suggestion is not None
    assert "whole numbers" in finding.suggestion


def test_a_cronjob_gets_the_deadline_in_its_job_template_and_hints() -> None:
    text = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: shop/report:1.4
"""
    (finding,) = scan_text("k.yaml", "k8s", text, _only("CBP205"))
    assert finding.line == 2 and "CronJob `report`" in finding.message
    assert finding.suggestion is not None
    assert "startingDeadlineSeconds" in finding.suggestion
    assert "concurrencyPolicy: Forbid" in finding.suggestion
    (new,) = _objects(_fix(text, "CBP205"))
    job = new["spec"]["jobTemplate"]["spec"]
    assert (job["activeDeadlineSeconds"], job["backoffLimit"]) == (3600, 3)
    assert "startingDeadlineSeconds" not in new["spec"]  # suggested, never added
    assert _schema_errors(new) is None


def test_a_pod_level_deadline_does_not_count() -> None:
    text = JOB.replace(
        "restartPolicy: Never", "restartPolicy: Never\n      activeDeadlineSeconds: 60"
    )
    assert len(scan_text("k.yaml", "k8s", text, _only("CBP205"))) == 1


def test_a_deadline_without_a_value_is_reported_without_a_fix() -> None:
    text = JOB.replace("spec:\n  template:", "spec:\n  activeDeadlineSeconds:\n  template:")
    (finding,) = scan_text("k.yaml", "k8s", text, _only("CBP205"))
    assert finding.fix is None
    assert finding.suggestion == "give `spec.activeDeadlineSeconds` a value"


def test_job_spec_of_each_kind() -> None:
    doc = parse_manifests(JOB + "---\n" + JOB.replace("batch/v1", "example.com/v1"))
    assert job_spec(doc.manifests[0]) is doc.manifests[0].node["spec"]
    assert job_spec(doc.manifests[1]) is None


SCRIPT_JOB = """\
kind: Job
apiVersion: batch/v1
spec:
  template:
    spec:
      containers:
      - name: a
        image: b
        args:
        - |
          run
          # done
"""


def test_a_block_scalar_ending_in_a_comment_like_line_is_not_cut() -> None:
    stream = load_stream(SCRIPT_JOB)
    spec = stream.documents[0]["spec"]
    entries = {"activeDeadlineSeconds": 3600}

    def expect(old: Any) -> Any:
        return {**old, **entries}

    # yamledit.add_entries keeps `# done` (indented deeper than the keys) in the script:
    plain = add_entries(stream, spec, entries)
    assert plain is not None and verified(stream, [plain], spec, expect)
    edit = add_entries_after_comments(stream, spec, entries)
    assert edit is not None and verified(stream, [edit], spec, expect)
    fixed = _fix(SCRIPT_JOB, "CBP205")
    assert fixed.endswith("          # done\n  activeDeadlineSeconds: 3600\n  backoffLimit: 3\n")


def test_job_without_deadline_doc() -> None:
    doc = JobWithoutDeadline.doc
    assert (doc.code, doc.name, doc.kind, doc.fix) == (
        "CBP205",
        "job-without-deadline",
        "k8s",
        FixSafety.UNSAFE,
    )
    assert doc.options == {"active-deadline-seconds": 3600, "backoff-limit": 3}
    assert doc.after is not None
    assert _fix(doc.before, "CBP205") == doc.after


# --- Both rules together, and the helpers -----------------------------------------------------


def test_a_one_off_pod_becomes_a_bounded_job() -> None:
    text = POD.replace("spec:\n", "spec:\n  restartPolicy: Never\n", 1)
    fixed = _fix(text, "CBP202", "CBP205")
    (new,) = _objects(fixed)
    assert new["kind"] == "Job"
    assert (new["spec"]["backoffLimit"], new["spec"]["activeDeadlineSeconds"]) == (3, 3600)
    assert _schema_errors(new) is None
    assert _fix(fixed, "CBP202", "CBP205") == fixed


def test_helpers() -> None:
    stream = load_stream("a: 1\n---\nkind: List\nitems:\n- {b: [1, {c: 2}]}\n")
    item = stream.documents[1]["items"][0]
    assert locate(stream, item) == (1, ("items", 0))
    assert locate(stream, item["b"][1]) == (1, ("items", 0, "b", 1))
    assert locate(stream, {"c": 2}) is None
    assert plain(item) == {"b": [1, {"c": 2}]}
    assert anchored_lines("a: &x 1\nb: *x\nc: 2\n") == {0, 1}
    assert anchored_lines("a: '&x *y'\n") == set()


# --- The real-world corpus --------------------------------------------------------------------


def _documents(text: str) -> list[str]:
    return re.split(r"(?m)^(?=---)", text)


def _line_document(text: str, line: int) -> int:
    before = "".join(text.splitlines(keepends=True)[: line - 1])
    return len(_documents(before + "x")) - 1


@pytest.mark.slow
@pytest.mark.skipif(not K8S, reason="../shared/corpus/k8s is not beside the checkout")
@pytest.mark.parametrize("path", K8S, ids=[p.name for p in K8S])
def test_corpus_file(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    if sniff_yaml(path.name, text) != "k8s":
        return
    selection = _only("CBP202", "CBP205")
    try:
        findings = scan_text(path.name, "k8s", text, selection)
    except YamlError:
        return  # a per-file error (the corpus has a file with a duplicate key)
    once = fix_text(path.name, "k8s", text, selection, unsafe=True, findings=findings)
    assert once.rejected == []
    assert fix_text(path.name, "k8s", once.text, selection, unsafe=True).text == once.text
    load_stream(once.text)
    # Documents without a finding are byte-identical.
    flagged = {_line_document(text, f.line) for f in findings if f.fix is not None}
    before, after = _documents(text), _documents(once.text)
    assert len(before) == len(after)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if index not in flagged:
            assert old == new
    # What the fixes produce is schema-valid wherever the input was.
    olds, news = _objects(text), _objects(once.text)
    assert len(olds) == len(news)
    for old, new in zip(olds, news, strict=True):
        if old != new and _schema_errors(old) is None:
            assert _schema_errors(new) is None, (new.get("kind"), new.get("metadata"))
