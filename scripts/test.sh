#!/usr/bin/env bash
# The whole test suite, lint included. Installs what is missing first, so it works on a fresh
# clone. Extra arguments go to pytest (e.g. tests/unit, -k name).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"

bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/pytest -n 2 --dist loadfile "$@"
