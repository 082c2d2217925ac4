"""Real-world Kubernetes YAML from ../shared/corpus (when present), and hostile YAML: parse
cleanly or fail with a per-file error; pins land only on image values; everything else stays
byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixers.discover import sniff_yaml
from fixers.engine import Selection, fix_text
from fixers.facts import Facts
from fixers.images import parse_image
from fixers.k8s.kind import parse_manifests
from fixers.pinning.model import Resolution, resolution_key
from fixers.run import discover, run
from fixers.source import LocalSource
from fixers.yamldoc import YamlError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
K8S = sorted((SHARED / "k8s").iterdir()) if (SHARED / "k8s").is_dir() else []
TEMPLATED = (
    sorted((SHARED / "k8s-templated").iterdir()) if (SHARED / "k8s-templated").is_dir() else []
)
DIGEST = "sha256:" + "d" * 64


def _pin_everything(text: str) -> Facts:
    """A registry that knows every image: each pins to its own tag (or 1.0) and DIGEST."""
    doc = parse_manifests(text)
    from fixers.engine import KINDS

    table = {}
    for image in KINDS["k8s"].images(doc):  # type: ignore[attr-defined]
        key = resolution_key(image)
        table[key] = Resolution(key, digest=DIGEST, tag=image.tag or "1.0")
    return Facts(resolutions=table, resolved=True)


@pytest.mark.slow
@pytest.mark.skipif(not K8S, reason="../shared/corpus/k8s is not beside the checkout")
@pytest.mark.parametrize("path", K8S, ids=[p.name for p in K8S])
def test_k8s_corpus_file(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    if sniff_yaml(path.name, text) != "k8s":
        return
    try:
        facts = _pin_everything(text)
    except YamlError as exc:
        assert "duplicate key" in str(exc)  # the corpus's one known defect: a per-file error
        return
    selection = Selection(only=frozenset({"CBP201"}), facts=facts)
    once = fix_text(path.name, "k8s", text, selection)
    assert once.rejected == []
    assert fix_text(path.name, "k8s", once.text, selection).text == once.text
    # Only image values changed: every changed line is an image line, same count of lines.
    before, after = text.splitlines(keepends=True), once.text.splitlines(keepends=True)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old != new:
            assert "image" in old and DIGEST in new and new.startswith(old.split("image")[0])
    offline = fix_text(path.name, "k8s", text, Selection(only=frozenset({"CBP201"})))
    assert offline.text == text


@pytest.mark.skipif(
    not TEMPLATED, reason="../shared/corpus/k8s-templated is not beside the checkout"
)
def test_templated_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    for path in TEMPLATED:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    source = LocalSource(tmp_path)
    result = run(source, discover(source), Selection())
    for skipped in result.skipped:
        assert "line" in skipped.reason
    assert not any(f.changed for f in result.files)


def test_billion_laughs_is_bounded(tmp_path: Path) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", 'a: &a ["lol","lol"]']
    for n in range(1, 30):
        prev = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        name = chr(ord("a") + n % 26) * (n // 26 + 1)
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev}]")
    text = "\n".join(lines) + "\n"
    doc = parse_manifests(text)
    assert parse_image("x") is not None
    from fixers.engine import scan_text

    assert scan_text("lol.yaml", "k8s", text, Selection()) == []
    assert doc.manifests[0].kind == "ConfigMap"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Pod\nkind: Pod\n", "line 3: duplicate key `kind`"),
        ("apiVersion: v1\nkind: Secret\nstringData:\n  p: hunter2\n  p: other\n", "key `p`"),
        ("apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n", "line 4"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {{ .Values.name }}\n", "templated"),
        ("apiVersion: v1\nkind: RC\nspec:\n  replicas: {{replicas}}\n", "line 4: templated"),
    ],
)
def test_hostile_yaml_is_a_clear_per_file_error(text: str, message: str) -> None:
    with pytest.raises(YamlError) as info:
        parse_manifests(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "{{- if .Values.enabled }}\nkind: Service\n{{- end }}\n",
        "{% for x in y %}\nkind: Pod\n{% endfor %}\n",
    ],
)
def test_templates_are_recognised(text: str) -> None:
    from fixers.yamldoc import templated_line

    assert templated_line(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        'args: ["{{inputs.parameters.message}}"]\n',
        "data:\n  conf: |\n    project: {{PROJECT_ID}}\n",
        "name: etcd-{{cell}}\n",
        'summary: "Instance {{ $labels.instance }} down"\n',
    ],
)
def test_data_with_braces_is_not_a_template(text: str) -> None:
    from fixers.yamldoc import templated_line

    assert templated_line(text) is None


def test_a_duplicate_key_error_never_quotes_the_values() -> None:
    with pytest.raises(YamlError) as info:
        parse_manifests("apiVersion: v1\nkind: Secret\nstringData:\n  p: hunter2\n  p: other\n")
    assert "hunter2" not in str(info.value) and "other" not in str(info.value)


@pytest.mark.slow
@pytest.mark.skipif(not K8S, reason="../shared/corpus/k8s is not beside the checkout")
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("path", K8S, ids=[p.name for p in K8S])
def test_k8s_corpus_file_with_every_rule(path: Path, unsafe: bool) -> None:
    """All Kubernetes rules at once: no crash, nothing rejected, idempotent, and a file with
    nothing fixable comes back byte-identical."""
    text = path.read_bytes().decode("utf-8")
    if sniff_yaml(path.name, text) != "k8s":
        return
    try:
        facts = _pin_everything(text)
    except YamlError:
        return  # duplicate keys: a per-file error, covered above
    selection = Selection(facts=facts)
    from fixers.engine import allowed, scan_text

    findings = scan_text(path.name, "k8s", text, selection)
    once = fix_text(path.name, "k8s", text, selection, unsafe=unsafe)
    assert once.rejected == [], [(f.rule, f.line, why) for f, why in once.rejected]
    if not any(f.fix and allowed(f.fix.safety, unsafe) for f in findings):
        assert once.text == text
    twice = fix_text(path.name, "k8s", once.text, selection, unsafe=unsafe)
    assert twice.text == once.text
