"""``container-bp action``: the entrypoint of the GitHub Action.

Reads only what the runner provides (``GITHUB_*`` and ``INPUT_*``), so the same command works
against github.com, GitHub Enterprise Server (``GITHUB_API_URL``) or a local API double.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from github import Github

from bot.action.inputs import (
    ActionInputs,
    InputError,
    RunnerEnv,
    load_event,
    pick_mode,
    read_inputs,
    read_runner_env,
)
from bot.action.outputs import annotation_lines, append_summary, mask, set_outputs
from bot.analyse import Options, analyse, config_from
from bot.fixpr.publish import BRANCH, Report, Settings, fix_pr
from bot.github.client import ApiFailure, connect, install_redaction, redact
from bot.github.memo import Memory
from bot.github.sarif_upload import upload_sarif
from bot.github.snapshot import RepoSnapshot
from bot.markdown import cell
from bot.report import render
from bot.report.github_report import command
from bot.review.publish import review_pr
from bot.summary import job_summary
from bot.sweep.repos import sweep_names
from bot.sweep.run import sweep
from bot.sweep.shard import in_shard
from fixers.config import ConfigError
from fixers.engine import allowed
from fixers.model import Finding
from fixers.pinning.model import Resolver
from fixers.pinning.resolver import RegistryResolver
from fixers.run import RunResult
from fixers.source import LocalSource


@dataclass
class Outputs:
    result: RunResult = field(default_factory=RunResult)
    values: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    extra_annotations: list[Finding] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    analysed: bool = True  # False: every repository was skipped as unchanged
    outside: int = 0  # review: findings on lines the pull request does not change


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        inputs = read_inputs(env)
        runner = read_runner_env(env)
    except InputError as exc:
        print(command("error", str(exc), title="container-bp"))
        return 2
    if inputs.token:
        print(mask(inputs.token))
        install_redaction(inputs.token)
    mode = pick_mode(inputs.mode, runner.event_name)
    print(f"container-bp: mode {mode} ({runner.event_name or 'no event'})")
    try:
        out = _dispatch(mode, inputs, runner)
    except (ApiFailure, ConfigError) as exc:
        print(command("error", redact(str(exc)), title="container-bp"))
        return 1
    except Exception as exc:  # a network error or a bug: say what, never a bare traceback
        message = redact(f"internal error: {type(exc).__name__}: {exc}")
        print(command("error", message, title="container-bp"))
        return 1
    _publish(out, inputs, runner, mode)
    for problem in out.failed:
        print(command("error", redact(problem), title="container-bp"))
    return 1 if out.failed else 0


def _dispatch(mode: str, inputs: ActionInputs, runner: RunnerEnv) -> Outputs:
    if mode == "report":
        return _report(inputs, runner)
    if not inputs.token:
        raise ConfigError("input github-token is empty")
    if not runner.repository and mode != "sweep":
        raise ConfigError("GITHUB_REPOSITORY is not set")
    gh = connect(runner.api_url, inputs.token)
    resolver = _resolver()
    if mode == "fix-pr":
        memory = _memory(inputs)
        report = fix_pr(gh, runner.repository, _settings(inputs, runner), resolver, memory=memory)
        memory.save()
        return _from_fix_reports([report], mode)
    if mode == "review":
        return _review(gh, inputs, runner, resolver)
    if mode == "sweep":
        return _sweep(gh, inputs, runner, resolver)
    raise ConfigError(f"unknown mode {mode!r}")


def _resolver() -> Resolver:
    return RegistryResolver(offline=None)  # CONTAINER_BP_OFFLINE decides


def _memory(inputs: ActionInputs) -> Memory:
    return Memory(Path(inputs.state_file) if inputs.state_file else None)


def _paths(inputs: ActionInputs) -> tuple[str, ...]:
    """Repository-relative folders ("" for all): `.`, `./x` and `x/` mean what they say."""
    cleaned = tuple(posixpath.normpath(p).strip("/") for p in inputs.paths)
    cleaned = tuple("" if p == "." else p for p in cleaned)
    return cleaned or ("",)


def _options(inputs: ActionInputs) -> Options:
    return Options(fix=True, unsafe=inputs.unsafe_fixes, pin_digests=inputs.pin_digests)


def _settings(inputs: ActionInputs, runner: RunnerEnv) -> Settings:
    base = inputs.base_branch
    if base is None and runner.event_name == "push" and runner.ref.startswith("refs/heads/"):
        base = runner.ref.removeprefix("refs/heads/")
    return Settings(
        base=base,
        labels=inputs.labels,
        dry_run=inputs.dry_run,
        options=_options(inputs),
        config_path=inputs.config,
        paths=_paths(inputs),
        branch=BRANCH,
    )


def _from_fix_reports(reports: list[Report], mode: str) -> Outputs:
    out = Outputs(analysed=not reports or any(r.result is not None for r in reports))
    for report in reports:
        if report.result is not None:
            out.result.files += report.result.files
            out.result.skipped += report.result.skipped
            out.result.errors += report.result.errors
    first = next((r for r in reports if r.pr_number is not None), None)
    if len(reports) == 1 and first is not None:
        out.values["pr-number"] = str(first.pr_number)
        out.values["pr-url"] = first.pr_url or ""
    lines = ["| Repository | Outcome | Pull request | Detail |", "|---|---|---|---|"]
    for r in reports:
        link = f"[#{r.pr_number}]({r.pr_url})" if r.pr_number else ""
        lines.append(f"| {r.repo} | {r.outcome} | {link} | {cell(r.detail)} |")
    out.summary = "\n".join(lines) + "\n"
    return out


def _review(gh: Github, inputs: ActionInputs, runner: RunnerEnv, resolver: Resolver) -> Outputs:
    event = load_event(runner.event_path)
    pull = event.get("pull_request") or {}
    number = pull.get("number")
    if not isinstance(number, int):
        raise ConfigError("review mode needs a pull_request event (no pull_request.number)")
    head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    fork = bool(head_repo) and head_repo != runner.repository
    # A fork's pull_request run gets a read-only token: do not even try to write.
    post = not inputs.dry_run and not (fork and runner.event_name == "pull_request")
    report = review_pr(
        gh, runner.repository, number, _options(inputs), resolver,
        config_path=inputs.config, post=post, paths=_paths(inputs),
    )  # fmt: skip
    out = Outputs()
    if report.result is not None:
        out.result = report.result
    posted = len(report.posted)
    out.summary = (
        f"Review of #{number}: {posted} comments posted, {report.duplicates} already there,"
        f" {len(report.overflow)} over the limit, {len(report.outside)} outside the diff."
        + (f" {report.detail}." if report.detail else "")
        + "\n"
    )
    out.outside = len(report.outside)
    if report.read_only or not post:
        out.extra_annotations = [f for r in out.result.files for f in r.findings]
    else:
        out.extra_annotations = [o.finding for o in report.outside] + [
            f for c in report.overflow for f in _findings_at(out.result, c.path, c.line)
        ]
    return out


def _findings_at(result: RunResult, path: str, line: int) -> list[Finding]:
    return [f for r in result.files if r.source_path == path for f in r.findings if f.line == line]


def _sweep(gh: Github, inputs: ActionInputs, runner: RunnerEnv, resolver: Resolver) -> Outputs:
    names = sweep_targets(gh, inputs, runner)
    report = sweep(
        gh, names, _settings(inputs, runner), resolver,
        max_open_prs=inputs.max_open_prs, memory=_memory(inputs),
    )  # fmt: skip
    out = _from_fix_reports(report.reports, "sweep")
    out.failed += [f"{repo}: {why}" for repo, why in report.failures]
    if report.deferred:
        out.summary += (
            f"\nRate limit nearly spent: {len(report.deferred)} repositories are left for the"
            f" next run: {', '.join(report.deferred)}.\n"
        )
        print(f"::warning title=container-bp::{len(report.deferred)} repositories deferred")
    return out


def sweep_targets(gh: Github, inputs: ActionInputs, runner: RunnerEnv) -> list[str]:
    """Repositories of this sweep and shard (the current repository when no org or repos)."""
    return in_shard(sweep_names(gh, inputs.org, inputs.repos, runner.repository), inputs.shard)


def _report(inputs: ActionInputs, runner: RunnerEnv) -> Outputs:
    """Scan only: from the checked-out workspace when there is one, else through the API."""
    options = Options(fix=False, pin_digests=inputs.pin_digests)
    workspace = Path(runner.workspace) if runner.workspace else None
    if workspace is not None and workspace.is_dir() and any(workspace.iterdir()):
        source: LocalSource | RepoSnapshot = LocalSource(workspace)
    else:
        if not inputs.token or not runner.repository:
            raise ConfigError("report mode needs a checked-out workspace or a token")
        gh = connect(runner.api_url, inputs.token)
        source = RepoSnapshot(gh.get_repo(runner.repository), runner.sha)
    config = config_from(source, inputs.config)
    result = analyse(source, config, options, None, under=_paths(inputs))
    out = Outputs(result=result)
    sarif = render("sarif", result)
    if inputs.sarif_file or inputs.upload_sarif:
        target = Path(inputs.sarif_file or "container-bp.sarif")
        target.write_text(sarif, encoding="utf-8")
        out.values["sarif-file"] = str(target)
    if inputs.upload_sarif and inputs.dry_run:
        out.summary += "Dry run: the SARIF report was not uploaded.\n"
    elif inputs.upload_sarif:
        gh = connect(runner.api_url, inputs.token)
        sarif_id = upload_sarif(gh, runner.repository, runner.sha, runner.ref, sarif)
        out.summary += f"SARIF uploaded to code scanning (id {sarif_id}).\n"
    return out


def _publish(out: Outputs, inputs: ActionInputs, runner: RunnerEnv, mode: str) -> None:
    result = out.result
    findings = [f for r in result.files for f in r.findings]
    fixable = sum(1 for f in findings if f.fix and allowed(f.fix_safety, inputs.unsafe_fixes))
    out.values.setdefault("findings", str(len(findings)) if out.analysed else "")
    out.values.setdefault("fixable", str(fixable) if out.analysed else "")
    out.values.setdefault("pr-number", "")
    out.values.setdefault("pr-url", "")
    out.values.setdefault("sarif-file", "")
    # A sweep's findings live in other repositories: annotations would point nowhere.
    shown = {"review": out.extra_annotations, "sweep": []}.get(mode, findings)
    for line in annotation_lines(shown):
        print(line)
    summary = job_summary(
        result, mode=mode, pr_url=out.values.get("pr-url") or None, outside=out.outside
    )
    append_summary(runner.summary_path, summary + ("\n" + out.summary if out.summary else ""))
    set_outputs(runner.output_path, out.values)
    _echo_untrusted(out.summary)


def _echo_untrusted(text: str) -> None:
    """Print text that holds repository content (paths, config errors) with the runner's
    command processing stopped, so that none of it is taken for a workflow command."""
    if not text:
        return
    token = f"container-bp-{secrets.token_hex(16)}"
    print(f"::stop-commands::{token}")
    print(text, end="" if text.endswith("\n") else "\n")
    print(f"::{token}::")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
