#!/bin/bash
# Tear nap's swarm test lab down. Stops only what up.sh started, by the PIDs it recorded (each
# checked against its command line), and deletes only the lab's netns, links, data and cgroups.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
for i in 3 2 1; do
  if d "$i" version >/dev/null 2>&1; then
    d "$i" swarm leave --force >/dev/null 2>&1 || true
    ids=$(d "$i" ps -aq); [ -n "$ids" ] && d "$i" rm -f $ids >/dev/null 2>&1
  fi
done
stop_pid() {  # stop_pid PIDFILE PATTERN: TERM (then KILL) the PID if its cmdline has PATTERN
  local file=$1 pattern=$2 P
  P=$(cat "$file" 2>/dev/null) || return 0
  rm -f "$file"
  [ -n "$P" ] && kill -0 "$P" 2>/dev/null || return 0
  tr '\0' ' ' <"/proc/$P/cmdline" | grep -q -- "$pattern" || { echo "pid $P is not the lab's, left alone"; return 0; }
  kill -TERM "$P"
  for _ in $(seq 1 60); do kill -0 "$P" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$P" 2>/dev/null && { echo "pid $P still alive, SIGKILL"; kill -KILL "$P"; }
  echo "stopped $P ($pattern)"
}
for i in $NODES; do stop_pid "$RUN/n$i/dockerd.pid" "$RUN/n$i/docker.sock"; done
stop_pid "$RUN/registry.pid" "$LAB/registry.yml"
stop_pid "$RUN/forward.pid" "TCP-LISTEN:$FORWARD_PORT"
sleep 0.5
# Containers outlive a SIGKILLed dockerd; every lab container sits under cgroup /napswarm-nN.
for f in $(find /sys/fs/cgroup/pids/napswarm-n[123] -name cgroup.procs 2>/dev/null); do
  for P in $(cat "$f"); do echo "leftover lab container process $P: kill"; kill -KILL "$P"; done
done
sleep 0.5
# Their shims too: matched by the lab's own containerd address.
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/containerd-shim-runc-v2 ] || continue
  tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "-address $RUN/n[123]/exec/containerd/containerd.sock" || continue
  P=${p#/proc/}; echo "leftover lab shim $P: kill"; kill -KILL "$P"
done
for i in $NODES; do ip netns del "$(node_ns "$i")" 2>/dev/null; done
ip netns del $HUB 2>/dev/null
ip link del napsw-host 2>/dev/null
# overlay2 mounts of a killed node may linger in the host mount ns
grep -o " $LAB/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
rm -rf "$RUN" "$LAB"
for c in /sys/fs/cgroup/*/napswarm-n[123]; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done
true
