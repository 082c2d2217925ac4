"""CBP206: ``imagePullPolicy`` matches the image reference: ``Always`` for a ``latest`` that
stays, not ``Always`` for an image pinned by digest."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.comments import CommentedMap

from fixers.images import ImageRef, parse_image
from fixers.k8s.kind import K8sDoc, Manifest, annotation_ignores, containers
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.yamldoc import value_span

KEY = "imagePullPolicy"
POLICIES = ("Always", "IfNotPresent", "Never")
# kube-score, checkov and Polaris want `Always` on every container. They agree with this rule
# on a `latest` image and disagree on a digest (where this rule advises `IfNotPresent`), so they
# are not `peers` of the whole rule; their ignore annotations silence the `latest` finding only.
ALWAYS_PEERS = frozenset({"container-image-pull-policy", "ckv_k8s_15", "pullpolicynotalways"})


def _moving(image: ImageRef) -> bool:
    """`latest` or no tag, and no digest: what the tag names changes with every push."""
    return not image.is_pinned and (image.is_latest or image.is_untagged)


def _line(container: CommentedMap) -> int:
    try:
        return int(container.lc.value(KEY)[0]) + 1
    except (KeyError, TypeError):
        return int(container.lc.line) + 1


def _always_ignored(manifest: Manifest) -> bool:
    return bool({i.lower() for i in annotation_ignores(manifest.annotations)} & ALWAYS_PEERS)


class ImagePullPolicy(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP206",
        name="image-pull-policy",
        kind="k8s",
        title="Pull a `latest` image `Always`; do not pull a digest-pinned image on every start",
        what=(
            "Looks at containers (of every workload kind, custom resources with pod templates "
            "included) that set `imagePullPolicy`. A `latest` or untagged image with "
            "`IfNotPresent` or `Never` is a warning. An image with a version tag or a digest "
            "and `Always` is an info finding: for a digest-pinned image its safe fix sets "
            "`IfNotPresent`; for a tag (which can be pushed again) it only suggests pinning "
            "the digest first. Left alone: containers without `imagePullPolicy` (Kubernetes "
            "picks `Always` for `latest` and `IfNotPresent` otherwise, the right defaults), "
            "templated or invalid images, and values Kubernetes would reject. kube-score "
            "(`container-image-pull-policy`), checkov (`CKV_K8S_15`) and Polaris "
            "(`pullPolicyNotAlways`) want `Always` everywhere; their ignore annotations "
            "silence the `latest` finding, which they share, and not the digest advice, which "
            "they contradict, so they are not listed as peers."
        ),
        why=(
            "With `latest` and `IfNotPresent` (or `Never`) each node runs whichever `latest` "
            "it pulled first: replicas on different nodes run different code, a rescheduled "
            "pod changes version silently, and a fix that was pushed never reaches nodes that "
            "have an older copy. Pinning a version (CBP201) is the real fix; a `latest` that "
            "stays should at least be pulled `Always`. The other way round, `Always` on an "
            "image pinned by digest buys nothing (the digest names exactly one image) and "
            "makes every pod start, restart and reschedule depend on the registry being up, "
            "reachable and within its rate limits."
        ),
        before=(
            "containers:\n  - name: api\n    image: shop/api:latest\n"
            "    imagePullPolicy: IfNotPresent\n"
            "  - name: worker\n    image: shop/worker:2.1@sha256:<digest>\n"
            "    imagePullPolicy: Always\n"
        ),
        after=(
            "containers:\n  - name: api\n    image: shop/api:latest\n"
            "    imagePullPolicy: Always\n"
            "  - name: worker\n    image: shop/worker:2.1@sha256:<digest>\n"
            "    imagePullPolicy: IfNotPresent\n"
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "`Always` to `IfNotPresent` for a digest-pinned image is safe: the digest is "
            "immutable, so a cached copy is the same image (in a cluster shared between "
            "tenants, `Always` also makes the kubelet check the pod's pull credentials for a "
            "cached private image: keep it there with an ignore annotation, or use the "
            "`AlwaysPullImages` admission plugin). `IfNotPresent` to `Always` for a `latest` "
            "image is unsafe: every start then pulls, and an image loaded onto the nodes by "
            "hand (`kind load`, `minikube image load`, the kind/minikube convention for local "
            "images) is replaced by the registry's copy, or fails to pull. `Never` is reported "
            "without a fix (the image is expected on the nodes already). Values are edited in "
            "place, quotes and comments kept; when CBP201 pins a `latest` image, an `Always` "
            "left beside it is then flagged here."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
            "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
            "https://kind.sigs.k8s.io/docs/user/quick-start/#loading-an-image-into-your-cluster",
        ),
        peers={},
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        for manifest in ctx.doc.manifests:
            for container in containers(manifest):
                finding = self._container(ctx, manifest, container)
                if finding is not None:
                    yield finding

    def _container(
        self, ctx: Context[K8sDoc], manifest: Manifest, container: CommentedMap
    ) -> Finding | None:
        policy = container.get(KEY)
        raw = container.get("image")
        if policy not in POLICIES or not isinstance(raw, str):
            return None
        image = parse_image(raw)
        if image is None:
            return None
        name = str(container.get("name", "?"))
        line = _line(container)
        if _moving(image):
            if policy == "Always" or _always_ignored(manifest):
                return None
            what = "the moving `latest` tag" if image.is_latest else "no tag (it means `latest`)"
            if policy == "Never":
                return self.finding(
                    ctx,
                    line,
                    f"container `{name}` runs `{image.raw}` ({what}) with `imagePullPolicy: "
                    "Never`: each node runs whichever copy was loaded onto it, so replicas "
                    "can run different code",
                    suggestion=(
                        "pin a version tag and digest (CBP201); for an image built and loaded "
                        "onto the nodes by hand, give each build its own tag"
                    ),
                )
            return self._set(
                ctx,
                container,
                line,
                "Always",
                FixSafety.UNSAFE,
                f"container `{name}` runs `{image.raw}` ({what}) with `imagePullPolicy: "
                "IfNotPresent`: each node runs whichever `latest` it cached, so replicas can "
                "run different code",
                "pin a version tag and digest (CBP201), or set `imagePullPolicy: Always`",
            )
        if policy != "Always":
            return None
        if image.is_pinned:
            return self._set(
                ctx,
                container,
                line,
                "IfNotPresent",
                FixSafety.SAFE,
                f"container `{name}` pulls `{image.raw}` on every start (`imagePullPolicy: "
                "Always`) although its digest pins it: every pod start depends on the registry",
                "set `imagePullPolicy: IfNotPresent`",
                severity=Severity.INFO,
            )
        return self.finding(
            ctx,
            line,
            f"container `{name}` pulls `{image.raw}` on every start (`imagePullPolicy: "
            "Always`): every pod start depends on the registry",
            severity=Severity.INFO,
            suggestion=(
                "pin the image by digest (CBP201, `container-bp fix`), then use "
                "`IfNotPresent`; keep `Always` only for a tag that is pushed again on purpose"
            ),
        )

    def _set(
        self,
        ctx: Context[K8sDoc],
        container: CommentedMap,
        line: int,
        policy: str,
        safety: FixSafety,
        message: str,
        suggestion: str,
        *,
        severity: Severity | None = None,
    ) -> Finding:
        span = value_span(ctx.doc.stream, container, KEY)
        edits = [Edit(span.start, span.end, policy)] if span is not None else []
        return self.finding(
            ctx,
            line,
            message,
            edits=edits,
            safety=safety,
            fix_description=f"Set imagePullPolicy: {policy} on `{container.get('name', '?')}`",
            suggestion=None if edits else suggestion,
            severity=severity,
        )
