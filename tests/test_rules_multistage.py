"""CBP113 single-stage-build: toolchain detection, lean image mapping, the split, what is left
as a hint, and how the split works together with every other rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from fixers.dockerfile.commands import tokenize
from fixers.dockerfile.multistage import Blocked, Split, analyse, runtime_images
from fixers.dockerfile.parser import Instruction, parse
from fixers.dockerfile.toolchains import (
    classify,
    distro_runtime,
    dotnet_runtime,
    java_runtime,
    node_runtime,
    python_runtime,
    static_runtime,
)
from fixers.engine import Selection, fix_text, scan_text
from fixers.facts import Facts
from fixers.images import parse_image
from fixers.model import FixSafety, Severity
from fixers.pinning.model import Resolution
from fixers.registry import find_rule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "single-stage-build"
CASES = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
ONLY = Selection(only=frozenset({"CBP113"}))
DIGEST = "sha256:" + "a" * 64


def _fix(text: str, selection: Selection = ONLY) -> str:
    outcome = fix_text("Dockerfile", "dockerfile", text, selection, unsafe=True)
    assert outcome.rejected == []
    return outcome.text


def _hint(text: str) -> str:
    findings = scan_text("Dockerfile", "dockerfile", text, ONLY)
    assert len(findings) == 1, findings
    assert findings[0].fix is None
    assert findings[0].suggestion is not None
    return findings[0].suggestion


# --- Lean image mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "runtime"),
    [
        ("golang:1.22-bookworm", "debian:bookworm-slim"),
        ("golang:1.22.3-bullseye", "debian:bullseye-slim"),
        ("golang:1.22-alpine3.20", "alpine:3.20"),
        ("docker.io/library/golang:1.22-bookworm", "docker.io/library/debian:bookworm-slim"),
        ("rust:1.77-slim-bookworm", "debian:bookworm-slim"),
        ("gcc:14-bookworm", "debian:bookworm-slim"),
        ("buildpack-deps:jammy", "ubuntu:jammy"),
        ("debian:bookworm", "debian:bookworm-slim"),
        ("debian:12", "debian:12-slim"),
        ("debian:12.5", "debian:12.5-slim"),
        ("debian:bookworm-slim", "debian:bookworm-slim"),
        ("ubuntu:22.04", "ubuntu:22.04"),
        ("alpine:3.20", "alpine:3.20"),
        ("golang:1.22", None),  # the Debian release behind it changes over time
        ("golang:1.22-alpine", None),  # which Alpine release is not said
        ("debian:latest", None),
        ("debian:sid", None),
        ("ghcr.io/acme/golang:1.22-bookworm", None),
    ],
)
def test_distro_runtime(base: str, runtime: str | None) -> None:
    ref = parse_image(base)
    assert ref is not None
    assert distro_runtime(ref) == runtime


@pytest.mark.parametrize(
    ("function", "base", "runtime"),
    [
        (python_runtime, "python:3.12", "python:3.12-slim"),
        (python_runtime, "python:3.12-bookworm", "python:3.12-slim-bookworm"),
        (python_runtime, "python:3.12.4-bookworm", "python:3.12.4-slim-bookworm"),
        (python_runtime, "python:3.13.0rc1", "python:3.13.0rc1-slim"),
        (python_runtime, "python:3.12-slim", "python:3.12-slim"),
        (python_runtime, "python:3.12-alpine3.20", "python:3.12-alpine3.20"),
        (python_runtime, "python", None),
        (python_runtime, "python:latest", None),
        (python_runtime, "python:3.12-windowsservercore", None),
        (node_runtime, "node:20", "node:20-slim"),
        (node_runtime, "node:20-bookworm", "node:20-bookworm-slim"),
        (node_runtime, "node:iron", "node:iron-slim"),
        (node_runtime, "node:20-alpine", "node:20-alpine"),
        (node_runtime, "node:20-bookworm-slim", "node:20-bookworm-slim"),
        (node_runtime, "node", None),
        (java_runtime, "maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre"),
        (java_runtime, "maven:3.9.6-eclipse-temurin-17-alpine", "eclipse-temurin:17-jre-alpine"),
        (java_runtime, "gradle:8.7-jdk21", "eclipse-temurin:21-jre"),
        (java_runtime, "gradle:8-jdk17-jammy", "eclipse-temurin:17-jre-jammy"),
        (java_runtime, "eclipse-temurin:21-jdk-noble", "eclipse-temurin:21-jre-noble"),
        (java_runtime, "eclipse-temurin:21", "eclipse-temurin:21-jre"),
        (java_runtime, "maven:3.9", None),  # which JDK is not said
        (java_runtime, "maven:3.9-amazoncorretto-21", None),
        (java_runtime, "openjdk:17", None),
        (dotnet_runtime, "mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/aspnet:8.0"),
        (
            dotnet_runtime,
            "mcr.microsoft.com/dotnet/sdk:8.0.404-alpine3.20",
            "mcr.microsoft.com/dotnet/aspnet:8.0-alpine3.20",
        ),
        (
            dotnet_runtime,
            "mcr.microsoft.com/dotnet/sdk:9.0-bookworm-slim",
            "mcr.microsoft.com/dotnet/aspnet:9.0-bookworm-slim",
        ),
        (dotnet_runtime, "mcr.microsoft.com/dotnet/sdk:latest", None),
    ],
)
def test_runtime_images(function: object, base: str, runtime: str | None) -> None:
    ref = parse_image(base)
    assert ref is not None and callable(function)
    assert function(ref) == runtime


def test_static_runtime_follows_the_debian_release() -> None:
    bookworm, trixie = parse_image("golang:1.22-bookworm"), parse_image("golang:1.25-trixie")
    assert bookworm is not None and trixie is not None
    assert static_runtime(bookworm) == "gcr.io/distroless/static-debian12:nonroot"
    assert static_runtime(trixie) == "gcr.io/distroless/static-debian13:nonroot"


# --- Build commands -----------------------------------------------------------------------------


def _classify(shell: str, env: dict[str, str] | None = None) -> tuple[object, ...]:
    (command,) = tokenize(shell, range(len(shell)))
    build = classify(command, env or {})
    assert build is not None
    output = (build.output.path, build.output.shape) if build.output else None
    return build.ecosystem, build.builds, output, build.static, build.problem is not None


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("go build -o /out/app ./cmd/app", ("go", True, ("/out/app", "file"), False, False)),
        ("CGO_ENABLED=0 go build -o=bin/app .", ("go", True, ("bin/app", "file"), True, False)),
        ("go build ./...", ("go", True, None, False, True)),
        ("go mod download", ("go", False, None, False, False)),
        ("go install ./cmd/app", ("go", True, None, False, True)),
        ("cargo build --release", ("rust", True, ("target/release", "tree"), False, False)),
        (
            "cargo build -r --target x86_64-unknown-linux-musl",
            ("rust", True, ("target/x86_64-unknown-linux-musl/release", "tree"), True, False),
        ),
        ("cargo build", ("rust", True, ("target/debug", "tree"), False, False)),
        ("cargo install --path .", ("rust", True, None, False, True)),
        ("npm ci", ("node", True, (".", "dir"), False, False)),
        ("npm run build", ("node", True, (".", "dir"), False, False)),
        ("npm run lint", ("node", False, (".", "dir"), False, False)),
        ("npm install -g pnpm", ("node", True, None, False, True)),
        ("yarn install --frozen-lockfile", ("node", True, None, False, True)),
        ("pip install -r requirements.txt", ("python", True, None, False, False)),
        ("python3 -m pip install .", ("python", True, None, False, False)),
        ("pip install --upgrade pip setuptools", ("python", False, None, False, False)),
        ("pip install --user -r requirements.txt", ("python", True, None, False, True)),
        ("pip install -e .", ("python", True, None, False, True)),
        ("poetry install --no-root", ("python", True, None, False, True)),
        ("mvn -B package -DskipTests", ("java", True, ("target", "tree"), False, False)),
        ("mvn -B dependency:go-offline", ("java", False, None, False, False)),
        ("./gradlew bootJar", ("java", True, ("build", "tree"), False, False)),
        ("dotnet publish -c Release -o /app", ("dotnet", True, ("/app", "dir"), False, False)),
        ("dotnet publish -c Release", ("dotnet", True, None, False, True)),
        ("dotnet restore", ("dotnet", False, None, False, False)),
        ("gcc -O2 -o hello hello.c", ("native", True, ("hello", "file"), False, False)),
        ("gcc -static -o hello hello.c -lm", ("native", True, ("hello", "file"), True, False)),
        ("gcc -o hello hello.c -lssl", ("native", True, None, False, True)),
        ("make", ("native", True, (".", "tree"), False, False)),
        ("make install", ("native", True, None, False, True)),
    ],
)
def test_classify(shell: str, expected: tuple[object, ...]) -> None:
    assert _classify(shell) == expected


def test_cgo_from_env() -> None:
    assert _classify("go build -o /app .", {"CGO_ENABLED": "0"})[3] is True


# --- The split ----------------------------------------------------------------------------------


def test_rule_doc() -> None:
    rule = find_rule("single-stage-build")
    assert rule is not None
    doc = rule.doc
    assert (doc.code, doc.kind, doc.fix) == ("CBP113", "dockerfile", FixSafety.UNSAFE)
    assert "https://docs.docker.com/build/building/multi-stage/" in doc.references
    assert doc.after is not None
    assert _fix(doc.before) == doc.after


def test_finding_on_the_from_line() -> None:
    text = "# syntax=docker/dockerfile:1\n" + (FIXTURES / "fail-c-gcc" / "input").read_text()
    (finding,) = scan_text("Dockerfile", "dockerfile", text, ONLY)
    assert (finding.line, finding.rule, finding.severity) == (2, "CBP113", Severity.WARNING)
    assert finding.fix is not None and finding.fix.safety == FixSafety.UNSAFE
    assert "debian:bookworm-slim" in finding.fix.description


def test_digest_pinned_base_keeps_its_pin_and_the_runtime_is_tag_only() -> None:
    text = (
        f"FROM golang:1.22-bookworm@{DIGEST}\nWORKDIR /src\nCOPY . .\n"
        'RUN go build -o /out/app .\nCMD ["/out/app"]\n'
    )
    fixed = _fix(text)
    assert f"FROM golang:1.22-bookworm@{DIGEST} AS build\n" in fixed
    assert "\nFROM debian:bookworm-slim\n" in fixed


def test_runtime_pinned_by_cbp101_in_the_same_run() -> None:
    """With the registry's answers for both images, one `fix` run splits and pins both."""
    text = "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY . .\n" + (
        'RUN go build -o /out/app .\nUSER 65532\nCMD ["/out/app"]\n'
    )
    other = "sha256:" + "b" * 64
    resolutions = {
        key: Resolution(key=key, digest=digest, tag=key.rsplit(":", 1)[1])
        for key, digest in (
            ("docker.io/library/golang:1.22-bookworm", DIGEST),
            ("docker.io/library/debian:bookworm-slim", other),
        )
    }
    selection = Selection(facts=Facts(resolutions=resolutions, resolved=True))
    fixed = _fix(text, selection)
    assert f"FROM golang:1.22-bookworm@{DIGEST} AS build\n" in fixed
    assert f"\nFROM debian:bookworm-slim@{other}\n" in fixed
    again = fix_text("Dockerfile", "dockerfile", fixed, selection, unsafe=True)
    assert again.text == fixed and again.applied == []


def test_same_image_keeps_the_digest() -> None:
    fixed = (FIXTURES / "fail-python-alpine-venv" / "expected").read_text()
    base = fixed.splitlines()[0].removesuffix(" AS build")
    assert "@sha256:" in base
    assert f"\n{base}\n" in fixed  # the runtime stage starts from the very same image


def test_crlf_and_no_final_newline_survive() -> None:
    crlf = (FIXTURES / "fail-dotnet-publish" / "expected").read_bytes()
    assert crlf.count(b"\n") == crlf.count(b"\r\n")
    last = (FIXTURES / "fail-named-stage-no-final-newline" / "expected").read_bytes()
    assert not last.endswith(b"\n")


def test_lowercase_keywords_follow_the_file() -> None:
    text = "from golang:1.22-bookworm\nworkdir /src\ncopy . .\nrun go build -o /app .\n"
    fixed = _fix(text + 'cmd ["/app"]\n')
    assert "from golang:1.22-bookworm as build\n" in fixed
    assert "\nfrom debian:bookworm-slim\nworkdir /src\ncopy --from=build /app /app\n" in fixed


def test_npm_prune_options() -> None:
    base = 'WORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD ["node", "index.js"]\n'
    assert "npm run build && npm prune --production\n" in _fix("FROM node:14\n" + base)
    assert "npm run build && npm prune --omit=dev\n" in _fix("FROM node:20\n" + base)
    # The last npm command already dropped the dev dependencies.
    pruned = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm run build && npm ci --omit=dev\n"
    fixed = _fix(pruned + 'CMD ["node", "index.js"]\n')
    assert "prune" not in fixed and "\nFROM node:20-slim\n" in fixed


def test_npm_prune_on_its_own_line_when_it_cannot_be_chained() -> None:
    text = (
        "FROM node:20\nWORKDIR /app\nCOPY . .\n"
        "RUN npm ci && npm run build || npm run build:legacy\n"
        'CMD ["node", "index.js"]\n'
    )
    fixed = _fix(text)
    assert "build:legacy\nRUN npm prune --omit=dev\n\nFROM node:20-slim\n" in fixed


def test_static_binary_with_a_shell_command_falls_back_to_the_distribution() -> None:
    text = (
        "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /out/app .\nCMD /out/app --serve\n"
    )
    assert "\nFROM debian:bookworm-slim\n" in _fix(text)
    no_release = text.replace("1.22-bookworm", "1.22")
    assert "distroless has no shell" in _hint(no_release)


def test_entrypoint_script_needs_a_shell() -> None:
    text = (
        "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /out/app .\nCOPY entrypoint.sh /\n"
        'ENTRYPOINT ["/entrypoint.sh"]\n'
    )
    assert "\nFROM debian:bookworm-slim\n" in _fix(text)


def test_earlier_runtime_files_are_repeated() -> None:
    text = (
        "FROM golang:1.22-bookworm\nCOPY config.yaml /etc/app/config.yaml\nWORKDIR /src\n"
        'COPY . .\nRUN go build -o /out/app .\nCMD ["/out/app"]\n'
    )
    fixed = _fix(text)
    runtime = fixed.split("\nFROM debian:bookworm-slim\n", 1)[1]
    assert runtime.startswith("COPY config.yaml /etc/app/config.yaml\nWORKDIR /src\n")
    assert "COPY . ." not in runtime


def test_python_creates_the_venv_before_the_first_pip() -> None:
    fixed = (FIXTURES / "fail-python-build-essential" / "expected").read_text()
    build, runtime = fixed.split("\nFROM python:3.12-slim-bookworm\n")
    assert build.index("RUN python -m venv $VIRTUAL_ENV") < build.index("RUN pip install")
    assert "COPY --from=build /opt/venv /opt/venv\n" in runtime
    assert 'ENV PATH="$VIRTUAL_ENV/bin:$PATH"' in runtime


def test_split_is_not_flagged_again() -> None:
    for case in CASES:
        expected = case / "expected"
        if expected.exists():
            text = expected.read_text()
            assert len(parse(text).stages) == 2, case.name
            assert analyse(parse(text)) is None, case.name


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "FROM python:3.12\nCOPY . .\nRUN pip install --user -r requirements.txt\n"
            'CMD ["python", "app.py"]\n',
            "`pip --user` installs into the user's home",
        ),
        (
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN yarn install && yarn build\n"
            'CMD ["node", "index.js"]\n',
            "`yarn` keeps dev dependencies",
        ),
        (
            "FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . .\nRUN dotnet publish -c Release\n"
            'ENTRYPOINT ["dotnet", "app.dll"]\n',
            "without `-o`",
        ),
        (
            "FROM --platform=$BUILDPLATFORM golang:1.22-bookworm\nCOPY . /src\n"
            'RUN cd /src && go build -o /app .\nCMD ["/app"]\n',
            "`--platform`",
        ),
        (
            "FROM python:2.7\nRUN apt-get install -y gcc\nWORKDIR /app\nCOPY . .\n"
            'RUN pip install -r req.txt\nCMD ["python", "app.py"]\n',
            "Python 2 has no venv",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r req.txt "
            '&& python -m venv /venv && /venv/bin/pip install .\nCMD ["python", "app.py"]\n',
            "installs packages before the virtual environment exists",
        ),
        (
            "FROM gcc:14-bookworm\nWORKDIR /src\nCOPY . .\nRUN make && make install\n"
            'CMD ["hello"]\n',
            "`make install`",
        ),
        (
            "FROM rust:1.77-bookworm\nWORKDIR /src\nCOPY . .\nRUN cargo build --release\n"
            'CMD ["/usr/local/bin/hello"]\n',
            "comes out of `/src/target/release`",
        ),
        (
            "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
            'RUN curl -fsSL https://example.com/tool -o /usr/local/bin/tool\nCMD ["/app"]\n',
            "runs `curl` after the build",
        ),
        (
            "FROM golang:1.22-bookworm\nRUN mkdir -p /var/log/app\nWORKDIR /src\nCOPY . .\n"
            'RUN go build -o /app . && mkdir -p /var/cache/app\nCMD ["/app"]\n',
            "prepares `/var/cache/app`",
        ),
        (
            "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
            'CMD ["go", "run", "."]\n',
            "starts `go`, which needs the toolchain at run time",
        ),
    ],
)
def test_blocked_with_a_reason(text: str, reason: str) -> None:
    hint = _hint(text)
    assert hint.startswith("not split automatically: ")
    assert reason in hint


def test_hint_names_the_lean_image_when_it_knows_one() -> None:
    hint = _hint((FIXTURES / "fail-report-onbuild" / "input").read_text())
    assert "`FROM golang:1.22-bookworm AS build`" in hint
    assert "`FROM debian:bookworm-slim`" in hint


@pytest.mark.parametrize(
    "text",
    [
        # No start command: a toolchain image, built to be built on.
        "FROM golang:1.22-bookworm\nCOPY . /src\nRUN cd /src && go build -o /usr/local/bin/x .\n",
        # Nothing of its own copied in: it builds software it downloads.
        'FROM debian:bookworm\nRUN apt-get install -y gcc && gcc -o /x /x.c\nCMD ["/x"]\n',
        # Slim Python without a compiler.
        'FROM python:3.12-slim\nCOPY . /app\nRUN pip install /app\nCMD ["python", "-m", "app"]\n',
        # Windows.
        "FROM mcr.microsoft.com/dotnet/sdk:8.0-nanoserver-ltsc2022\nCOPY . .\n"
        'RUN dotnet publish -o out\nENTRYPOINT ["dotnet", "out/app.dll"]\n',
        # Already multi-stage.
        "FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /x .\n"
        'FROM scratch\nCOPY --from=build /x /x\nCMD ["/x"]\n',
    ],
)
def test_not_flagged(text: str) -> None:
    assert scan_text("Dockerfile", "dockerfile", text, ONLY) == []


def test_analyse_shapes() -> None:
    split = analyse(parse((FIXTURES / "fail-go-cgo-debian-slim" / "input").read_text()))
    assert isinstance(split, Split)
    assert (split.ecosystem, split.runtime, split.artefacts) == (
        "go",
        "debian:bookworm-slim",
        ("/usr/local/bin/server",),
    )
    assert [i.keyword for i in split.replay if isinstance(i, Instruction)] == [
        "LABEL",
        "RUN",
        "ENV",
        "WORKDIR",
    ]
    blocked = analyse(parse((FIXTURES / "fail-report-two-ecosystems" / "input").read_text()))
    assert isinstance(blocked, Blocked)
    assert "several toolchains (go, node)" in blocked.reason


# --- With every other rule ----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_all_rules_reach_a_fixed_point(case: Path) -> None:
    """`fix --unsafe` with every rule on: nothing is refused, a second run changes nothing,
    and a split file is never split again."""
    text = (case / "input").read_bytes().decode()
    selection = Selection()
    once = fix_text("Dockerfile", "dockerfile", text, selection, unsafe=True)
    assert once.rejected == []
    twice = fix_text("Dockerfile", "dockerfile", once.text, selection, unsafe=True)
    assert twice.text == once.text and twice.applied == []
    if (case / "expected").exists():
        assert len(parse(once.text).stages) == 2
        assert all(f.rule != "CBP113" for f in once.remaining)


def test_init_added_by_cbp102_reaches_the_runtime_stage() -> None:
    text = (FIXTURES / "fail-c-make-escape-backtick" / "input").read_text()
    fixed = _fix(text, Selection())
    runtime = fixed.split("\nFROM debian:12-slim\n", 1)[1]
    assert "install -y --no-install-recommends dumb-init" in runtime
    assert 'ENTRYPOINT ["dumb-init", "--", "/src/bin/hello"]' in runtime


def test_cli_fix_unsafe(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_bytes((FIXTURES / "fail-node-build" / "input").read_bytes())
    args = ["fix", "--unsafe", "--offline", "--no-progress", "--rules", "CBP113", str(tmp_path)]
    main(args)
    assert dockerfile.read_bytes() == (FIXTURES / "fail-node-build" / "expected").read_bytes()
    main(args)
    assert dockerfile.read_bytes() == (FIXTURES / "fail-node-build" / "expected").read_bytes()


def test_ignore_comment_above_the_from() -> None:
    text = (FIXTURES / "fail-c-gcc" / "input").read_text()
    ignored = "# container-bp ignore=CBP113 the image is used to compile plugins\n" + text
    assert scan_text("Dockerfile", "dockerfile", ignored, ONLY) == []


def test_ignore_comments_of_the_shipped_image_follow_its_from() -> None:
    """An ignore above the FROM was about the final image: the runtime stage's FROM gets it."""
    text = (
        "# Built for the lab\n# container-bp ignore=CBP105 needs root for raw sockets\n"
        "FROM golang:1.22-bookworm\nWORKDIR /src\nRUN --mount=type=bind,target=. "
        'go build -o /out/probe .\nCMD ["/out/probe"]\n'
    )
    fixed = _fix(text)
    assert (
        "\n\n# container-bp ignore=CBP105 needs root for raw sockets\nFROM debian:bookworm-slim\n"
    ) in fixed
    assert "# Built for the lab" not in fixed.split("AS build")[1]
    after = fix_text("Dockerfile", "dockerfile", text, Selection(), unsafe=True)
    assert all(f.rule != "CBP105" for f in after.applied)


def test_runtime_images_for_the_registry_lookup() -> None:
    def names(case: str) -> list[str]:
        text = (FIXTURES / case / "input").read_text()
        return [image.raw for image in runtime_images(parse(text))]

    assert names("fail-go-static-distroless") == [
        "gcr.io/distroless/static-debian12:nonroot",
        "debian:bookworm-slim",
    ]
    assert names("fail-node-build") == ["node:20-slim"]
    assert names("fail-python-alpine-venv") == []  # the same image, pinned already
    assert names("fail-report-onbuild") == []


def test_one_fix_run_splits_and_pins_both_stages() -> None:
    """The runtime base the split writes is looked up before the rules run, so CBP101 pins
    it in the same run; a failed lookup of such a proposed image is no gap in the analysis."""
    from bot.analyse import Options, analyse
    from fixers.config import Config
    from fixers.pinning.model import Resolution, StaticResolver

    class Files:
        def __init__(self, files: dict[str, str]) -> None:
            self.files = files

        def walk(self, under: str = "") -> Iterator[str]:
            yield from sorted(self.files)

        def read_text(self, path: str) -> str:
            if path not in self.files:
                raise FileNotFoundError(path)
            return self.files[path]

    digest_a, digest_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    source = Files(
        {
            "Dockerfile": (
                "FROM debian:bookworm\n"
                "RUN apt-get update && apt-get install -y --no-install-recommends"
                " build-essential && rm -rf /var/lib/apt/lists/*\n"
                "WORKDIR /src\nCOPY hello.c .\nRUN gcc -O2 -o /usr/local/bin/hello hello.c\n"
                'CMD ["hello"]\n'
            )
        }
    )
    table = {
        "docker.io/library/debian:bookworm": Resolution(
            "docker.io/library/debian:bookworm", digest=digest_a, tag="bookworm"
        ),
        "docker.io/library/debian:bookworm-slim": Resolution(
            "docker.io/library/debian:bookworm-slim", digest=digest_b, tag="bookworm-slim"
        ),
    }
    result = analyse(source, Config(), Options(fix=True, unsafe=True), StaticResolver(table))
    fixed = result.files[0].fixed or ""
    assert f"FROM debian:bookworm@{digest_a} AS build" in fixed
    assert f"FROM debian:bookworm-slim@{digest_b}" in fixed
    # The split went first: init and USER landed in the runtime stage.
    runtime = fixed.split(f"FROM debian:bookworm-slim@{digest_b}")[1]
    assert "dumb-init" in runtime and "USER 10001" in runtime
    assert not result.incomplete and not result.files[0].remaining
