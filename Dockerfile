# syntax=docker/dockerfile:1
# The action's image, held to the practices it enforces: a pinned base (tag for people,
# index digest for reproducibility), separate build and runtime stages, dumb-init as PID 1,
# exec form, and a non-root user for the command-line image (`--target cli`).
ARG PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:a116514e19457bcb7af7efe9c3dd0b9b71e85b317694e7882a1c52aa15a78134

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY fixers ./fixers
COPY bot ./bot
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir .

FROM ${PYTHON_IMAGE} AS cli
# Package versions are not pinned on purpose: Debian drops old versions from its archive,
# which breaks rebuilds; the pinned base image fixes the package set.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends dumb-init git \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
ENTRYPOINT ["dumb-init", "--", "container-bp"]
CMD ["--help"]

# The GitHub Action (the default target). GitHub runs container actions as root and documents
# that a USER breaks access to the workspace and to the runner's output and summary files
# (they belong to the runner's user), so this stage alone goes back to root.
FROM cli AS action
# container-bp ignore=CBP105 GitHub requires container actions to run as the default user
# hadolint ignore=DL3002
USER 0:0
