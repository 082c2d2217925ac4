"""CBP113: build in one stage, run on a lean image in another."""

from __future__ import annotations

from collections.abc import Iterator

from fixers.dockerfile import insert
from fixers.dockerfile.multistage import (
    Blocked,
    Split,
    analyse,
    keyword_case,
    label,
    runtime_block,
    skeleton,
    venv_lines,
)
from fixers.dockerfile.packages import append_command_edits
from fixers.dockerfile.parser import Dockerfile
from fixers.model import Edit, Finding, FixSafety, Severity
from fixers.rule import Context, Rule, RuleDoc


class SingleStageBuild(Rule[Dockerfile]):
    fix_first = True  # init, USER and friends then land in the runtime stage
    doc = RuleDoc(
        code="CBP113",
        name="single-stage-build",
        kind="dockerfile",
        title="Build in one stage and ship only the result on a lean runtime image",
        what=(
            "Flags a single-stage Dockerfile with a start command (CMD or ENTRYPOINT) that "
            "builds its application and so ships the toolchain with it: `go build`, "
            "`cargo build`/`cargo install`, `mvn package`/`gradle build`, `dotnet publish`, "
            "`gcc`/`make`; `npm ci`/`npm install` with `npm run build` (or on the full "
            "`node` image, or with compilers installed); `pip install` with compilers or "
            "development packages installed (or on the full `python` image). Files that "
            "already have several stages are not flagged, nor images with no start command "
            "(toolchain and base images are built to be built on), `scratch`, Windows "
            "images, and `pip install`/`npm ci` on slim or Alpine images with no compiler."
        ),
        why=(
            "Compilers, SDKs, package caches and sources make the image several times larger "
            "than the application: pulls and scale-ups are slower, and every tool in it is "
            "one more source of CVEs to patch and one more tool for an attacker who gets a "
            "shell in the container (a compiler, `git`, `curl` and a package manager make "
            "the next step easy). A multi-stage build keeps the toolchain in a build stage "
            "and ships only the build result on a runtime image that has nothing else."
        ),
        before=(
            "FROM golang:1.22-bookworm\n"
            "WORKDIR /src\n"
            "COPY . .\n"
            "RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app\n"
            "EXPOSE 8080\n"
            'ENTRYPOINT ["/out/app"]\n'
        ),
        after=(
            "FROM golang:1.22-bookworm AS build\n"
            "WORKDIR /src\n"
            "COPY . .\n"
            "RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app\n"
            "\n"
            "FROM gcr.io/distroless/static-debian12:nonroot\n"
            "WORKDIR /src\n"
            "COPY --from=build /out/app /out/app\n"
            "EXPOSE 8080\n"
            'ENTRYPOINT ["/out/app"]\n'
        ),
        fix=FixSafety.UNSAFE,
        fix_notes=(
            "Unsafe: it changes what ships. The existing FROM becomes the build stage "
            "(` AS build`) up to and including the last build step; a runtime stage starts "
            "right after it, and every instruction after the build step stays as written, "
            "now in the runtime stage. The runtime stage repeats what the image needs from "
            "before the build step (WORKDIR, ENV, ARG, LABEL, EXPOSE, VOLUME, USER, SHELL, "
            "HEALTHCHECK, STOPSIGNAL, ENTRYPOINT/CMD, installs of runtime packages, user "
            "creation, and COPYs outside the build directory; for Python every COPY), with "
            "their comments, then copies the build result to the same path with "
            "`COPY --from=build`: the `-o` output of `go build`/`gcc`/`dotnet publish`, the "
            "file the start command runs out of `target/` (Rust, Maven), `build/` (Gradle) "
            "or a `make` tree, the app directory after `npm prune --omit=dev` "
            "(`--production` before Node 16) for Node, a virtual environment for Python "
            "(created at `/opt/venv` before the first `pip install` unless the file has one). "
            "Runtime images, derived from the base's tag by the images' documented schemes: "
            "static binaries (`CGO_ENABLED=0`, a musl target, `gcc -static`) with no RUN, "
            "SHELL, HEALTHCHECK or shell-form start command after the build go to "
            "`gcr.io/distroless/static-debian12:nonroot` (`-debian13` for a trixie base; it "
            "runs as uid 65532 unless the file sets a USER); other binaries to the slim image "
            "of the base's distribution (`golang:1.22-bookworm`, `rust:1-bookworm`, "
            "`gcc:14-bookworm` -> `debian:bookworm-slim`; a `-alpine3.20` tag -> "
            "`alpine:3.20`; `debian:12` -> `debian:12-slim`; ubuntu and alpine bases to "
            "themselves); `python:3.12[-bookworm]` -> `python:3.12-slim[-bookworm]`; "
            "`node:20[-bookworm]` -> `node:20[-bookworm]-slim`; `maven:3.9-eclipse-temurin-21`,"
            " `gradle:8-jdk21`, `eclipse-temurin:21-jdk` -> `eclipse-temurin:21-jre` (OS "
            "suffix kept); `mcr.microsoft.com/dotnet/sdk:8.0` -> "
            "`mcr.microsoft.com/dotnet/aspnet:8.0`. Slim and Alpine bases run the result "
            "themselves. A base pinned by digest keeps its digest in the build stage; the "
            "runtime FROM is tag-only (a digest of another image cannot be derived) for "
            "CBP101 to pin. It reports with an outline in the hint instead of fixing when it "
            "cannot be sure: no known lean image for the base (no Debian release or Alpine "
            "version in the tag), an output it cannot name (`go build` without `-o`, a start "
            "command that names no file of the build tree, a path from an ARG), ONBUILD, "
            "`FROM --platform`, builds of several ecosystems, a RUN it does not know (before "
            "the build it may set up the runtime; after it, it may need build files), a RUN "
            "installing build tools and runtime packages together (except the runtime helpers "
            "other fixes add to an install: `dumb-init`, `tini`, `ca-certificates` and `tzdata` "
            "are installed again in the runtime stage), `-dev` packages whose "
            "libraries the runtime may need, `COPY . .` after a compiled build, yarn, pnpm "
            "and poetry, `pip install --user/--target/-e`, global npm installs, and a "
            "HEALTHCHECK calling curl or wget the lean image may lack. Review the result: "
            "shared libraries the full build image had and the result links at run time "
            "(libssl for a Rust binary using OpenSSL, libpq for a Python extension built from "
            "source...) must be installed in the runtime stage; files the program reads at "
            "run time from the build directory (templates, assets) are not carried for "
            "compiled languages, nor tools a start script may call that only the full image "
            "had; files copied from the build stage may need `--chown` when the process "
            "writes to them."
        ),
        severity=Severity.WARNING,
        references=(
            "https://docs.docker.com/build/building/multi-stage/",
            "https://docs.docker.com/build/building/best-practices/#use-multi-stage-builds",
            "https://github.com/GoogleContainerTools/distroless",
        ),
    )

    def check(self, ctx: Context[Dockerfile]) -> Iterator[Finding]:
        doc = ctx.doc
        result = analyse(doc)
        if result is None:
            return
        ins = doc.stages[0].from_
        message = (
            f"`{result.base}` builds {label(result.ecosystem)} and ships the toolchain with "
            "it: build in one stage and copy only the result into a lean runtime stage"
        )
        if isinstance(result, Blocked):
            yield self.finding(
                ctx,
                ins.line,
                message,
                end_line=ins.end_line,
                suggestion=f"not split automatically: {result.reason}; split it by hand: "
                + skeleton(result),
            )
            return
        yield self.finding(
            ctx,
            ins.line,
            message,
            end_line=ins.end_line,
            edits=self._edits(doc, result),
            fix_description=(
                f"build in a `{result.stage_name}` stage and run on `{result.runtime}`"
            ),
        )

    @staticmethod
    def _edits(doc: Dockerfile, split: Split) -> list[Edit]:
        edits: list[Edit] = []
        from_ = doc.stages[0].from_
        if split.rename:
            at = from_.args_end
            edits.append(Edit(at, at, f" {keyword_case(doc, 'AS')} {split.stage_name}"))
        if split.venv_before is not None:
            edits.append(insert.insert_before(doc, split.venv_before, venv_lines(doc)))
        prune_line = False
        if split.prune is not None:
            appended = append_command_edits(doc, split.build_step, f"npm prune {split.prune}")
            if appended is not None:
                edits.append(Edit(appended[0], appended[0], appended[1]))
            else:
                prune_line = True
        # The runtime stage, then the rest of the file unchanged: one edit over the whole
        # runtime part, so that no other rule's fix there lands in the same batch (it was
        # computed for the single stage) and each re-checks the two-stage file instead.
        end = split.build_step.end
        block = runtime_block(doc, split, prune_line=prune_line)
        edits.append(Edit(end, len(doc.text), block + doc.text[end:]))
        return edits
