"""Every rule the engine knows, found by walking the ``fixers.<kind>.rules`` packages.

A rule lives in one file; adding the file is all it takes to register it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from typing import Any

from fixers.rule import Rule, RuleDoc

RULE_PACKAGES = (
    "fixers.dockerfile.rules",
    "fixers.shell.rules",
    "fixers.k8s.rules",
    "fixers.compose.rules",
    "fixers.python.rules",
)


@cache
def all_rules() -> tuple[Rule[Any], ...]:
    rules: list[Rule[Any]] = []
    for package_name in RULE_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package_name}.{info.name}")
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(obj, Rule)
                    and obj.__module__ == module.__name__
                    and isinstance(getattr(obj, "doc", None), RuleDoc)
                ):
                    rules.append(obj())
    rules.sort(key=lambda r: r.doc.code)
    codes = [r.doc.code for r in rules]
    names = [r.doc.name for r in rules]
    if len(set(codes)) != len(codes) or len(set(names)) != len(names):
        raise RuntimeError("two rules share a code or a name")
    return tuple(rules)


def find_rule(selector: str) -> Rule[Any] | None:
    """A rule by code (CBP101), name (unpinned-base-image) or a peer tool's id (DL3006)."""
    for rule in all_rules():
        if rule.doc.matches(selector):
            return rule
    for rule in all_rules():
        if selector.strip().upper() in (p.upper() for p in rule.doc.peer_ids):
            return rule
    return None


def docs() -> tuple[RuleDoc, ...]:
    return tuple(r.doc for r in all_rules())
