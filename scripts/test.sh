#!/usr/bin/env bash
# The whole test suite, lint included. Installs what is missing first, so it works on a fresh
# clone. Extra arguments go to pytest (e.g. tests/unit, -k name) and run only those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"

bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/mypy
if [ "$#" -eq 0 ]; then
  .venv/bin/pytest -n 2 --dist loadfile
  # The whole run also puts the CRI validation specs to Debian's containerd: each must read
  # critest as the reference runtime does (CONTAINERD_DIFFERS lists where containerd 1.6 differs).
  KYB_CRI_VALIDATION_RUNTIME=containerd exec .venv/bin/pytest -n 2 --dist loadfile tests/e2e/cri_validation
fi
exec .venv/bin/pytest -n 2 --dist loadfile "$@"
