#!/bin/sh
# Runs INSIDE `ip netns exec napfp0` (its own mount namespace) and execs a private dockerd.
# `ip netns exec` remounts /sys, so the host's cgroup v1 hierarchies vanish: mount each one
# listed in /proc/self/cgroup again (the swarm lab's recipe, tests/lab/swarm).
set -e
ROOT="$1"; RUN="$2"; BIP="$3"; REGISTRY="$4"
if ! mountpoint -q /sys/fs/cgroup; then
  mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
  for s in $(awk -F: '$1 != 0 {print $2}' /proc/self/cgroup); do
    case "$s" in name=*) d=${s#name=}; o="none,$s";; *) d=$s; o=$s;; esac
    mkdir -p "/sys/fs/cgroup/$d"; mount -t cgroup -o "$o" cgroup "/sys/fs/cgroup/$d"
  done
  mkdir -p /sys/fs/cgroup/unified; mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
fi
mkdir -p "$RUN" "$ROOT"
[ -f "$ROOT/daemon.json" ] || echo '{}' > "$ROOT/daemon.json"  # not the host's /etc/docker one
exec dockerd \
  --config-file "$ROOT/daemon.json" \
  --data-root "$ROOT/data" \
  --exec-root "$RUN/exec" \
  --pidfile "$RUN/dockerd.pid" \
  -H "unix://$RUN/docker.sock" \
  --bip "$BIP" \
  --insecure-registry "$REGISTRY" \
  --cgroup-parent /napfp0 \
  --storage-driver overlay2
