"""Sample applications whose single-stage Dockerfiles are written the way many are (shell-form
CMD, no init, the toolchain in the final image, apt lists left behind, root), and
:func:`measure`, which runs ``container-bp fix --unsafe`` on a copy of one, builds the original
and the fixed file, runs both images and measures them.

Pinning is real: ``docker.io`` requests of the resolver go to the session's registry on
127.0.0.1 (:func:`hub_served_by`), the same remapping the harness gives buildah, so the pins
carry the local registry's digests and the fixed build pulls by them. Used by
``tests/containers/test_fixed_builds.py`` and ``bench/real_builds.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

from bot.cli import main as cli_main
from fixers.engine import KINDS
from fixers.kinds import images_of
from fixers.pinning import client as registry_client
from tests.containers.harness import (
    BuildError,
    Container,
    ContainerEnv,
    Image,
)

SAMPLES_DIR = Path(__file__).parent
# What a toolchain leaves in an image; none of it belongs in a runtime image.
TOOLCHAIN = ("/usr/bin/gcc", "/usr/bin/cc", "/usr/bin/make", "/usr/bin/go")
STOP_TIMEOUT = 5  # podman stop -t: SIGTERM, then SIGKILL after this many seconds
_TCP_PROBE = "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"
_PY_PROBE = (
    "import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/').read().decode())"
)


def bash_probe(port: int) -> tuple[str, ...]:
    """An HTTP GET with bash's /dev/tcp: Debian images have bash, not curl."""
    return ("bash", "-c", _TCP_PROBE.format(port=port))


def python_probe(port: int) -> tuple[str, ...]:
    return ("python", "-c", _PY_PROBE.format(port=port))


@dataclass(frozen=True)
class Sample:
    """One folder of ``tests/containers/samples`` and what to expect of it."""

    name: str
    bases: tuple[str, ...]  # harness base images (keys of harness.BASES) it builds on
    probe: tuple[str, ...]  # run in the container; its output holds ``answer``
    answer: str
    rules: frozenset[str]  # rules `fix --unsafe` must apply (others may too)
    splits: bool  # CBP113 applies: the runtime image has no toolchain
    ready: str = "listening"  # log line once the app serves
    helper: str | None = None  # name of the orphaned helper processes it leaves to PID 1
    helpers: int = 0
    # Extra runs of the ORIGINAL image with another command: label -> argv.
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / self.name


_COMMON = frozenset({"CBP101", "CBP102", "CBP105"})
_BUILDS = _COMMON | {"CBP103", "CBP109", "CBP110", "CBP113"}
SAMPLES: tuple[Sample, ...] = (
    Sample(
        "c-server",
        ("debian",),
        bash_probe(8080),
        "hello from hellod",
        _BUILDS,
        splits=True,
    ),
    Sample(
        "python-extension",
        ("python",),
        python_probe(8000),
        "sum_squares(1000) = 332833500",
        _BUILDS,
        splits=True,
    ),
    Sample(
        "python-spawner",
        ("python",),
        python_probe(8000),
        "5 jobs run",
        _COMMON,
        splits=False,
        helper="sleep",
        helpers=5,
        # The same app started by dash (as a shell-form CMD would): dash reaps the orphans,
        # but as PID 1 it never passes SIGTERM on.
        variants=(("original via sh -c", ("sh", "-c", "python worker.py")),),
    ),
    Sample(
        "go-server",
        ("debian",),
        bash_probe(8080),
        "hello from gosrv",
        _BUILDS,
        splits=True,
    ),
)


# ---- fixing ---------------------------------------------------------------------------------


@contextmanager
def hub_served_by(host: str) -> Iterator[None]:
    """Send the resolver's Docker Hub requests to ``host`` and let it ask registries (tests and
    the CLI default to offline). The config names ``docker.io`` insecure: plain HTTP."""
    original = registry_client.api_host  # type: ignore[attr-defined]

    def api_host(name: str) -> str:
        return host if name == "docker.io" else str(original(name))

    environ = {"CONTAINER_BP_OFFLINE": "0", "DOCKER_CONFIG": "/nonexistent"}  # no credentials
    with patch.object(registry_client, "api_host", api_host), patch.dict(os.environ, environ):
        yield


@dataclass
class Fix:
    """What ``container-bp fix --unsafe`` did to a copy of a sample."""

    before: str
    after: str
    fixed: list[str]  # rule codes applied, in report order
    left: list[str]  # findings left: "CODE line N: message"
    rejected: list[str]
    exit_code: int

    @property
    def rules(self) -> list[str]:
        return sorted(set(self.fixed))


def from_images(text: str) -> list[str]:
    """The images a Dockerfile's FROM lines name, as written (stage names excluded)."""
    kind = KINDS["dockerfile"]
    return [image.raw for image in images_of(kind, kind.parse(text))]


def fix_copy(folder: Path, registry_host: str) -> Fix:
    """``container-bp fix --unsafe`` on ``folder``, in this process, pinning against the
    registry at ``registry_host`` (standing in for Docker Hub)."""
    dockerfile = folder / "Dockerfile"
    before = dockerfile.read_text()
    config = folder.parent / f"{folder.name}.container-bp.yml"  # outside the build context
    config.write_text('insecure-registries: ["docker.io"]\n')
    report = folder.parent / f"{folder.name}.report.json"
    argv = ["fix", "--unsafe", "--no-progress", "--format", "json", "-o", str(report)]
    with hub_served_by(registry_host):
        code = cli_main([*argv, "--config", str(config), str(folder)])
    data = json.loads(report.read_text())
    return Fix(
        before,
        dockerfile.read_text(),
        [f["rule"] for f in data["fixed"]],
        [f"{f['rule']} line {f['line']}: {f['message']}" for f in data["findings"]],
        list(data["rejected"]),
        code,
    )


# ---- building and running -------------------------------------------------------------------


@dataclass
class Built:
    image: Image | None
    seconds: float
    error: BuildError | None = None

    @property
    def ok(self) -> Image:
        if self.image is None:
            raise AssertionError(f"build failed: {self.error}")
        return self.image


def _build(env: ContainerEnv, context: Path) -> Built:
    started = time.monotonic()
    try:
        image = env.build(context)
    except BuildError as error:
        return Built(None, time.monotonic() - started, error)
    return Built(image, time.monotonic() - started)


@dataclass
class Run:
    """One container of an image, from start to ``podman stop``."""

    label: str
    pid1: list[str]
    answer: str  # the probe's output
    zombies: int  # after the helpers have exited
    stop_seconds: float = 0.0
    exit_code: int = -1
    logs: str = ""

    @property
    def sigterm_logged(self) -> bool:
        return "got SIGTERM" in self.logs


def _settle(container: Container, helper: str | None, timeout: float = 10) -> None:
    """Until no ``helper`` process is alive (zombies are dead): their fate is then known."""
    deadline = time.monotonic() + timeout
    while helper and any(p.name == helper and p.state != "Z" for p in container.processes()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{helper} still running in {container.name}")
        time.sleep(0.05)


def _start(
    env: ContainerEnv, image: Image, sample: Sample, label: str, args: tuple[str, ...] = ()
) -> tuple[Container, Run]:
    container = env.run(image, *args)
    container.wait_for_log(sample.ready, timeout=30)
    answer = container.exec(*sample.probe).stdout
    _settle(container, sample.helper)
    return container, Run(label, container.pid1_cmdline(), answer, container.zombies())


def _stop(container: Container, run: Run) -> Run:
    run.stop_seconds, run.exit_code = container.stop(timeout=STOP_TIMEOUT)
    run.logs = container.logs()
    container.remove()
    return run


def toolchain_in(image: Image) -> list[str]:
    return [path for path in TOOLCHAIN if image.has_path(path)]


@dataclass
class Result:
    """Everything measured for one sample."""

    sample: Sample
    fix: Fix
    original: Built
    fixed: Built
    # (FROM image, digest the local registry serves for its name:tag), one per FROM line
    pins: list[tuple[str, str]] = field(default_factory=list)
    runs: dict[str, Run] = field(default_factory=dict)  # "original", "fixed", variants
    toolchain: dict[str, list[str]] = field(default_factory=dict)  # "original"/"fixed" -> paths
    sizes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def registry_digest(env: ContainerEnv, image: str) -> str:
    """The digest the local registry serves for ``image``'s ``name:tag`` (Docker Hub names)."""
    name = image.split("@", 1)[0]
    path = name if "/" in name.split(":", 1)[0] else f"library/{name}"
    out = env.skopeo(
        "inspect", "--tls-verify=false", "--format", "{{.Digest}}", f"docker://{env.ref(path)}"
    )
    return out.stdout.strip()


def measure(env: ContainerEnv, sample: Sample, workdir: Path) -> Result:
    """Fix a copy of ``sample``, build both files side by side, run and stop both images."""
    started = time.monotonic()
    for base in sample.bases:
        env.base(base)
    original_dir, fixed_dir = workdir / "original", workdir / "fixed"
    shutil.copytree(sample.path, original_dir)
    shutil.copytree(sample.path, fixed_dir)
    fix = fix_copy(fixed_dir, env.registry.host)
    result = Result(sample, fix, Built(None, 0), Built(None, 0))
    result.pins = [(image, registry_digest(env, image)) for image in from_images(fix.after)]
    with ThreadPoolExecutor(2) as pool:  # two cores: the builds mostly wait on apt
        original, fixed = pool.map(lambda d: _build(env, d), (original_dir, fixed_dir))
    result.original, result.fixed = original, fixed
    images = {"original": original.image, "fixed": fixed.image}
    for label, image in images.items():
        if image is not None:
            result.sizes[label] = image.size
            result.toolchain[label] = toolchain_in(image)
    # podman commits its state with fsync: with the builds' hundreds of MB still unwritten,
    # a `podman stop` waits on the disk (1.5 s instead of 0.15 s), which is not PID 1's doing.
    os.sync()
    starts: list[tuple[str, Image, tuple[str, ...]]] = [
        (label, image, ()) for label, image in images.items() if image is not None
    ]
    if original.image is not None:
        starts += [(label, original.image, args) for label, args in sample.variants]
    with ThreadPoolExecutor(len(starts) or 1) as pool:
        started_runs = list(pool.map(lambda s: _start(env, s[1], sample, s[0], s[2]), starts))
        # The fixed image first, on its own; then the others together, so that their
        # timeouts overlap.
        fast = [cr for cr in started_runs if cr[1].label == "fixed"]
        slow = [cr for cr in started_runs if cr[1].label != "fixed"]
        stopped = [_stop(*cr) for cr in fast] + list(pool.map(lambda cr: _stop(*cr), slow))
        result.runs = {run.label: run for run in stopped}
    result.seconds = time.monotonic() - started
    return result


def unavailable_bases(env: ContainerEnv, dockerfile: Path) -> list[str]:
    """The base images of ``dockerfile`` the session's registry does not have (each once)."""
    kind = KINDS["dockerfile"]
    missing: list[str] = []
    for image in images_of(kind, kind.parse(dockerfile.read_text())):
        repo = image.path if "/" in image.path else f"library/{image.path}"
        ref = env.ref(f"{repo}:{image.tag or 'latest'}")
        found = env.skopeo("inspect", "--tls-verify=false", f"docker://{ref}", check=False)
        if (image.registry is not None or found.returncode != 0) and image.raw not in missing:
            missing.append(image.raw)
    return missing


# ---- reporting ------------------------------------------------------------------------------


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def rows(result: Result) -> list[tuple[str, str, str]]:
    """(what, original, fixed) lines of a sample's table; variants are reported by
    :func:`variant_rows`."""
    runs, sizes, tools = result.runs, result.sizes, result.toolchain

    def run_cell(label: str, show: str) -> str:
        run = runs.get(label)
        if run is None:
            return "-"
        return {
            "pid1": " ".join(run.pid1),
            "answers": "yes" if result.sample.answer in run.answer else "NO",
            "stop": f"{run.stop_seconds:.2f} s",
            "exit": str(run.exit_code),
            "sigterm": "yes" if run.sigterm_logged else "no",
            "zombies": str(run.zombies),
        }[show]

    def pair(show: str) -> tuple[str, str]:
        return run_cell("original", show), run_cell("fixed", show)

    def tool_cell(label: str) -> str:
        return (", ".join(tools[label]) or "none") if label in tools else "-"

    def size_cell(label: str) -> str:
        return megabytes(sizes[label]) if label in sizes else "-"

    def built(label: str) -> str:
        return "yes" if sizes.get(label) else "FAILED"

    return [
        ("builds", built("original"), built("fixed")),
        ("build time", f"{result.original.seconds:.0f} s", f"{result.fixed.seconds:.0f} s"),
        ("image size", size_cell("original"), size_cell("fixed")),
        ("toolchain in image", tool_cell("original"), tool_cell("fixed")),
        ("PID 1", *pair("pid1")),
        ("answers on its port", *pair("answers")),
        (f"podman stop -t {STOP_TIMEOUT}", *pair("stop")),
        ("exit code", *pair("exit")),
        ("app logged SIGTERM", *pair("sigterm")),
        ("zombies", *pair("zombies")),
    ]


def variant_rows(result: Result) -> list[tuple[str, str]]:
    out = []
    for label, _ in result.sample.variants:
        run = result.runs.get(label)
        if run is not None:
            out.append(
                (
                    label,
                    f"PID 1 {' '.join(run.pid1)}; stop {run.stop_seconds:.2f} s, exit "
                    f"{run.exit_code}, SIGTERM logged: {'yes' if run.sigterm_logged else 'no'}"
                    f", zombies {run.zombies}",
                )
            )
    return out
