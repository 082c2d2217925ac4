"""The command line: exit codes, writes, selection, explain."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def _repo(tmp_path: Path, text: str = "FROM python\n") -> Path:
    (tmp_path / "Dockerfile").write_text(text)
    return tmp_path


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    assert main(["scan", str(clean)]) == 0
    assert main(["scan", str(_repo(tmp_path))]) == 1
    assert main(["scan", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
    assert main(["explain", "NOPE"]) == 2


def test_rules_and_skip_select(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert main(["scan", str(repo), "--skip", "CBP101", "--rules", "CBP101"]) == 0
    assert main(["scan", str(repo), "--rules", "DL3006"]) == 1
    assert main(["scan", str(repo), "--rules", "no-such-rule"]) == 2


def test_malformed_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path)
    (repo / ".container-bp.yml").write_text("rules:\n  disabel: [CBP101]\n")
    assert main(["scan", str(repo)]) == 2
    assert ".container-bp.yml:2: key 'disabel'" in capsys.readouterr().err


def test_config_disables_a_rule(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".container-bp.yml").write_text("rules:\n  disable: [unpinned-base-image]\n")
    assert main(["scan", str(repo), "--rules", "CBP101"]) == 0


def test_fix_diff_writes_nothing_and_fix_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"
    repo = _repo(tmp_path, text)
    main(["fix", "--diff", str(repo)])
    out = capsys.readouterr().out
    assert (repo / "Dockerfile").read_text() == text
    if "+RUN" in out:  # some safe fix exists for this file
        main(["fix", str(repo)])
        assert (repo / "Dockerfile").read_text() != text


def test_single_file_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    (repo / "other.Dockerfile").write_text("FROM node\n")
    assert main(["scan", str(repo / "Dockerfile"), "--rules", "CBP101"]) == 1
    out = capsys.readouterr().out
    assert "Dockerfile:1:1: CBP101" in out and "other.Dockerfile" not in out


def test_explain_and_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "DL3007"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("CBP101 unpinned-base-image") and "Why" in text
    assert main(["explain", "CBP101", "--format", "markdown"]) == 0
    assert "## Why is this bad?" in capsys.readouterr().out
    assert main(["rules", "--format", "json"]) == 0
    assert '"code": "CBP101"' in capsys.readouterr().out


def test_docs_rules_md_is_generated_from_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "reference"]) == 0
    generated = capsys.readouterr().out
    committed = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    assert committed == generated, "run: container-bp rules --format reference > docs/rules.md"


def test_a_crashing_rule_is_an_internal_error_and_the_other_files_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fixers.dockerfile.rules.unpinned_base_image import UnpinnedBaseImage

    original = UnpinnedBaseImage.check

    def check(self: UnpinnedBaseImage, ctx: object) -> object:
        if "boom" in ctx.path:  # type: ignore[attr-defined]
            raise RuntimeError("bug")
        return original(self, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(UnpinnedBaseImage, "check", check)
    (tmp_path / "boom.Dockerfile").write_text("FROM python\n")
    (tmp_path / "ok.Dockerfile").write_text("FROM python\n")
    assert main(["scan", str(tmp_path), "--rules", "CBP101"]) == 2
    captured = capsys.readouterr()
    assert "boom.Dockerfile: internal error: RuntimeError: bug" in captured.err
    assert "ok.Dockerfile:1:1: CBP101" in captured.out


def test_an_explicit_shell_script_is_checked_as_a_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "entrypoint.sh"
    script.write_text("#!/bin/sh\nset -e\npython migrate.py\ngunicorn app:app\n")
    assert main(["scan", str(script)]) == 1
    assert "CBP190" in capsys.readouterr().out


def test_fix_with_several_paths_writes_each_file_to_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text("FROM python:3.12\nCMD python sub.py\n")
    (tmp_path / "Dockerfile").write_text('# root\nFROM scratch\nUSER 65532\nCMD ["/app"]\n')
    monkeypatch.chdir(tmp_path)
    root_before = (tmp_path / "Dockerfile").read_text()
    for args in (["sub", "."], [".", "sub"], ["sub/Dockerfile", "Dockerfile"]):
        main(["fix", "--offline", "--rules", "CBP103", *args])
        assert (tmp_path / "Dockerfile").read_text() == root_before
        assert 'CMD ["python", "sub.py"]' in (tmp_path / "sub" / "Dockerfile").read_text()


def test_the_repository_config_applies_to_files_and_folders_below_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".container-bp.yml").write_text(
        "rules:\n  disable: [CBP101]\nignore:\n  - paths: ['deploy/upstream/**']\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text("FROM python\n")
    up = tmp_path / "deploy" / "upstream"
    up.mkdir(parents=True)
    (up / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: x\n")
    monkeypatch.chdir(tmp_path / "sub")
    assert main(["scan", "Dockerfile", "--rules", "CBP101"]) == 0
    assert main(["scan", ".", "--rules", "CBP101"]) == 0
    monkeypatch.chdir(tmp_path.parent)
    assert main(["scan", str(tmp_path / "deploy"), "--rules", "CBP201"]) == 0


def test_a_symlinked_folder_out_of_the_repository_is_neither_read_nor_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / ".git").mkdir(parents=True)
    outside.mkdir()
    (outside / "entry.sh").write_text("#!/bin/sh\nmyserver\n")
    (repo / "scripts").symlink_to(outside)
    (repo / "Dockerfile").write_text(
        'FROM alpine:3.20\nCOPY scripts/entry.sh /entry.sh\nENTRYPOINT ["/entry.sh"]\n'
    )
    main(["fix", "--offline", "--rules", "CBP190", str(repo)])
    assert (outside / "entry.sh").read_text() == "#!/bin/sh\nmyserver\n"
    main(["fix", "--offline", str(repo / "scripts" / "entry.sh")])
    assert (outside / "entry.sh").read_text() == "#!/bin/sh\nmyserver\n"
