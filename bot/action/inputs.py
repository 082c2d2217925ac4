"""The action's inputs and the runner's environment, read from environment variables.

The runner passes input ``some-name`` as ``INPUT_SOME-NAME`` (upper-cased, hyphens kept);
``INPUT_SOME_NAME`` is accepted too, for running the action by hand. ``DEFAULTS`` must match
``action.yml`` (a test holds them together): off a runner, a missing input takes its default.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sweep.shard import ShardError, parse_shard

# Input name -> its default in action.yml, verbatim.
DEFAULTS: Mapping[str, str] = {
    "github-token": "${{ github.token }}",
    "mode": "auto",
    "paths": ".",
    "config": "",
    "unsafe-fixes": "false",
    "pin-digests": "true",
    "base-branch": "",
    "labels": "container-bp",
    "dry-run": "false",
    "org": "",
    "repos": "",
    "max-open-prs": "10",
    "sarif-file": "",
    "upload-sarif": "false",
    "shard": "",
    "state-file": "",
}
MODES = ("auto", "fix-pr", "review", "report", "sweep")
# Values of these inputs never appear in messages.
SECRET_INPUTS = frozenset({"github-token"})
# YAML 1.2 core schema booleans, as @actions/core getBooleanInput accepts them.
TRUE_VALUES = ("true", "True", "TRUE")
FALSE_VALUES = ("false", "False", "FALSE")


class InputError(ValueError):
    """An input (or the event payload) the action cannot use; the message names it."""


@dataclass(frozen=True)
class ActionInputs:
    token: str = field(repr=False)
    mode: str
    paths: tuple[str, ...]
    config: str | None
    unsafe_fixes: bool
    pin_digests: bool
    base_branch: str | None
    labels: tuple[str, ...]
    dry_run: bool
    org: str | None
    repos: tuple[str, ...]
    max_open_prs: int
    sarif_file: str | None
    upload_sarif: bool
    shard: tuple[int, int] | None
    state_file: str | None = None


@dataclass(frozen=True)
class RunnerEnv:
    """The ``GITHUB_*`` variables the action uses. Off a runner: ``""`` for names, ``None``
    for files, so that the writers given ``output_path``/``summary_path`` do nothing."""

    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    repository: str = ""
    event_name: str = ""
    event_path: str | None = None
    sha: str = ""
    ref: str = ""
    workspace: str | None = None
    output_path: str | None = None
    summary_path: str | None = None


def _fail(name: str, value: str, why: str) -> InputError:
    shown = "" if name in SECRET_INPUTS else f", got {value!r}"
    return InputError(f"input '{name}' {why}{shown}")


def raw_input(env: Mapping[str, str], name: str) -> str:
    """The input's value, trimmed as @actions/core does; its default when not set at all."""
    key = "INPUT_" + name.upper()
    value = env.get(key)
    if value is None:
        value = env.get(key.replace("-", "_").replace(" ", "_"))
    if value is None:
        value = DEFAULTS[name]
        if value.startswith("${{"):
            # The runner evaluates expression defaults; off a runner there is none to evaluate.
            value = ""
    return value.strip()


def _bool(env: Mapping[str, str], name: str) -> bool:
    value = raw_input(env, name)
    if not value:
        value = DEFAULTS[name]
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise _fail(name, value, "must be one of " + ", ".join(TRUE_VALUES + FALSE_VALUES))


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    parts = re.split(r"[\n,]", raw_input(env, name))
    return tuple(part.strip() for part in parts if part.strip())


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return raw_input(env, name) or None


def _token(env: Mapping[str, str]) -> str:
    token = raw_input(env, "github-token") or env.get("GITHUB_TOKEN", "").strip()
    if any(ch.isspace() for ch in token):
        # A token with a line break would split the Authorization header.
        raise _fail("github-token", token, "contains whitespace")
    return token


def _mode(env: Mapping[str, str]) -> str:
    mode = raw_input(env, "mode") or DEFAULTS["mode"]
    if mode not in MODES:
        raise _fail("mode", mode, "must be one of " + ", ".join(MODES))
    return mode


def _max_open_prs(env: Mapping[str, str]) -> int:
    value = raw_input(env, "max-open-prs") or DEFAULTS["max-open-prs"]
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise _fail("max-open-prs", value, "must be a whole number of at least 1")
    return int(value)


def _shard(env: Mapping[str, str]) -> tuple[int, int] | None:
    value = raw_input(env, "shard")
    if not value:
        return None
    try:
        return parse_shard(value)
    except ShardError:
        raise _fail("shard", value, "must be K/N with 1 <= K <= N, such as 1/3") from None


def read_inputs(env: Mapping[str, str]) -> ActionInputs:
    """Parse every input; raises ``InputError`` naming the first bad one."""
    return ActionInputs(
        token=_token(env),
        mode=_mode(env),
        paths=_list(env, "paths") or (".",),
        config=_optional(env, "config"),
        unsafe_fixes=_bool(env, "unsafe-fixes"),
        pin_digests=_bool(env, "pin-digests"),
        base_branch=_optional(env, "base-branch"),
        labels=_list(env, "labels"),
        dry_run=_bool(env, "dry-run"),
        org=_optional(env, "org"),
        repos=_list(env, "repos"),
        max_open_prs=_max_open_prs(env),
        sarif_file=_optional(env, "sarif-file"),
        upload_sarif=_bool(env, "upload-sarif"),
        shard=_shard(env),
        state_file=_optional(env, "state-file"),
    )


def read_runner_env(env: Mapping[str, str]) -> RunnerEnv:
    def get(name: str) -> str | None:
        return env.get(name, "").strip() or None

    defaults = RunnerEnv()
    return RunnerEnv(
        api_url=(get("GITHUB_API_URL") or defaults.api_url).rstrip("/"),
        server_url=(get("GITHUB_SERVER_URL") or defaults.server_url).rstrip("/"),
        repository=get("GITHUB_REPOSITORY") or "",
        event_name=get("GITHUB_EVENT_NAME") or "",
        event_path=get("GITHUB_EVENT_PATH"),
        sha=get("GITHUB_SHA") or "",
        ref=get("GITHUB_REF") or "",
        workspace=get("GITHUB_WORKSPACE"),
        output_path=get("GITHUB_OUTPUT"),
        summary_path=get("GITHUB_STEP_SUMMARY"),
    )


def load_event(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The webhook payload that triggered the run; ``{}`` when there is none."""
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: event payload is not valid JSON ({exc.msg})") from None
    if not isinstance(event, dict):
        raise InputError(f"{path}: event payload is not a JSON object")
    return event


def pick_mode(mode: str, event_name: str) -> str:
    """The mode to run: ``mode`` itself unless it is ``auto``, else chosen from the event."""
    if mode not in MODES:
        raise _fail("mode", mode, "must be one of " + ", ".join(MODES))
    if mode != "auto":
        return mode
    if event_name in ("push", "workflow_dispatch"):
        return "fix-pr"
    if event_name in ("pull_request", "pull_request_target"):
        return "review"
    if event_name == "schedule":
        return "sweep"
    return "report"
