#!/bin/bash
# The whole test suite: install, start the services, lint, type-check, pytest.
# Arguments go to pytest (e.g. `bash scripts/test.sh -k local -x`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${NAP_VENV:-/opt/nap/venv}

bash scripts/install.sh
bash scripts/services.sh

echo "-----> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "-----> mypy"
bash scripts/typecheck.sh
echo "-----> pytest"
"$VENV/bin/python" -m pytest "$@"
