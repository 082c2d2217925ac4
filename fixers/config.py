"""``.container-bp.yml``: which rules run, at what severity, on which paths, with what options.

Example::

    rules:
      disable: [CBP108]          # codes or names
      enable: []                 # when non-empty, only these run
    severity:
      unpinned-base-image: error
    ignore-paths: ["legacy/**"]
    options:
      missing-init:
        init: tini
    pin-digests: true            # add @sha256 digests to tagged images (false: tags only)
    pin-ignore: ["registry.internal.example/*"]
    insecure-registries: ["registry.lab:5000"]   # plain HTTP (loopback always is)
    registry-cache: .container-bp-cache.json     # resolutions kept between CI runs
    ignore:                      # for files you cannot annotate (vendored upstream manifests)
      - paths: ["deploy/upstream/**"]
        kinds: [DaemonSet]
        names: ["node-exporter*"]
        rules: [CBP202]          # all given fields must match; omitted fields match anything
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from fixers.model import Severity
from fixers.rule import RuleDoc
from fixers.yamldoc import describe

CONFIG_NAMES = (".container-bp.yml", ".container-bp.yaml")
CONFIG_DIRS = ("", ".github")
_TOP_KEYS = (
    "rules",
    "severity",
    "ignore-paths",
    "options",
    "pin-digests",
    "pin-ignore",
    "insecure-registries",
    "registry-cache",
    "ignore",
)
_IGNORE_FIELDS = ("paths", "kinds", "names", "rules")


@dataclass(frozen=True)
class IgnoreEntry:
    paths: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def matches(self, path: str, doc: RuleDoc, obj: tuple[str, str] | None) -> bool:
        if self.paths and not pathspec.GitIgnoreSpec.from_lines(self.paths).match_file(path):
            return False
        if self.rules and not any(doc.matches(r) for r in self.rules):
            return False
        if self.kinds or self.names:
            if obj is None:
                return False
            kind, name = obj
            if self.kinds and kind not in self.kinds:
                return False
            if self.names and not any(fnmatch.fnmatchcase(name, n) for n in self.names):
                return False
        return True


class ConfigError(ValueError):
    """A config problem, always naming the file, the line and the key."""


@dataclass
class Config:
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    ignore_paths: tuple[str, ...] = ()
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pin_digests: bool = True
    pin_ignore: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    registry_cache: str | None = None
    ignore: tuple[IgnoreEntry, ...] = ()
    source: str | None = None

    def ignores(self, path: str, doc: RuleDoc, obj: tuple[str, str] | None) -> bool:
        """Whether an ``ignore:`` entry covers a finding of ``doc`` in ``path`` on ``obj``."""
        return any(entry.matches(path, doc, obj) for entry in self.ignore)

    def _lookup(self, table: Mapping[str, Any], doc: RuleDoc) -> Any:
        for key in (doc.code, doc.name):
            if key in table:
                return table[key]
        return None

    def is_enabled(self, doc: RuleDoc) -> bool:
        if doc.code in self.disable or doc.name in self.disable:
            return False
        return not self.enable or doc.code in self.enable or doc.name in self.enable

    def severity_for(self, doc: RuleDoc) -> Severity | None:
        """The severity the config sets for a rule, or None to keep the rule's own."""
        found = self._lookup(self.severity, doc)
        return found if isinstance(found, Severity) else None

    def options_for(self, doc: RuleDoc) -> Mapping[str, Any]:
        merged = dict(doc.options)
        merged.update(self._lookup(self.options, doc) or {})
        return merged

    def path_ignored(self, path: str) -> bool:
        if not self.ignore_paths:
            return False
        return pathspec.GitIgnoreSpec.from_lines(self.ignore_paths).match_file(path)


def find_config(root: Path) -> Path | None:
    for folder in CONFIG_DIRS:
        for name in CONFIG_NAMES:
            candidate = root / folder / name
            if candidate.is_file():
                return candidate
    return None


def load_config(path: Path, docs: Iterable[RuleDoc]) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return parse_config(text, str(path), docs)


def _line(node: Any, key: Any) -> int:
    if isinstance(node, CommentedMap):
        try:
            return int(node.lc.key(key)[0]) + 1
        except (KeyError, TypeError):
            pass
        return int(node.lc.line) + 1
    return 1


def parse_config(text: str, name: str, docs: Iterable[RuleDoc]) -> Config:
    known = list(docs)
    ids = {d.code for d in known} | {d.name for d in known}
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        problem, line = describe(exc)
        raise ConfigError(f"{name}:{line}: not valid YAML: {problem}") from exc
    if data is None:
        return Config(source=name)
    if not isinstance(data, CommentedMap):
        raise ConfigError(
            f"{name}:1: the config must be a mapping of keys ({', '.join(_TOP_KEYS)})"
        )

    def fail(node: Any, key: Any, message: str) -> ConfigError:
        return ConfigError(f"{name}:{_line(node, key)}: key '{key}': {message}")

    def rule_ids(node: Any, key: str, value: Any) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(node, key, "expected a list of rule codes or names")
        unknown = [v for v in value if v not in ids]
        if unknown:
            raise fail(node, key, f"unknown rule {unknown[0]!r} (see `container-bp rules`)")
        return frozenset(value)

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(data, key, f"unknown key; expected one of {', '.join(_TOP_KEYS)}")

    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    rules = data.get("rules")
    if rules is not None:
        if not isinstance(rules, CommentedMap):
            raise fail(data, "rules", "expected a mapping with 'enable' and/or 'disable'")
        for key in rules:
            if key not in ("enable", "disable"):
                raise fail(rules, key, "unknown key; expected 'enable' or 'disable'")
        enable = rule_ids(rules, "enable", rules.get("enable"))
        disable = rule_ids(rules, "disable", rules.get("disable"))

    severity: dict[str, Severity] = {}
    sev = data.get("severity")
    if sev is not None:
        if not isinstance(sev, CommentedMap):
            raise fail(data, "severity", "expected a mapping of rule to severity")
        for key, value in sev.items():
            if key not in ids:
                raise fail(sev, key, "unknown rule (see `container-bp rules`)")
            try:
                severity[key] = Severity(str(value).lower())
            except ValueError:
                levels = ", ".join(s.value for s in Severity)
                raise fail(sev, key, f"severity must be one of {levels}") from None

    def strings(key: str, what: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(data, key, f"expected a list of {what}")
        return tuple(value)

    ignore_paths = strings("ignore-paths", "path patterns")
    _check_patterns(data, "ignore-paths", ignore_paths, fail)
    pin_ignore = strings("pin-ignore", "image patterns")
    insecure = strings("insecure-registries", "registry hosts")
    pin_digests = data.get("pin-digests", True)
    if not isinstance(pin_digests, bool):
        raise fail(data, "pin-digests", "expected true or false")
    cache = data.get("registry-cache")
    if cache is not None and not isinstance(cache, str):
        raise fail(data, "registry-cache", "expected a file path")

    entries: list[IgnoreEntry] = []
    raw_ignore = data.get("ignore")
    if raw_ignore is not None:
        if not isinstance(raw_ignore, list):
            raise fail(data, "ignore", "expected a list of {paths, kinds, names, rules} entries")
        for item in raw_ignore:
            if not isinstance(item, CommentedMap) or not item:
                raise fail(data, "ignore", "each entry is a mapping of paths/kinds/names/rules")
            fields: dict[str, tuple[str, ...]] = {}
            for key, value in item.items():
                if key not in _IGNORE_FIELDS:
                    raise fail(item, key, f"unknown key; expected {', '.join(_IGNORE_FIELDS)}")
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise fail(item, key, "expected a list of strings")
                if key == "rules":
                    rule_ids(item, key, value)  # unknown rules are errors here too
                if key == "paths":
                    _check_patterns(item, key, tuple(value), fail)
                fields[str(key)] = tuple(value)
            entries.append(IgnoreEntry(**fields))

    options: dict[str, dict[str, Any]] = {}
    opts = data.get("options")
    if opts is not None:
        if not isinstance(opts, CommentedMap):
            raise fail(data, "options", "expected a mapping of rule to options")
        by_id = {d.code: d for d in known} | {d.name: d for d in known}
        for key, value in opts.items():
            if key not in by_id:
                raise fail(opts, key, "unknown rule (see `container-bp rules`)")
            if not isinstance(value, CommentedMap):
                raise fail(opts, key, "expected a mapping of option to value")
            allowed = by_id[key].options
            for opt in value:
                if opt not in allowed:
                    choices = ", ".join(allowed) or "none"
                    raise fail(value, opt, f"unknown option for {key} (options: {choices})")
            options[key] = {str(k): _plain(v) for k, v in value.items()}

    return Config(
        enable=enable,
        disable=disable,
        severity=severity,
        ignore_paths=ignore_paths,
        options=options,
        pin_digests=pin_digests,
        pin_ignore=pin_ignore,
        insecure_registries=insecure,
        registry_cache=cache,
        ignore=tuple(entries),
        source=name,
    )


def _check_patterns(node: Any, key: str, patterns: tuple[str, ...], fail: Any) -> None:
    """Bad gitignore-style patterns are config errors now, not crashes later."""
    try:
        pathspec.GitIgnoreSpec.from_lines(patterns).match_file("x")
    except Exception as exc:  # pathspec raises several kinds for a bad pattern
        raise fail(node, key, f"bad path pattern: {exc}") from None


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers, turned into plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
