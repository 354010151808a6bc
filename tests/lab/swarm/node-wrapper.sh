#!/bin/sh
# Runs INSIDE `ip netns exec napswN unshare --uts` and execs that node's dockerd.
# `ip netns exec` remounts /sys in its private mount ns, so the host's cgroup v1 mounts vanish:
# mount every v1 hierarchy listed in /proc/self/cgroup (plus cgroup2) again first.
set -e
i="$1"; LAB=/tmp/napswarm; RUN=/run/napswarm/n$i
hostname "napswarm-node$i"
if ! mountpoint -q /sys/fs/cgroup; then
  mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
  for s in $(awk -F: '$1 != 0 {print $2}' /proc/self/cgroup); do
    case "$s" in name=*) d=${s#name=}; o="none,$s";; *) d=$s; o=$s;; esac
    mkdir -p "/sys/fs/cgroup/$d"; mount -t cgroup -o "$o" cgroup "/sys/fs/cgroup/$d"
  done
  mkdir -p /sys/fs/cgroup/unified; mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
fi
mkdir -p "$RUN" "$LAB/n$i"
# netns bind-mount targets left by a killed dockerd are plain files in this new mount ns
rm -f "$RUN"/exec/netns/* 2>/dev/null || true
# an empty config file keeps the host's /etc/docker/daemon.json out
[ -f "$LAB/n$i/daemon.json" ] || echo '{}' > "$LAB/n$i/daemon.json"
exec dockerd \
  --config-file "$LAB/n$i/daemon.json" \
  --data-root "$LAB/n$i/data" \
  --exec-root "$RUN/exec" \
  --pidfile "$RUN/dockerd.pid" \
  -H "unix://$RUN/docker.sock" \
  --bip "172.29.$i.1/24" \
  --default-address-pool "base=172.26.$((i*16)).0/20,size=24" \
  --insecure-registry 10.78.0.1:5000 \
  --cgroup-parent "/napswarm-n$i" \
  --storage-driver overlay2
