# shellcheck shell=bash
# Sourced by .ci/test after venv.sh (not run on its own): provides ensure_checkov_venv, which
# makes sure .venv-checkov holds checkov $CHECKOV_VERSION, the Kubernetes oracle of
# tests/test_oracle_checkov.py. checkov pins many dependencies that would clash with the
# project's, so it gets a venv of its own. Installed only when missing or at another version
# (about a minute and 290 MB; a no-op afterwards).

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
CHECKOV_VENV=.venv-checkov

ensure_checkov_venv() {
  local have=""
  if [ -x "$CHECKOV_VENV/bin/checkov" ]; then
    have="$("$CHECKOV_VENV/bin/python" -c \
      'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true)"
  fi
  if [ "$have" = "$CHECKOV_VERSION" ]; then
    echo "==> checkov $CHECKOV_VERSION already in $CHECKOV_VENV"
    return 0
  fi
  if [ -e "$CHECKOV_VENV" ] && ! "$CHECKOV_VENV/bin/python" -c '' >/dev/null 2>&1; then
    echo "==> $CHECKOV_VENV exists but its python does not run; remove it and try again" >&2
    return 1
  fi
  if [ ! -e "$CHECKOV_VENV" ]; then
    "${PYTHON:-python3}" -m venv "$CHECKOV_VENV" || return 1
  fi
  echo "==> installing checkov==$CHECKOV_VERSION into $CHECKOV_VENV (about a minute)"
  local start=$SECONDS
  if ! PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$CHECKOV_VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION" \
    >"$CHECKOV_VENV/pip-install.log" 2>&1; then
    cat "$CHECKOV_VENV/pip-install.log" >&2
    echo "==> pip install checkov failed (log: $CHECKOV_VENV/pip-install.log)" >&2
    return 1
  fi
  echo "==> checkov $CHECKOV_VERSION installed in $((SECONDS - start))s"
}
