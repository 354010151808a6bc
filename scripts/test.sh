#!/bin/bash
# The whole test suite: install, start the services, lint, type-check, pytest.
# Arguments go to pytest (e.g. `bash scripts/test.sh -k local -x`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${NAP_VENV:-/opt/nap/venv}

bash scripts/install.sh
# The contrib app types are their own distributions; the suite tests them installed.
"$VENV/bin/pip" install -q --disable-pip-version-check -e contrib/nap-static -e contrib/nap-python \
  -e contrib/nap-node 2>&1 | grep -v -e "^WARNING: Running pip as" || true
# dockerd first: the base-image stand-ins are built on it.
bash scripts/services.sh
bash scripts/base-images.sh

echo "-----> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "-----> mypy"
bash scripts/typecheck.sh
echo "-----> pytest"
"$VENV/bin/python" -m pytest "$@"
