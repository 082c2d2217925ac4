"""``.container-bp.yml``: what it accepts, and errors that name the key and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixers.config import Config, ConfigError, find_config, parse_config
from fixers.model import Severity
from fixers.registry import docs, find_rule

GOOD = """\
# team settings
rules:
  disable: [CBP101]
severity:
  unpinned-base-image: error
ignore-paths:
  - "legacy/**"
"""


def test_a_good_config() -> None:
    config = parse_config(GOOD, "c.yml", docs())
    rule = find_rule("CBP101")
    assert rule is not None
    assert not config.is_enabled(rule.doc)
    assert config.severity_for(rule.doc) is Severity.ERROR
    assert Config().severity_for(rule.doc) is None
    assert config.path_ignored("legacy/app/Dockerfile")
    assert not config.path_ignored("services/Dockerfile")


def test_empty_config_is_the_default() -> None:
    assert parse_config("", "c.yml", docs()) == Config(source="c.yml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rulez: {}\n", "c.yml:1: key 'rulez': unknown key"),
        ("rules:\n  disable: [NOPE]\n", "c.yml:2: key 'disable': unknown rule 'NOPE'"),
        ("rules:\n  disable: CBP101\n", "c.yml:2: key 'disable': expected a list"),
        ("severity:\n  CBP101: loud\n", "c.yml:2: key 'CBP101': severity must be one of"),
        ("options:\n  CBP101:\n    colour: red\n", "c.yml:3: key 'colour': unknown option"),
        ("ignore-paths: 3\n", "c.yml:1: key 'ignore-paths': expected a list"),
        ("rules: [\n", "c.yml:2: not valid YAML"),
        ("- a\n", "c.yml:1: the config must be a mapping"),
    ],
)
def test_malformed_config_names_key_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yml", docs())
    assert message in str(info.value)


def test_config_is_found_in_root_or_dot_github(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / ".container-bp.yml").write_text("{}\n")
    assert find_config(tmp_path) == tmp_path / ".github" / ".container-bp.yml"
    (tmp_path / ".container-bp.yml").write_text("{}\n")
    assert find_config(tmp_path) == tmp_path / ".container-bp.yml"


def test_ignore_entries_match_path_kind_name_and_rule() -> None:
    text = (
        "ignore:\n"
        "  - paths: ['upstream/**']\n"
        "    kinds: [DaemonSet]\n"
        "    names: ['node-*']\n"
        "    rules: [CBP201]\n"
    )
    config = parse_config(text, "c.yml", docs())
    rule = find_rule("CBP201")
    assert rule is not None
    assert config.ignores("upstream/ds.yaml", rule.doc, ("DaemonSet", "node-exporter"))
    assert not config.ignores("upstream/ds.yaml", rule.doc, ("Deployment", "node-exporter"))
    assert not config.ignores("mine/ds.yaml", rule.doc, ("DaemonSet", "node-exporter"))
    other = find_rule("CBP101")
    assert other is not None and not config.ignores("upstream/ds.yaml", other.doc, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignore: {paths: [a]}\n", "c.yml:1: key 'ignore': expected a list"),
        ("ignore:\n  - pathz: [a]\n", "c.yml:2: key 'pathz': unknown key"),
        ("ignore:\n  - rules: [NOPE]\n", "c.yml:2: key 'rules': unknown rule 'NOPE'"),
    ],
)
def test_malformed_ignore_entries(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yml", docs())
    assert message in str(info.value)


def test_a_bad_path_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config('ignore-paths: ["[z-a]"]\n', "c.yml", docs())
    assert "c.yml:1: key 'ignore-paths': bad path pattern" in str(info.value)
