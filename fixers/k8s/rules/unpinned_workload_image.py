"""CBP201: workload images are pinned as ``name:tag@sha256:<index digest>``."""

from __future__ import annotations

from collections.abc import Iterator

from fixers.k8s.kind import K8sDoc, containers
from fixers.model import Finding, FixSafety, Severity
from fixers.pinning.yaml_pin import pin_finding
from fixers.rule import Context, Rule, RuleDoc


class UnpinnedWorkloadImage(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP201",
        name="unpinned-workload-image",
        kind="k8s",
        title="Pin workload images to a version tag and its index digest",
        what=(
            "Flags container images of every workload kind (Pods, Deployments, StatefulSets, "
            "DaemonSets, ReplicaSets, Jobs, CronJob job templates, custom resources with pod "
            "templates; `containers`, `initContainers` and `ephemeralContainers`) that use "
            "`latest` or no tag (warning), or a tag without a digest (info). With the registry "
            "lookup it rewrites the `image:` value in place to `name:tag@sha256:<digest>`, "
            "keeping quotes, comments and everything else in the file byte for byte."
        ),
        why=(
            "A `latest` or moving tag means each node may run a different image: a "
            "rescheduled pod pulls whatever the tag points to that day, so replicas diverge "
            "and a rollback does not bring the old code back. `latest` also defaults "
            "`imagePullPolicy` to `Always`, making every start depend on the registry. The "
            "digest pins what was tested; the tag beside it keeps the manifest readable and "
            "lets update bots bump both in a reviewed pull request. The index digest keeps "
            "multi-architecture clusters working."
        ),
        before=(
            "spec:\n  containers:\n    - name: api\n"
            "      image: registry.example.com/shop/api:latest\n"
        ),
        after=(
            "spec:\n  containers:\n    - name: api\n"
            "      image: registry.example.com/shop/api:1.8.2@sha256:<index digest>\n"
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "Safe: the pin names exactly what the tag points to now, as the registry reports "
            "it. Nothing is rewritten when the registry cannot be asked; template values "
            "(`{{ }}`) and block scalars are left alone. `pin-ignore` in the config skips "
            "images by pattern."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/concepts/containers/images/#image-names",
            "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
        ),
        peers={"checkov": ("CKV_K8S_14", "CKV_K8S_43"), "kube-linter": ("latest-tag",)},
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        for manifest in ctx.doc.manifests:
            for container in containers(manifest):
                finding = pin_finding(self, ctx, ctx.doc.stream, container, "image")
                if finding is not None:
                    yield finding
