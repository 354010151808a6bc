#!/bin/bash
# node-start.sh N: start node N's dockerd (again, e.g. after a test killed it) and wait for its API.
set -euo pipefail
. "$(dirname "$0")/common.sh"
i=$1
mkdir -p "$LAB/n$i" "$RUN/n$i"
cp "$(dirname "$0")/node-wrapper.sh" "$LAB/node-wrapper.sh"
# setsid + nohup: the daemon outlives this script; its PID is in $RUN/nN/dockerd.pid
setsid nohup ip netns exec "$(node_ns "$i")" unshare --uts "$LAB/node-wrapper.sh" "$i" \
  >>"$LAB/n$i/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 1 240); do
  if d "$i" version >/dev/null 2>&1; then echo "node$i up: pid $(cat "$RUN/n$i/dockerd.pid")"; exit 0; fi
  sleep 0.25
done
echo "node$i did not start; last lines of $LAB/n$i/dockerd.log:" >&2
tail -20 "$LAB/n$i/dockerd.log" >&2
exit 1
