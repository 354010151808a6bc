#!/bin/bash
# mypy over nap_core and every bundled plugin. Plugins live in plugins/<name>/ but are
# imported as nap_<name>; mypy cannot follow the editable install's import hook, so it
# gets a tree of links with the import names.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${NAP_VENV:-/opt/nap/venv}
LINKS="$ROOT/build/typecheck"
rm -rf "$LINKS"; mkdir -p "$LINKS"
ln -s "$ROOT/nap_core" "$LINKS/nap_core"
ln -s "$ROOT/nap" "$LINKS/nap"
packages=(-p nap -p nap_core)
for dir in "$ROOT"/plugins/*/; do
  name=$(basename "$dir")
  [ -f "$dir/__init__.py" ] || continue
  ln -s "$dir" "$LINKS/nap_$name"
  packages+=(-p "nap_$name")
done
for dir in "$ROOT"/contrib/nap-*/nap_*/; do
  [ -f "$dir/__init__.py" ] || continue
  ln -s "$dir" "$LINKS/$(basename "$dir")"
  packages+=(-p "$(basename "$dir")")
done
cd "$LINKS"
MYPYPATH="$LINKS" "$VENV/bin/mypy" --config-file "$ROOT/pyproject.toml" "${packages[@]}"
