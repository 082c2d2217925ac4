"""Real-world Dockerfiles from ../shared/corpus (when present): no crash, idempotent fixes,
byte-identical output when nothing is fixable, and no fix the engine had to throw away."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixers.dockerfile.parser import ParseError
from fixers.engine import Selection, allowed, fix_text, scan_text

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dockerfiles"
FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FILES, reason="../shared/corpus/dockerfiles is not beside the checkout"),
]


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file(path: Path, unsafe: bool) -> None:
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    selection = Selection()
    try:
        findings = scan_text(path.name, "dockerfile", text, selection)
    except ParseError:
        return  # reported as skipped by the CLI; covered in test_discovery
    once = fix_text(path.name, "dockerfile", text, selection, unsafe=unsafe)
    assert once.rejected == [], [(f.rule, f.line, why) for f, why in once.rejected]
    if not any(f.fix and allowed(f.fix.safety, unsafe) for f in findings):
        assert once.text == text
    twice = fix_text(path.name, "dockerfile", once.text, selection, unsafe=unsafe)
    assert twice.text == once.text
    assert twice.applied == []
