#!/bin/bash
# Run the whole test suite: formatting, lint, types, and pytest on Python 3.11 and 3.13.
#
#   usage: bash scripts/test.sh [PYTEST_ARGS...]
#          bash scripts/test.sh --prepare-only    (only create the environments)
#
# Creates .venv/py311 and .venv/py313 with the package installed editable (extras test
# and lint), then runs ruff format --check, ruff check, mypy and tools/check_style.py
# once (on 3.11), and pytest on each interpreter. Every step runs even after a failure; the exit status is
# 1 when any step failed. pytest collecting no tests (exit 5) counts as a failure.
# A missing interpreter is an error when CI=true and a warning otherwise. Tests marked
# "real" run only with WORKFLOW_COMPUTE_RUNTIME_PROBE_REAL=1 (see docs/runtimes.md).
set -uo pipefail

cd "$(dirname "$0")/.."
failures=()
prepare_only=0
if [ "${1:-}" = --prepare-only ]; then
  prepare_only=1
  shift
fi

log() { printf 'test.sh: %s\n' "$*" >&2; }

# Print the first interpreter among the candidates that really is Python VERSION.
# A pyenv shim on PATH exists even when that version is not selected, so each
# candidate is run rather than trusted by name.
find_python() {
  local version=$1 candidate root
  local -a candidates=("python$version")
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    candidates+=("$root"/versions/"$version".*/bin/python3)
  fi
  for candidate in "${candidates[@]}"; do
    if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
      2>/dev/null)" = "$version" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# Create or refresh the virtual environment DIR for interpreter PYTHON.
prepare_venv() {
  local python=$1 dir=$2
  if [ ! -x "$dir/bin/python" ]; then
    "$python" -m venv "$dir" || return 1
  fi
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e '.[test,lint]'
}

# Run a step, record its name when it fails.
step() {
  local name=$1
  shift
  log "running $name"
  "$@"
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "FAILED: $name (exit $status)"
    failures+=("$name")
  fi
  return "$status"
}

venvs=()
for version in 3.11 3.13; do
  dir=.venv/py${version/./}
  if ! python=$(find_python "$version"); then
    if [ "${CI:-}" = true ]; then
      log "Python $version not found (python$version on PATH or under pyenv)"
      failures+=("find Python $version")
    else
      log "warning: Python $version not found; skipping it"
    fi
    continue
  fi
  log "Python $version: $python"
  step "install into $dir" prepare_venv "$python" "$dir" && venvs+=("$dir")
done

if [ "$prepare_only" = 1 ]; then
  [ "${#failures[@]}" -eq 0 ] || { log "failed steps: ${failures[*]}"; exit 1; }
  exit 0
fi

lint_venv=.venv/py311
if [ -x "$lint_venv/bin/ruff" ]; then
  step "ruff format --check" "$lint_venv/bin/ruff" format --check .
  step "ruff check" "$lint_venv/bin/ruff" check .
  step "mypy" "$lint_venv/bin/mypy"
  step "house style (tools/check_style.py)" "$lint_venv/bin/python" tools/check_style.py
else
  log "no $lint_venv with the lint tools; lint skipped"
  failures+=("lint (needs Python 3.11)")
fi

for dir in "${venvs[@]}"; do
  step "pytest ($dir)" "$dir/bin/python" -m pytest "$@"
done

if [ "${#failures[@]}" -ne 0 ]; then
  log "failed steps: ${failures[*]}"
  exit 1
fi
log "all steps passed"
