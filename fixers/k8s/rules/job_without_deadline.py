"""CBP205: Jobs (and the jobs of CronJobs) bound their run time with activeDeadlineSeconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap

from fixers.k8s.kind import K8sDoc, Manifest
from fixers.k8s.rules.bare_pod import add_entries_after_comments, key_line, verified
from fixers.model import Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.yamledit import add_entries

DEADLINE = "activeDeadlineSeconds"
BACKOFF = "backoffLimit"


def job_spec(manifest: Manifest) -> CommentedMap | None:
    """The Job spec of a Job, or of the jobs a CronJob creates (`spec.jobTemplate.spec`)."""
    if manifest.api_version.split("/")[0] != "batch":
        return None
    path = {"Job": ("spec",), "CronJob": ("spec", "jobTemplate", "spec")}.get(manifest.kind)
    if path is None:
        return None
    current: Any = manifest.node
    for key in path:
        current = current.get(key) if isinstance(current, CommentedMap) else None
    return current if isinstance(current, CommentedMap) else None


def _whole(value: Any, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return None
    return value


class JobWithoutDeadline(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP205",
        name="job-without-deadline",
        kind="k8s",
        title="Bound the run time of Jobs with activeDeadlineSeconds",
        what=(
            "Flags Jobs and the job templates of CronJobs (`spec.jobTemplate.spec`) whose Job "
            "spec has no `activeDeadlineSeconds`. With unsafe fixes it adds "
            "`activeDeadlineSeconds` (option `active-deadline-seconds`, default 3600) to the "
            "Job spec, not the pod spec, and `backoffLimit` (option `backoff-limit`, default "
            "3) when that is missing too (it defaults to 6 and is not flagged by itself). A "
            "pod spec's own `activeDeadlineSeconds` bounds each pod, not the Job and its "
            "retries, so it does not count. For CronJobs the finding also points at "
            "`startingDeadlineSeconds` and `concurrencyPolicy: Forbid` when they are missing."
        ),
        why=(
            "A Job whose pod hangs (a deadlock, a wait on a service that never answers, a "
            "stuck network mount) runs forever: it holds its CPU, memory and any lock or quota "
            "it took, and nobody hears of it, since the Job never fails. One whose pod keeps "
            "crashing is retried with exponential backoff until `backoffLimit`. "
            "`activeDeadlineSeconds` bounds the whole Job's run time, retries included: past "
            "it the pods are stopped and the Job fails with `DeadlineExceeded`, so it fails "
            "fast and alerts can fire. For a CronJob a hung run also blocks the next ones "
            "(with `concurrencyPolicy: Forbid`) or piles up beside them (with `Allow`)."
        ),
        before=(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: backfill\nspec:\n"
            "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
            "        - name: backfill\n          image: shop/backfill:2.1\n"
        ),
        after=(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: backfill\nspec:\n"
            "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
            "        - name: backfill\n          image: shop/backfill:2.1\n"
            "  activeDeadlineSeconds: 3600\n  backoffLimit: 3\n"
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: a manifest does not tell how long its work takes, so a deadline may stop "
            "a Job that runs longer than it on purpose (a backup, a migration, a training "
            "run), and a lower `backoffLimit` (3 instead of the default 6) retries less. Both "
            "values come from the options `active-deadline-seconds` and `backoff-limit`: set "
            "them (per repository, in `.container-bp.yml`) to what your Jobs need, and review "
            "each added deadline. Not fixed (reported only): a Job spec in flow style, an "
            "`activeDeadlineSeconds` key without a value, and options that are not whole "
            "numbers. `startingDeadlineSeconds` and `concurrencyPolicy` of a CronJob are "
            "suggested, never added."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup",
            "https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-backoff-failure-policy",
            "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#job-creation",
        ),
        options={"active-deadline-seconds": 3600, "backoff-limit": 3},
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        for manifest in ctx.doc.manifests:
            spec = job_spec(manifest)
            if spec is None or spec.get(DEADLINE) is not None:
                continue
            yield self._finding(ctx, manifest, spec)

    def _finding(self, ctx: Context[K8sDoc], manifest: Manifest, spec: CommentedMap) -> Finding:
        stream = ctx.doc.stream
        what = "CronJob" if manifest.kind == "CronJob" else "Job"
        name = f" `{manifest.name}`" if manifest.name else ""
        subject = f"the jobs of CronJob{name}" if what == "CronJob" else f"Job{name}"
        message = (
            f"{subject[0].upper()}{subject[1:]} {'have' if what == 'CronJob' else 'has'} no "
            "activeDeadlineSeconds: a hung pod keeps running, holding its resources, and the "
            "Job never fails"
        )
        deadline = _whole(self.option(ctx, "active-deadline-seconds"), 1)
        backoff = _whole(self.option(ctx, "backoff-limit"), 0)
        entries: dict[str, Any] = {DEADLINE: deadline}
        if BACKOFF not in spec:
            entries[BACKOFF] = backoff
        hints = []
        edits = []
        where = "spec.jobTemplate.spec" if what == "CronJob" else "spec"
        if DEADLINE in spec:
            hints.append(f"give `{where}.{DEADLINE}` a value")
        elif deadline is None or (BACKOFF in entries and backoff is None):
            hints.append(
                "the options active-deadline-seconds (> 0) and backoff-limit (>= 0) must be "
                "whole numbers"
            )
        else:

            def expect(old: Any) -> Any:
                return {**old, **entries}

            # After the comment lines that end the Job spec: they belong to what is above
            # them, and may be the last lines of a block scalar (`# done` in a script), which
            # fixers.yamledit.add_entries would cut. Either way the result must load back as
            # the old Job spec plus the new keys.
            for add in (add_entries_after_comments, add_entries):
                edit = add(stream, spec, entries)
                if edit is not None and verified(stream, [edit], spec, expect):
                    edits.append(edit)
                    break
            else:
                added = ", ".join(f"{k}: {v}" for k, v in entries.items())
                hints.append(
                    f"add `{added}` to `{where}` (not written here: it is in flow style, or "
                    "an insertion would not load back as intended)"
                )
        if what == "CronJob":
            cron = manifest.node.get("spec")
            cron = cron if isinstance(cron, CommentedMap) else CommentedMap()
            missing = [
                text
                for key, text in (
                    ("startingDeadlineSeconds", "`startingDeadlineSeconds` (skip a run that "
                     "could not start in time rather than start it late)"),
                    ("concurrencyPolicy", "`concurrencyPolicy: Forbid` (no run starts while "
                     "the last one still runs)"),
                )
                if key not in cron
            ]  # fmt: skip
            if missing:
                hints.append("consider " + " and ".join(missing) + " in the CronJob's spec")
        return self.finding(
            ctx,
            key_line(manifest),
            message,
            edits=edits,
            fix_description=(
                f"Add {', '.join(f'{k}: {v}' for k, v in entries.items())} to "
                + ("the CronJob's job template" if what == "CronJob" else "the Job spec")
            ),
            suggestion="; ".join(hints) or None,
        )
