#!/bin/bash
# nap's main job, end to end on a fresh Debian machine (as root): install what is
# missing, start dockerd and the registry, create a sample app, deploy it and print
# what it answers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP=${1:-hello}

bash "$ROOT/scripts/install.sh"
bash "$ROOT/scripts/services.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "-----> Creating the sample app in $work/$APP"
bash "$ROOT/scripts/sample-app.sh" "$work/$APP"

nap deploy "$APP" "$work/$APP" --json >"$work/release.json"
url=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["placements"][0]["url"])' <"$work/release.json")
echo "-----> $url answers:"
curl -fsS "$url"
