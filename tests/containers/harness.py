"""Real image builds and containers for tests, without a Docker engine: buildah (chroot
isolation) builds, podman (runc) runs, Debian's ``docker-registry`` serves on 127.0.0.1.

- Everything lives in one temporary directory: private storage.conf (overlay),
  registries.conf and containers.conf, the registry's data, podman's tmp dir. The system's
  image storage is never used. :meth:`ContainerEnv.close` removes containers, stops the
  registry and deletes the directory; a later session also cleans up after one that died.
- ``docker.io`` is remapped to the local registry (and is the only unqualified-search
  registry), so ``FROM debian:bookworm-slim`` in a fixture Dockerfile pulls the image made
  here; nothing can reach Docker Hub. ``hub_alias=False`` turns short names off instead.
- Base images are made on this machine (busybox-static, ``debootstrap --variant=minbase``,
  python3 from Debian on top) and pushed once per session. The two slow ones are kept as OCI
  archives in a cache directory keyed by ISO week (``CONTAINER_BP_TEST_CACHE``: another
  folder, or ``off``).
- Builds use ``--layers`` (one layer per instruction, like ``docker build``; without it buildah
  squashes all steps into one layer and "delete in a later RUN" would shrink the image) and
  ``--format docker`` (the OCI format drops HEALTHCHECK and SHELL).
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from tests.registry.conftest import Registry, start_registry

# Binaries the harness runs, with the Debian package that ships each.
TOOLS: dict[str, str] = {
    "buildah": "buildah",
    "podman": "podman",
    "runc": "runc",
    "conmon": "conmon",
    "skopeo": "skopeo",
    "docker-registry": "docker-registry",
    "debootstrap": "debootstrap",
    "busybox": "busybox-static",
    "tini-static": "tini",
    "dumb-init": "dumb-init",
}
SUITE = "bookworm"
ROOT_PREFIX = "cbp-containers-"
CACHE_FORMAT = "v1"  # bump when the way base images are made changes
BLOB_INFO_CACHE = Path("/var/lib/containers")  # containers/image writes here for root, always


@dataclass(frozen=True)
class Base:
    """A base image as pushed to the local registry: repository and tags (the first is the
    reference :meth:`ContainerEnv.base` returns)."""

    repo: str
    tags: tuple[str, ...]
    cached: bool  # kept as an OCI archive in the cache directory


BASES: dict[str, Base] = {
    "busybox": Base("library/busybox", ("latest",), cached=False),
    "debian": Base("library/debian", ("bookworm-slim", "bookworm", "12-slim", "12"), cached=True),
    # python3 3.11 and pip from bookworm, tagged like the official image it stands in for.
    "python": Base("library/python", ("3.11-slim-bookworm", "3.11-slim"), cached=True),
}


class CommandError(RuntimeError):
    """A buildah/podman/skopeo command failed; the message carries its output."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        super().__init__(f"{' '.join(self.argv)} exited {returncode}:\n{output[-4000:]}")


class BuildError(CommandError):
    """``buildah bud`` failed; ``output`` is the whole build log."""


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def is_static(binary: Path) -> bool:
    """True for an ELF executable without a program interpreter (static, or static-pie)."""
    with binary.open("rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:  # 64-bit little-endian
            return False
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    pt_interp = 3
    return all(
        int.from_bytes(table[i * phentsize : i * phentsize + 4], "little") != pt_interp
        for i in range(phnum)
    )


def available() -> str | None:
    """Why real builds and containers cannot run here, or None when they can."""
    if sys.platform != "linux":
        return "real containers need Linux"
    if os.geteuid() != 0:
        return "real containers need root (the harness does not set up rootless podman)"
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    busybox = shutil.which("busybox")
    if busybox and not is_static(Path(busybox)) and "busybox-static" not in missing:
        missing.append("busybox-static")
    if missing:
        packages = " ".join(missing)
        return (
            f"missing Debian packages: {packages} (apt-get install --no-install-recommends "
            f"{packages}; bash .ci/run installs them)"
        )
    return None


def default_cache_dir() -> Path | None:
    """Where expensive base images are kept between sessions (None: not kept)."""
    configured = os.environ.get("CONTAINER_BP_TEST_CACHE", "")
    if configured.lower() in ("off", "0", "no", "false"):
        return None
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "container-bp-tests"


def cache_key(today: datetime.date | None = None) -> str:
    # A new week rebuilds from the mirror, so base images follow Debian's point releases.
    year, week, _ = (today or datetime.date.today()).isocalendar()
    return f"{CACHE_FORMAT}-{SUITE}-{platform.machine()}-{year}-W{week:02d}"


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (``CONTAINER_BP_DEBIAN_MIRROR`` overrides)."""
    if configured := os.environ.get("CONTAINER_BP_DEBIAN_MIRROR"):
        return configured
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":  # deb822 stanzas
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = dict(
                    re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.MULTILINE)
                )
                if SUITE in fields.get("Suites", "").split() and fields.get("URIs"):
                    return fields["URIs"].split()[0]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1]
    return "http://deb.debian.org/debian"


def add_host_binary(context: Path, binary: str | Path, tree: str = "hostroot") -> str:
    """Copy a host binary into ``context/tree`` under its absolute path, with the shared
    libraries ``ldd`` lists when it is dynamically linked, for ``COPY tree/ /``.
    Returns the binary's path in the image (e.g. ``/usr/bin/dumb-init``)."""
    path = Path(shutil.which(str(binary)) or binary).absolute()
    files = [path]
    if not is_static(path):
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
        files += [Path(m) for m in re.findall(r"(?:=>\s*|^\s*)(/\S+)\s+\(", out, re.MULTILINE)]
    for source in files:
        target = context / tree / source.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)  # follows symlinks: the image gets the real file
    return str(path)


def busybox_rootfs_tar() -> bytes:
    """A busybox rootfs as a tar: the static binary, a relative symlink per applet (the host's
    ``busybox --install -s`` writes absolute ones that dangle in an image), users, /tmp."""
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    buf = BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
            tar.addfile(info, BytesIO(data) if data else None)

        for d in ("bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "var"):
            add(d, tarfile.DIRTYPE, 0o700 if d == "root" else 0o755)
        add("tmp", tarfile.DIRTYPE, 0o1777)
        add("bin/busybox", tarfile.REGTYPE, 0o755, busybox.read_bytes())
        for applet in sorted(set(applets.stdout.split()) - {"busybox"}):
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
        add("etc/passwd", tarfile.REGTYPE, 0o644, passwd.encode())
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


# What debuerreotype puts in Debian's official images (slim variant): no docs in later apt
# installs, apt caches cleaned after each run.
SLIM_DPKG = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
DOCKER_APT = {
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}


def slim_rootfs(rootfs: Path) -> None:
    """Trim a debootstrap tree the way ``debian:*-slim`` is trimmed."""
    for pattern in (
        "var/cache/apt/*.bin",
        "var/cache/apt/archives/*.deb",
        "var/lib/apt/lists/*",
        "var/log/*.log",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/groff/*",
        "usr/share/lintian/*",
        "usr/share/locale/*",
    ):
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.name != "lock":
                path.unlink()
    for doc in rootfs.glob("usr/share/doc/*/*"):
        if doc.is_dir() and not doc.is_symlink():
            shutil.rmtree(doc)
        elif doc.name != "copyright":
            doc.unlink()
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(SLIM_DPKG)
    for name, text in DOCKER_APT.items():
        (rootfs / "etc/apt/apt.conf.d" / name).write_text(text)


def _path_in_root(root: Path, path: str) -> Path | None:
    """``path`` inside a mounted image at ``root``, symlinks resolved against ``root`` (an
    absolute link must not lead to the host's files); None when it does not exist."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    current: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if current:
                current.pop()
            continue
        candidate = root.joinpath(*current, part)
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        if not candidate.exists():
            return None
        current.append(part)
    return root.joinpath(*current)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return sorted({p for p in points if p.startswith(prefix)}, key=len, reverse=True)


def _environ(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DOCKER_HOST", "CONTAINER_HOST", "CONTAINER_CONNECTION")
    }
    env.update(
        CONTAINERS_STORAGE_CONF=str(root / "storage.conf"),
        CONTAINERS_REGISTRIES_CONF=str(root / "registries.conf"),
        CONTAINERS_CONF=str(root / "containers.conf"),
        REGISTRY_AUTH_FILE=str(root / "auth.json"),  # never the system's credentials
        BUILDAH_ISOLATION="chroot",
        BUILDAH_FORMAT="docker",
        TMPDIR=str(root / "tmp-files"),  # image copies go here, not /var/tmp
    )
    return env


def _pids_naming(root: Path) -> list[int]:
    """Processes whose command line names ``root``: conmon, the registry, podman's exit
    commands (``podman container cleanup``) still running after the container died."""
    needle, own = f"{root}/".encode(), os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != own:
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _teardown(root: Path) -> None:
    """Remove what a session left under ``root``: containers, the registry, mounts, files."""
    env = _environ(root)
    for argv in (["podman", "rm", "-a", "-f", "-t", "0"], ["buildah", "rm", "-a"]):
        if (root / "storage.conf").exists():
            subprocess.run(argv, env=env, capture_output=True, timeout=120)
    # The registry (only ours: its command line names root), then whatever conmon still runs:
    # a late `podman container cleanup` would recreate and mount graph/ after the rmtree.
    deadline = time.monotonic() + 15
    while (pids := _pids_naming(root)) and time.monotonic() < deadline:
        for pid in pids:
            with suppress(OSError):
                if b"docker-registry" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGTERM)
        time.sleep(0.05)
    for point in _mounts_under(root):
        subprocess.run(["umount", "-l", point], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def cleanup_stale_sessions(parent: Path | None = None) -> list[Path]:
    """Tear down session directories whose pytest process is gone (killed, not closed)."""
    removed = []
    for root in Path(parent or tempfile.gettempdir()).glob(ROOT_PREFIX + "*"):
        try:
            alive = Path(f"/proc/{int((root / 'owner.pid').read_text())}").exists()
        except (OSError, ValueError):  # no owner: half made, or remade by a late cleanup
            alive = time.time() - root.stat().st_mtime < 60
        if not alive:
            _teardown(root)
            removed.append(root)
    return removed


@dataclass(frozen=True)
class Process:
    """A process in a container's PID namespace, read from the host's /proc."""

    pid: int  # as the container sees it
    host_pid: int
    state: str  # R, S, D, Z, T, ...
    name: str  # comm
    cmdline: tuple[str, ...]  # empty for a zombie


def _read_process(host_pid: int) -> Process | None:
    try:
        stat = Path(f"/proc/{host_pid}/stat").read_text()
        status = Path(f"/proc/{host_pid}/status").read_text()
        cmdline = Path(f"/proc/{host_pid}/cmdline").read_bytes()
    except OSError:  # exited meanwhile
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    state = stat[stat.rindex(")") + 2 :].split()[0]
    nspid = re.search(r"^NSpid:\s*(.*)$", status, re.MULTILINE)
    pid = int(nspid.group(1).split()[-1]) if nspid else host_pid
    args = tuple(a.decode(errors="replace") for a in cmdline.split(b"\0")[:-1])
    return Process(pid, host_pid, state, name, args)


@dataclass
class Image:
    """A built image in the session's storage."""

    env: ContainerEnv
    ref: str  # the tag it was built with
    id: str  # config digest, hex
    log: str = ""  # build output

    def inspect(self) -> dict[str, Any]:
        out = self.env.podman("image", "inspect", self.id).stdout
        data: list[dict[str, Any]] = json.loads(out)
        return data[0]

    @property
    def size(self) -> int:
        """Uncompressed size of all layers, in bytes."""
        return int(self.inspect()["Size"])

    @property
    def digest(self) -> str:
        """Manifest digest in local storage (reproducible: builds use ``--timestamp 0``); the
        registry's digest after a push is what :meth:`ContainerEnv.push` returns."""
        return str(self.inspect()["Digest"])

    @property
    def config(self) -> dict[str, Any]:
        """The image's Docker-format config: Entrypoint, Cmd, User, Env, Healthcheck, Shell,
        StopSignal, ... (podman's inspect shows the OCI subset only)."""
        out = self.env.buildah("inspect", "--type", "image", self.id).stdout
        config: dict[str, Any] = json.loads(out)["Docker"]["config"]
        return config

    @property
    def layers(self) -> int:
        return len(self.inspect()["RootFS"]["Layers"])

    @contextmanager
    def mounted(self) -> Iterator[Path]:
        """The image's root filesystem, mounted read-only on the host for the block."""
        point = Path(self.env.podman("image", "mount", self.id).stdout.strip())
        try:
            yield point
        finally:
            self.env.podman("image", "unmount", self.id, check=False)

    def has_path(self, path: str) -> bool:
        """Whether ``path`` exists in the image (like ``test -e``: symlinks followed)."""
        with self.mounted() as root:
            return _path_in_root(root, path) is not None

    def read_bytes(self, path: str) -> bytes:
        with self.mounted() as root:
            found = _path_in_root(root, path)
            if found is None:
                raise FileNotFoundError(f"{path} not in {self.ref}")
            return found.read_bytes()


@dataclass
class Container:
    """A container made by :meth:`ContainerEnv.run` (kept until the session ends)."""

    env: ContainerEnv
    name: str

    def inspect(self) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self.env.podman("inspect", self.name).stdout)
        return data[0]

    @property
    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    @property
    def exit_code(self) -> int:
        return int(self.inspect()["State"]["ExitCode"])

    @property
    def host_pid(self) -> int:
        """PID 1's pid on the host (0 once the container has stopped)."""
        return int(self.inspect()["State"]["Pid"])

    def exec(
        self, *args: str, check: bool = True, user: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = ["exec", *(["--user", user] if user else []), self.name, *args]
        return self.env.podman(*argv, check=check, timeout=timeout)

    def pid1_cmdline(self) -> list[str]:
        """PID 1's argv, read from the host (works for images without a shell)."""
        pid = self.host_pid
        proc = _read_process(pid) if pid else None
        if proc is None:
            raise RuntimeError(f"container {self.name} is not running")
        return list(proc.cmdline)

    def processes(self) -> list[Process]:
        """Every process in the container's PID namespace (from the host's /proc, so this
        needs no ``ps`` or shell in the image)."""
        pid = self.host_pid
        if not pid:
            return []
        ns = os.readlink(f"/proc/{pid}/ns/pid")
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "ns" / "pid") != ns:
                    continue
            except OSError:
                continue
            if (proc := _read_process(int(entry.name))) is not None:
                found.append(proc)
        return sorted(found, key=lambda p: p.pid)

    def zombies(self) -> int:
        """How many processes in the container are zombies (state ``Z``)."""
        return sum(1 for p in self.processes() if p.state == "Z")

    def logs(self) -> str:
        """stdout and stderr, interleaved as written."""
        return self.env.podman("logs", self.name, merge_stderr=True).stdout

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Poll the logs until ``text`` shows up; returns them, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs()
            if text in logs:
                return logs
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{text!r} not in the logs of {self.name} after {timeout} s:\n{logs}"
                )
            time.sleep(0.05)

    def stop(self, timeout: int = 5) -> tuple[float, int]:
        """``podman stop -t timeout``: SIGTERM (or the image's STOPSIGNAL), SIGKILL after
        ``timeout`` s. Returns the seconds the stop took and the exit code."""
        start = time.monotonic()
        self.env.podman("stop", "-t", str(timeout), self.name, timeout=timeout + 60)
        return time.monotonic() - start, self.exit_code

    def wait(self, timeout: float = 60) -> int:
        """Wait for the container to exit; returns its exit code."""
        return int(self.env.podman("wait", self.name, timeout=timeout).stdout.split()[0])

    def healthcheck(self) -> int:
        """Run the image's HEALTHCHECK once (needs ``run(..., healthcheck=True)``); 0 is
        healthy."""
        return self.env.podman("healthcheck", "run", self.name, check=False).returncode

    def remove(self) -> None:
        self.env.podman("rm", "-f", "-t", "0", self.name, check=False)


@dataclass(repr=False)
class ContainerEnv:
    """One session's private container setup: storage, configs, a registry on 127.0.0.1 and
    the base images in it. Make it with :meth:`start`, end it with :meth:`close`."""

    root: Path
    registry: Registry
    cache_dir: Path | None = None  # this week's cache folder, or None
    hub_alias: bool = True
    environ: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # what setup steps took, in s
    _bases: dict[str, str] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=itertools.count)
    _had_blob_info_cache: bool = True

    @classmethod
    def start(
        cls, *, cache_dir: Path | None = None, use_cache: bool = True, hub_alias: bool = True
    ) -> ContainerEnv:
        """Set up a session; the busybox base image is pushed at once (it takes a second)."""
        started = time.monotonic()
        cleanup_stale_sessions()
        had_blob_info_cache = BLOB_INFO_CACHE.exists()
        root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
        (root / "owner.pid").write_text(str(os.getpid()))
        try:
            (root / "registry").mkdir()
            registry = start_registry(root / "registry")
            cache = (cache_dir or default_cache_dir()) if use_cache else None
            env = cls(
                root,
                registry,
                cache / cache_key() if cache else None,
                hub_alias,
                _environ(root),
                _had_blob_info_cache=had_blob_info_cache,
            )
            env._write_configs()
            env.timings["setup"] = time.monotonic() - started
            env.base("busybox")
        except BaseException:
            _teardown(root)
            raise
        return env

    def _write_configs(self) -> None:
        r, host = self.root, self.registry.host
        for d in ("tmp", "tmp-files", "net"):
            (r / d).mkdir()
        (r / "auth.json").write_text('{"auths": {}}\n')
        (r / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{r}/graph"\nrunroot = "{r}/run"\n'
        )
        search = '["docker.io"]' if self.hub_alias else "[]"
        alias = f'\n[[registry]]\nprefix = "docker.io"\nlocation = "{host}"\ninsecure = true\n'
        (r / "registries.conf").write_text(
            f'unqualified-search-registries = {search}\nshort-name-mode = "disabled"\n\n'
            f'[[registry]]\nlocation = "{host}"\ninsecure = true\n'
            + (alias if self.hub_alias else "")
        )
        # runc and cgroupfs: crun fails on hybrid cgroups, and there is no systemd to ask.
        # netns "none": no bridge or iptables rules on the host. Default ulimits above what
        # root may raise (no CAP_SYS_RESOURCE in some sandboxes) make runc fail.
        (r / "containers.conf").write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
            'netns = "none"\n\n'
            "[engine]\n"
            'runtime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
            f'tmp_dir = "{r}/tmp"\n\n'
            f'[network]\nnetwork_config_dir = "{r}/net"\n'
        )

    def close(self) -> None:
        """Remove containers and images, stop the registry, delete the session directory."""
        self.registry.stop()
        _teardown(self.root)
        if not self._had_blob_info_cache:
            # Created by this session: containers/image has no setting to put it elsewhere.
            leftovers = {p.relative_to(BLOB_INFO_CACHE) for p in BLOB_INFO_CACHE.rglob("*")}
            if leftovers <= {Path("cache"), Path("cache/blob-info-cache-v1.boltdb")}:
                shutil.rmtree(BLOB_INFO_CACHE, ignore_errors=True)

    def __repr__(self) -> str:
        return f"ContainerEnv(root={self.root}, registry={self.registry.host})"

    def __enter__(self) -> ContainerEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- raw tools ---------------------------------------------------------------------
    def command(
        self,
        *argv: str | Path,
        check: bool = True,
        timeout: float = 120,
        merge_stderr: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run a tool with this session's environment; raise CommandError if it fails."""
        args = [str(a) for a in argv]
        proc = subprocess.run(
            args,
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise CommandError(args, proc.returncode, proc.stdout + (proc.stderr or ""))
        return proc

    def podman(self, *args: str | Path, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.command("podman", *args, **kw)

    def buildah(self, *args: str | Path, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.command("buildah", *args, **kw)

    def skopeo(self, *args: str | Path, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.command("skopeo", *args, **kw)

    # ---- images ------------------------------------------------------------------------
    def ref(self, name: str) -> str:
        """``name`` (``repo:tag``) in the local registry: ``127.0.0.1:PORT/repo:tag``."""
        return f"{self.registry.host}/{name}"

    def build(
        self,
        context: Path,
        dockerfile: str | Path = "Dockerfile",
        tag: str | None = None,
        build_args: Mapping[str, str] | None = None,
        *,
        target: str | None = None,
        layers: bool = True,
        no_cache: bool = False,
        format: str = "docker",
        timeout: float = 900,
    ) -> Image:
        """``buildah bud --timestamp 0 --layers --format docker``; ``dockerfile`` is relative to
        ``context``. Raises BuildError with the build log.

        ``format="oci"`` gives the same digest for the same inputs but drops HEALTHCHECK,
        SHELL and ONBUILD (the OCI config has no such fields); the Docker format keeps them,
        but buildah 1.28 writes the build container's random id into its config."""
        tag = tag or f"localhost/cbp-test/build-{next(self._ids)}:latest"
        path = Path(dockerfile)
        iidfile = self.root / "tmp" / f"iid-{uuid.uuid4().hex}"
        argv: list[str | Path] = ["bud", "--timestamp", "0", "--format", format]
        argv += ["--iidfile", iidfile, "-f", path if path.is_absolute() else context / path]
        argv += [
            "-t",
            tag,
            *(["--layers"] if layers else []),
            *(["--no-cache"] if no_cache else []),
        ]
        for key, value in (build_args or {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        argv += [*(["--target", target] if target else []), context]
        proc = self.buildah(*argv, check=False, timeout=timeout, merge_stderr=True)
        if proc.returncode != 0:
            raise BuildError(["buildah", *map(str, argv)], proc.returncode, proc.stdout)
        image_id = iidfile.read_text().strip().removeprefix("sha256:")
        iidfile.unlink()
        return Image(self, tag, image_id, proc.stdout)

    def push(self, image: Image | str, ref: str) -> str:
        """Push to ``ref`` (a name without a registry host goes to the local registry);
        returns the manifest digest the registry stored."""
        first = ref.split("/", 1)[0]
        if "/" not in ref or not ("." in first or ":" in first or first == "localhost"):
            ref = self.ref(ref)
        source = image.id if isinstance(image, Image) else image
        digestfile = self.root / "tmp" / f"digest-{uuid.uuid4().hex}"
        self.buildah(
            "push", "--tls-verify=false", "--digestfile", digestfile, source, f"docker://{ref}"
        )
        digest = digestfile.read_text().strip()
        digestfile.unlink()
        return digest

    def base(self, name: str) -> str:
        """Reference of base image ``name`` (a key of BASES) in the local registry, e.g.
        ``127.0.0.1:PORT/library/debian:bookworm-slim``; made, or restored from the cache, on
        first use in the session."""
        if name in self._bases:
            return self._bases[name]
        spec = BASES[name]
        ref = self.ref(f"{spec.repo}:{spec.tags[0]}")
        started = time.monotonic()
        archive = self.cache_dir / f"{name}.oci.tar" if self.cache_dir and spec.cached else None
        restored = False
        if archive and archive.is_file():
            try:
                self.skopeo(
                    "copy",
                    "--dest-tls-verify=false",
                    f"oci-archive:{archive}",
                    f"docker://{ref}",
                    timeout=600,
                )
                restored = True
            except CommandError:
                archive.unlink(missing_ok=True)  # unreadable: make it again
        if not restored:
            image = {
                "busybox": self._make_busybox,
                "debian": self._make_debian,
                "python": self._make_python,
            }[name](ref)
            self.push(image, ref)
            if archive:
                self._store(ref, archive)
        for tag in spec.tags[1:]:
            self.skopeo(
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                f"docker://{ref}",
                f"docker://{self.ref(f'{spec.repo}:{tag}')}",
            )
        self.timings[f"base {name}" + (" (cached)" if restored else "")] = (
            time.monotonic() - started
        )
        self._bases[name] = ref
        return ref

    def _store(self, ref: str, archive: Path) -> None:
        """Keep a pushed image as an OCI archive, replacing last week's folder."""
        folder = archive.parent
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.parent.glob(f"v*-{SUITE}-*"):
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        partial = folder / f".{archive.name}.{os.getpid()}.partial"
        partial.unlink(missing_ok=True)
        self.skopeo(
            "copy",
            "--src-tls-verify=false",
            f"docker://{ref}",
            f"oci-archive:{partial}",
            timeout=600,
        )
        partial.replace(archive)  # atomic: a concurrent session sees all of it or nothing

    def _make_busybox(self, ref: str) -> Image:
        ctx = self.root / "ctx-busybox"
        ctx.mkdir()
        (ctx / "rootfs.tar").write_bytes(busybox_rootfs_tar())
        (ctx / "Dockerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["sh"]\n')
        image = self.build(ctx, tag=ref, layers=False)
        shutil.rmtree(ctx)
        return image

    def _make_debian(self, ref: str) -> Image:
        rootfs, ctx = self.root / "debootstrap", self.root / "ctx-debian"
        ctx.mkdir()
        argv = ["debootstrap", "--variant=minbase", SUITE, str(rootfs), debian_mirror()]
        try:
            self.command(*argv, timeout=900)
            slim_rootfs(rootfs)
            tar: list[str | Path] = [
                "tar",
                "--numeric-owner",
                "-C",
                rootfs,
                "-cf",
                ctx / "rootfs.tar",
                ".",
            ]
            self.command(*tar, timeout=300)
        finally:
            for point in _mounts_under(rootfs):  # proc/sys, if debootstrap stopped midway
                subprocess.run(["umount", "-l", point], capture_output=True)
            shutil.rmtree(rootfs, ignore_errors=True)
        (ctx / "Dockerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n')
        image = self.build(ctx, tag=ref, layers=False)
        shutil.rmtree(ctx)
        return image

    def _make_python(self, ref: str) -> Image:
        ctx = self.root / "ctx-python"
        ctx.mkdir()
        # Like the official image: pip works system-wide (no EXTERNALLY-MANAGED), `python`
        # and `pip` exist, UTF-8 locale.
        (ctx / "Dockerfile").write_text(
            f"FROM {self.base('debian')}\n"
            "RUN apt-get update \\\n"
            " && apt-get install -y --no-install-recommends python3 python3-pip \\\n"
            " && rm -rf /var/lib/apt/lists/* /usr/lib/python3.*/EXTERNALLY-MANAGED \\\n"
            " && ln -s /usr/bin/python3 /usr/local/bin/python \\\n"
            " && ln -s /usr/bin/pip3 /usr/local/bin/pip\n"
            "ENV LANG=C.UTF-8\n"
            'CMD ["python3"]\n'
        )
        image = self.build(ctx, tag=ref, layers=False)
        shutil.rmtree(ctx)
        return image

    # ---- containers --------------------------------------------------------------------
    def run(
        self,
        image: Image | str,
        *args: str,
        name: str | None = None,
        detach: bool = True,
        entrypoint: str | Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        options: Sequence[str] = (),
        healthcheck: bool = False,
        timeout: float = 120,
    ) -> Container:
        """``podman run`` (``-d`` unless ``detach=False``, which waits for the exit). ``args``
        replace the image's CMD. Containers have no network but loopback (``options=
        ["--network=host"]`` shares the host's). Healthchecks are off unless asked (podman
        schedules them with systemd timers, which are not there); run one with
        ``Container.healthcheck``."""
        name = name or f"cbp-{next(self._ids)}"
        argv: list[str] = ["run", "--name", name, *(["-d"] if detach else [])]
        if entrypoint is not None:
            argv += [
                "--entrypoint",
                entrypoint if isinstance(entrypoint, str) else json.dumps(list(entrypoint)),
            ]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        argv += [
            *(["--user", user] if user else []),
            *([] if healthcheck else ["--no-healthcheck"]),
        ]
        argv += [*options, image.id if isinstance(image, Image) else image, *args]
        proc = self.podman(*argv, check=False, timeout=timeout)
        if self.podman("container", "exists", name, check=False).returncode != 0:
            raise CommandError(["podman", *argv], proc.returncode, proc.stdout + proc.stderr)
        return Container(self, name)
