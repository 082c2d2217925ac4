"""Reports: the same findings and rule docs rendered for people, machines and GitHub."""

from __future__ import annotations

import importlib

from fixers.run import RunResult


def render(
    fmt: str,
    result: RunResult,
    *,
    explain: bool = False,
    fixing: bool = False,
    diff: bool = False,
    unsafe: bool = False,
) -> str:
    module = importlib.import_module(f"bot.report.{fmt}_report")
    text: str = module.render(result, explain=explain, fixing=fixing, diff=diff, unsafe=unsafe)
    return text
