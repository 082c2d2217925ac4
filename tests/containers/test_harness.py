"""Smoke tests of the real-container harness, and the PID-1 facts the fixers rely on, measured
on real containers: how long ``podman stop -t 5`` takes with and without an init, and who
reaps orphaned children. Timings are printed (``pytest -s`` shows them)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.containers.harness import (
    BuildError,
    Container,
    ContainerEnv,
    Image,
    add_host_binary,
    available,
    running_in_ci,
)

pytestmark = [pytest.mark.containers, pytest.mark.slow]

# Five orphans: each ( ... &) subshell exits at once, so its sleep is reparented to PID 1,
# which must reap it when it exits a second later. `exec` then makes PID 1 (without an init)
# a plain `sleep`, which never calls wait().
SPAWNER = "for i in 1 2 3 4 5; do (sleep 1 &); done; exec sleep 60"
INITS = {
    # tini-static: busybox has no libc. Exits 128+signal when its child is killed.
    "tini": ["/usr/bin/tini-static", "--"],
    # Debian's dumb-init is dynamic: add_host_binary copies libc and the loader along.
    "dumb-init": ["/usr/bin/dumb-init", "--"],
}


def _build(env: ContainerEnv, ctx: Path, dockerfile: str) -> Image:
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    return env.build(ctx)


def _init_image(env: ContainerEnv, ctx: Path, init: str, cmd: str) -> Image:
    ctx.mkdir(parents=True)
    add_host_binary(ctx, INITS[init][0])
    entrypoint = ", ".join(f'"{a}"' for a in INITS[init])
    return _build(
        env,
        ctx,
        f"FROM {env.base('busybox')}\nCOPY hostroot/ /\nENTRYPOINT [{entrypoint}]\nCMD {cmd}\n",
    )


def _wait_for_sleep(container: Container, timeout: float = 5) -> None:
    """Until `sleep 60` runs: the shell has exec'd, the init has started its child."""
    deadline = time.monotonic() + timeout
    while not any(p.cmdline == ("sleep", "60") for p in container.processes()):
        assert time.monotonic() < deadline, container.processes()
        time.sleep(0.02)


def test_available_in_ci() -> None:
    if not running_in_ci():
        pytest.skip("only CI promises the Debian packages")
    assert available() is None


def test_available_names_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = available()
    assert reason is not None
    assert "root" in reason or ("buildah" in reason and "podman" in reason)


def test_busybox_base_image(containers: ContainerEnv, tmp_path: Path) -> None:
    links = "ln -s /usr/bin/buildah /host-only && ln -s /etc/passwd /pw"
    dockerfile = f"FROM {containers.base('busybox')}\nRUN {links}\nUSER nobody\n"
    image = _build(containers, tmp_path, dockerfile)
    assert image.has_path("/bin/sh")
    assert image.has_path("/bin/ls")  # an applet: a relative symlink to busybox
    assert not image.has_path("/usr/bin/gcc")
    assert image.has_path("/pw")
    assert not image.has_path("/host-only")  # absolute links resolve inside the image
    assert b"nobody" in image.read_bytes("/etc/passwd")
    assert image.config["User"] == "nobody"
    done = containers.run(image, "sh", "-c", "id -u; echo hello", detach=False)
    assert done.exit_code == 0
    assert done.logs().split() == ["65534", "hello"]
    server = containers.run(image, "sh", "-c", "echo starting; sleep 0.3; echo ready; sleep 60")
    assert server.wait_for_log("ready", timeout=10).split() == ["starting", "ready"]
    assert server.exec("id", "-un").stdout.strip() == "nobody"
    assert server.exec("cat", "/proc/1/cmdline").stdout == "sleep\x0060\x00"  # ash exec'd
    server.remove()


def test_stop_time_depends_on_pid1(containers: ContainerEnv, tmp_path: Path) -> None:
    busybox = containers.base("busybox")
    started = time.monotonic()
    images = {
        "shell form": _build(containers, tmp_path / "shell", f"FROM {busybox}\nCMD sleep 60\n"),
        "exec form": _build(
            containers, tmp_path / "exec", f'FROM {busybox}\nCMD ["sleep", "60"]\n'
        ),
        **{
            f"exec form + {init}": _init_image(containers, tmp_path / init, init, '["sleep", "60"]')
            for init in INITS
        },
    }
    built = time.monotonic() - started
    running = {label: containers.run(image) for label, image in images.items()}
    for container in running.values():
        _wait_for_sleep(container)
    pid1 = {label: c.pid1_cmdline() for label, c in running.items()}
    for label, argv in pid1.items():
        print(f"{label}: PID 1 is {argv}")
    # busybox's sh execs the last command of `sh -c`, so the shell form's PID 1 is `sleep`
    # itself (Debian's dash keeps `/bin/sh -c` as PID 1: see test_debian_and_python_bases).
    # Either way PID 1 has no SIGTERM handler, and the kernel drops SIGTERM for a namespace's
    # init unless it installed one: only SIGKILL, after the timeout, ends it.
    assert pid1["shell form"] in (["/bin/sh", "-c", "sleep 60"], ["sleep", "60"])
    assert pid1["exec form"] == ["sleep", "60"]
    for init, argv in INITS.items():
        assert pid1[f"exec form + {init}"] == [*argv, "sleep", "60"]

    with ThreadPoolExecutor(len(running)) as pool:  # the two slow stops overlap
        stops = dict(
            zip(running, pool.map(lambda c: c.stop(timeout=5), running.values()), strict=True)
        )
    print(f"4 images built in {built:.1f} s; podman stop -t 5:")
    for label, (seconds, code) in stops.items():
        print(f"  {label:22} {seconds:5.2f} s  exit {code}")
    for label in ("shell form", "exec form"):
        seconds, code = stops[label]
        assert 4.5 < seconds < 15 and code == 137  # SIGKILL
    for init in INITS:
        seconds, code = stops[f"exec form + {init}"]
        assert seconds < 1 and code == 143  # the child died of the forwarded SIGTERM


def _wait_for_zombies(container: Container, count: int, timeout: float = 10) -> float:
    start = time.monotonic()
    while container.zombies() < count:
        assert time.monotonic() - start < timeout, container.processes()
        time.sleep(0.05)
    return time.monotonic() - start


def test_zombies_reaped_only_under_an_init(containers: ContainerEnv, tmp_path: Path) -> None:
    cmd = f'["sh", "-c", "{SPAWNER}"]'
    bare = _build(containers, tmp_path / "bare", f"FROM {containers.base('busybox')}\nCMD {cmd}\n")
    plain = containers.run(bare)
    inits = {
        init: containers.run(_init_image(containers, tmp_path / init, init, cmd)) for init in INITS
    }
    waited = _wait_for_zombies(plain, 5)
    print(f"no init: 5 zombies after {waited:.2f} s: {plain.processes()}")
    assert plain.pid1_cmdline() == ["sleep", "60"]
    for init, container in inits.items():
        deadline = time.monotonic() + 5
        while len(names := [p.name for p in container.processes()]) > 2:  # orphans still run
            assert time.monotonic() < deadline, container.processes()
            time.sleep(0.05)
        print(f"{init}: {container.zombies()} zombies, processes {names}")
        assert container.zombies() == 0
        assert names == [Path(INITS[init][0]).name, "sleep"]  # the orphans exited, reaped
    for container in (plain, *inits.values()):
        container.remove()


def test_image_size_follows_layers(containers: ContainerEnv, tmp_path: Path) -> None:
    base = containers.base("busybox")
    make = "dd if=/dev/zero of=/blob bs=1M count=5"
    split = _build(containers, tmp_path / "split", f"FROM {base}\nRUN {make}\nRUN rm /blob\n")
    same = _build(containers, tmp_path / "same", f"FROM {base}\nRUN {make} && rm /blob\n")
    print(f"delete in a later layer: {split.size} B, same layer: {same.size} B")
    assert split.size - same.size >= 5 * 2**20
    assert split.layers == same.layers + 1
    assert not split.has_path("/blob")


def test_formats_reproducibility_and_healthcheck(containers: ContainerEnv, tmp_path: Path) -> None:
    dockerfile = f"FROM {containers.base('busybox')}\nRUN echo hi > /hi\nHEALTHCHECK CMD true\n"
    (tmp_path / "Dockerfile").write_text(dockerfile)
    oci = [containers.build(tmp_path, format="oci", no_cache=True) for _ in range(2)]
    assert oci[0].digest == oci[1].digest  # --timestamp 0: same inputs, same digest
    assert "Healthcheck" not in oci[0].config  # dropped, with a warning in the log
    assert "HEALTHCHECK is not supported for OCI image format" in oci[0].log
    docker = [containers.build(tmp_path, no_cache=True) for _ in range(2)]
    assert docker[0].config["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert docker[0].digest != docker[1].digest  # the config names the build container
    checked = containers.run(docker[0], "sleep", "60", healthcheck=True)
    assert checked.healthcheck() == 0
    checked.remove()


def test_build_failure_carries_the_log(containers: ContainerEnv, tmp_path: Path) -> None:
    base = containers.base("busybox")
    with pytest.raises(BuildError) as failed:
        _build(containers, tmp_path, f"FROM {base}\nRUN echo marker-5d1c && exit 3\n")
    assert "marker-5d1c" in failed.value.output
    assert failed.value.returncode != 0


def test_push_and_short_names(containers: ContainerEnv, tmp_path: Path) -> None:
    image = _build(containers, tmp_path / "app", f"FROM {containers.base('busybox')}\nENV A=1\n")
    digest = containers.push(image, "smoke/app:1.0")
    assert digest.startswith("sha256:")
    pinned = containers.ref(f"smoke/app:1.0@{digest}")
    child = _build(containers, tmp_path / "child", f"FROM {pinned}\nENV B=2\n")
    assert {"A=1", "B=2"} <= set(child.config["Env"])
    # Short names go to docker.io, which is the local registry here.
    short = _build(containers, tmp_path / "short", 'FROM busybox:latest\nCMD ["true"]\n')
    assert short.has_path("/bin/busybox")
    with pytest.raises(BuildError) as wrong:
        _build(containers, tmp_path / "bad", f"FROM {pinned[:-4]}0000\n")
    assert "manifest unknown" in wrong.value.output


def test_debian_and_python_bases(containers: ContainerEnv, tmp_path: Path) -> None:
    """The slow base images: debootstrap (35 to 50 s) and python3 + pip by apt (about 15 s)
    in the first session of a week; restored from the cache in under a second later."""
    containers.base("debian")  # short names work once the base image is in the registry
    containers.base("python")
    image = _build(containers, tmp_path / "debian", "FROM debian:bookworm-slim\nCMD sleep 60\n")
    print(f"base image timings: {containers.timings}")
    assert image.has_path("/usr/bin/apt-get")
    assert image.has_path("/bin/sh")  # /bin is a symlink to usr/bin (merged /usr)
    assert not image.has_path("/usr/bin/gcc")
    assert image.size < 100 * 2**20
    shell = containers.run(image)
    assert shell.pid1_cmdline() == ["/bin/sh", "-c", "sleep 60"]  # dash does not exec
    shell.remove()

    python = containers.run(
        "python:3.11-slim", "python", "-c", "import sys; print(sys.version_info[:2])", detach=False
    )
    assert (python.exit_code, python.logs().strip()) == (0, "(3, 11)")
