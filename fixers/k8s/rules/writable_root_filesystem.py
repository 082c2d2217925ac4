"""CBP204: containers write to emptyDir volumes, and their root filesystem is read-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fixers.images import parse_image
from fixers.k8s.kind import K8sDoc
from fixers.k8s.workloads import PodSpec, linux_containers
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc
from fixers.yamldoc import YamlStream
from fixers.yamledit import add_entries, append_items, detect_layout

# Every container gets scratch space here.
SCRATCH_PATHS: tuple[str, ...] = ("/tmp",)
# Where known images write at run time besides /tmp (canonical image name -> paths). Kept
# short: only images whose writable paths are documented and stable.
# - nginx (official image, also on ECR Public): proxy/client temp files in /var/cache/nginx,
#   the pid file in /var/run (a symlink to /run). nginxinc/nginx-unprivileged already keeps
#   both under /tmp, so it is not listed.
IMAGE_WRITABLE_PATHS: dict[str, tuple[str, ...]] = {
    "docker.io/library/nginx": ("/var/cache/nginx", "/var/run"),
    "public.ecr.aws/nginx/nginx": ("/var/cache/nginx", "/var/run"),
}
LISTS = ("initContainers", "containers")


def writable_paths(container: CommentedMap) -> tuple[str, ...]:
    """The paths the container needs writable: /tmp, and those its image is known to use."""
    image = parse_image(str(container.get("image", "")))
    known = IMAGE_WRITABLE_PATHS.get(image.canonical_name, ()) if image is not None else ()
    return SCRATCH_PATHS + known


def mounted_paths(container: CommentedMap) -> list[str]:
    mounts = container.get("volumeMounts")
    if not isinstance(mounts, CommentedSeq):
        return []
    found = []
    for mount in mounts:
        if isinstance(mount, CommentedMap) and isinstance(mount.get("mountPath"), str):
            found.append(str(mount["mountPath"]).rstrip("/") or "/")
    return found


def unmounted(container: CommentedMap) -> list[str]:
    """Writable paths no volume of the container covers (a mount of a parent covers them)."""
    mounts = mounted_paths(container)
    return [
        path
        for path in writable_paths(container)
        if not any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)
    ]


def volume_names(pod: PodSpec) -> set[str]:
    """Names of the pod's volumes, and of a StatefulSet's claim templates (which the
    controller adds to each pod as volumes)."""
    names: set[str] = set()
    volumes = pod.spec.get("volumes")
    if isinstance(volumes, CommentedSeq):
        names |= {str(v["name"]) for v in volumes if isinstance(v, CommentedMap) and "name" in v}
    spec = pod.manifest.node.get("spec")
    claims = spec.get("volumeClaimTemplates") if isinstance(spec, CommentedMap) else None
    if isinstance(claims, CommentedSeq):
        for claim in claims:
            meta = claim.get("metadata") if isinstance(claim, CommentedMap) else None
            if isinstance(meta, CommentedMap) and "name" in meta:
                names.add(str(meta["name"]))
    return names


def volume_name(path: str, taken: set[str]) -> str:
    """`tmp` for /tmp, `var-cache-nginx` for /var/cache/nginx; `-1`, `-2`... when taken."""
    base = path.strip("/").replace("/", "-").replace("_", "-").replace(".", "-").lower()
    base = base[:55] or "scratch"
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def mount_edits(
    stream: YamlStream, pod: PodSpec, container: CommentedMap, paths: list[str]
) -> list[Edit] | None:
    """A new emptyDir volume per path and its mount in the container; None for flow style."""
    taken = volume_names(pod)
    mounts, volumes = [], []
    for path in paths:
        name = volume_name(path, taken)
        taken.add(name)
        mounts.append({"name": name, "mountPath": path})
        volumes.append({"name": name, "emptyDir": {}})
    # The container's edit first: when both land at one point, the deeper one goes first.
    mount = append_items(stream, container, "volumeMounts", mounts)
    volume = append_items(stream, pod.spec, "volumes", volumes)
    if mount is None or volume is None:
        return None
    return [mount, volume]


def _line_end(stream: YamlStream, line0: int) -> tuple[int, bool]:
    """Offset where the line after ``line0`` starts (or the end), and whether a newline is
    needed first (the last line of a file without a final newline)."""
    if line0 + 1 < len(stream.starts):
        return stream.starts[line0 + 1], False
    return len(stream.text), not stream.text.endswith("\n")


def read_only_edits(stream: YamlStream, container: CommentedMap) -> list[Edit] | None:
    """Set ``securityContext.readOnlyRootFilesystem: true``; None where text edits cannot."""
    flag = {"readOnlyRootFilesystem": True}
    if "securityContext" not in container:
        edit = add_entries(stream, container, {"securityContext": flag})
        return [edit] if edit is not None else None
    context = container["securityContext"]
    if isinstance(context, CommentedMap) and context:
        edit = add_entries(stream, context, flag)
        return [edit] if edit is not None else None
    if isinstance(context, CommentedMap):
        return _fill_empty_flow(stream, container)
    return None


def _fill_empty_flow(stream: YamlStream, container: CommentedMap) -> list[Edit] | None:
    """``securityContext: {}`` -> a block mapping holding the flag (the ``{}`` goes; a comment
    after it stays)."""
    try:
        key_line, key_col = container.lc.key("securityContext")
        line0, col0 = container.lc.value("securityContext")
    except (KeyError, TypeError):
        return None
    if key_line != line0:
        return None
    text = stream.text
    brace = stream.offset(line0, col0)
    line_start = stream.starts[line0]
    after, needs_newline = _line_end(stream, line0)
    rest = text[brace + 2 : after].rstrip("\r\n")
    if text[brace : brace + 2] != "{}" or (rest.strip() and not rest.lstrip().startswith("#")):
        return None
    colon = text.rfind(":", line_start, brace)
    if colon < 0 or text[colon + 1 : brace].strip():
        return None
    nl = stream.newline
    line = " " * (int(key_col) + detect_layout(stream).step) + "readOnlyRootFilesystem: true"
    insert = nl + line if needs_newline else line + nl
    return [Edit(colon + 1, brace + 2, ""), Edit(after, after, insert)]


class WritableRootFilesystem(Rule[K8sDoc]):
    doc = RuleDoc(
        code="CBP204",
        name="writable-root-filesystem",
        kind="k8s",
        title="Give containers emptyDir scratch space and a read-only root filesystem",
        what=(
            "Flags containers and init containers of every built-in workload (Pods, "
            "Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, "
            "Jobs, CronJobs, PodTemplates) without `securityContext.readOnlyRootFilesystem: "
            "true`, with two findings: one (info) while `/tmp` (and the paths a known image "
            "writes to) has no volume mounted, whose safe fix mounts an `emptyDir` there; and "
            "one (warning) for the writable root itself, whose unsafe fix sets the flag once "
            "those mounts are in place. Windows pods are left alone."
        ),
        why=(
            "Files a container writes outside its volumes land in its copy-on-write layer: "
            "slow (overlayfs copies a whole file up before its first change), counted against "
            "the node's disk where nobody sees them, and gone on restart. A writable root also "
            "lets an attacker who gets code execution drop and run tools or change the app. "
            "`emptyDir` volumes give explicit, fast scratch space that is accounted to the pod "
            "(and can get a `sizeLimit`); with them in place the root filesystem can be "
            "read-only."
        ),
        before="spec:\n  containers:\n    - name: web\n      image: nginx:1.27\n",
        after=(
            "spec:\n  containers:\n    - name: web\n      image: nginx:1.27\n"
            "      volumeMounts:\n        - name: tmp\n          mountPath: /tmp\n"
            "        - name: var-cache-nginx\n          mountPath: /var/cache/nginx\n"
            "        - name: var-run\n          mountPath: /var/run\n"
            "      securityContext:\n        readOnlyRootFilesystem: true\n"
            "  volumes:\n    - name: tmp\n      emptyDir: {}\n"
            "    - name: var-cache-nginx\n      emptyDir: {}\n"
            "    - name: var-run\n      emptyDir: {}\n"
        ),
        fix=FixSafety.SAFE,
        fix_notes=(
            "The mounts are safe: each container gets its own new `emptyDir` volume (named "
            "after the path: `tmp`, then `tmp-1`... when the name is taken; never shared "
            "between containers, whose /tmp was private) at `/tmp` and at the paths of known "
            "images (nginx: `/var/cache/nginx`, `/var/run`); a path the container already "
            "mounts a volume at (or under a mounted parent) is left as it is. What the image "
            "shipped in those directories is hidden (they are empty or scratch in the images "
            "listed). Setting `readOnlyRootFilesystem: true` is unsafe and a separate finding: "
            "it is offered only once the mounts exist (so the safe fix lands first), added to "
            "the container's `securityContext` (created when absent). An app that writes "
            "elsewhere (caches, pid files, its own config) will fail until that path gets a "
            "volume too. An explicit `readOnlyRootFilesystem: false`, flow-style nodes and "
            "`volumes: []` are reported, not edited."
        ),
        severity=Severity.WARNING,
        references=(
            "https://kubernetes.io/docs/concepts/storage/volumes/#emptydir",
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
            "https://kubernetes.io/docs/concepts/storage/ephemeral-storage/",
            "https://hub.docker.com/_/nginx",
        ),
        peers={
            "kube-linter": ("no-read-only-root-fs",),
            "kube-score": ("container-security-context-readonlyrootfilesystem",),
            "polaris": ("notReadOnlyRootFilesystem",),
            "checkov": ("CKV_K8S_22",),
        },
    )

    def check(self, ctx: Context[K8sDoc]) -> Iterator[Finding]:
        for pod, container in linux_containers(ctx.doc.manifests, LISTS):
            yield from self._container(ctx, pod, container)

    def _container(
        self, ctx: Context[K8sDoc], pod: PodSpec, container: CommentedMap
    ) -> Iterator[Finding]:
        context = container.get("securityContext")
        flag: Any = (
            context.get("readOnlyRootFilesystem") if isinstance(context, CommentedMap) else None
        )
        if flag is True:
            return
        stream = ctx.doc.stream
        line = int(container.lc.line) + 1
        name = str(container.get("name", "?"))
        missing = unmounted(container)
        if missing:
            paths = ", ".join(missing)
            edits = mount_edits(stream, pod, container, missing)
            yield self.finding(
                ctx,
                line,
                f"container `{name}` has no volume at {paths}: what it writes there goes to "
                "its copy-on-write layer",
                edits=edits or (),
                fix_description=f"Mount emptyDir volumes at {paths} in `{name}`",
                suggestion=None if edits else f"mount an `emptyDir` volume at {paths}",
                severity=Severity.INFO,
            )
        if flag is not None:
            yield self.finding(
                ctx,
                line,
                f"container `{name}` sets readOnlyRootFilesystem: "
                + ("false" if flag is False else repr(flag)),
                suggestion=(
                    "mount emptyDir volumes where the app writes, then set "
                    "`readOnlyRootFilesystem: true`"
                ),
            )
            return
        message = f"container `{name}` has a writable root filesystem"
        if missing:
            yield self.finding(
                ctx,
                line,
                message,
                suggestion=(
                    "once the emptyDir mounts are in place (the safe fix of this rule), set "
                    "`securityContext.readOnlyRootFilesystem: true`"
                ),
            )
            return
        edits = read_only_edits(stream, container)
        yield self.finding(
            ctx,
            line,
            message,
            edits=edits or (),
            safety=FixSafety.UNSAFE,
            fix_description=f"Set readOnlyRootFilesystem: true on `{name}`",
            suggestion=None if edits else "set `securityContext.readOnlyRootFilesystem: true`",
        )
