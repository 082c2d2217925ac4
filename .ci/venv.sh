# shellcheck shell=bash
# Sourced by .ci/test and .ci/demo (not run on its own): moves to the repository root and
# provides ensure_venv, which makes sure .venv holds the project (editable) and its test extras.

CI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$CI_ROOT" || return 1

PYTHON="${PYTHON:-python3}"

ensure_venv() {
  if [ -e .venv ] && ! .venv/bin/python -c '' >/dev/null 2>&1; then
    echo "==> .venv exists but its python does not run; remove .venv and try again" >&2
    return 1
  fi
  if [ ! -e .venv ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "==> $PYTHON is missing or older than 3.11; set PYTHON=/path/to/python3.11" >&2
      return 1
    fi
    echo "==> creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
  fi
  echo "==> installing .[test] into .venv"
  # Build-backend chatter goes to a log that is shown only when the install fails.
  if ! PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    .venv/bin/pip install -q -e '.[test]' >.venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    echo "==> pip install failed (log: .venv/pip-install.log)" >&2
    return 1
  fi
}
