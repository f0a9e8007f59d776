#!/usr/bin/env bash
# Run the whole slicer-cloud test suite: installs what the tests need (scripts/install.sh --test), then
# pytest with any arguments passed through, e.g. ./scripts/test.sh -x -k archive
# Exits with pytest's exit code.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/install.sh" --test

VENV="${SLICER_CLOUD_VENV:-.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac

# Tests drive Debian's /usr/bin/chromium through playwright; never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PYTHONUNBUFFERED=1

echo "==> pytest $*"
exec "$VENV/bin/python" -m pytest "$@"
