#!/bin/bash
# Build nap's swarm test lab from nothing: network, 3 dockerds, a registry every node reaches,
# a loopback forward to it for the host's engine, and a 3-node swarm (manager: node 1).
# Refuses to run over a lab that is already up (run down.sh first).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
T0=$(date +%s%N)
ts() { local ms=$((($(date +%s%N) - T0) / 1000000)); printf '[%3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"; }
if ip netns list | grep -qw "$HUB"; then echo "error: the lab is already up; run $HERE/down.sh" >&2; exit 1; fi
if ss -Hltn "sport = :$FORWARD_PORT" | grep -q .; then
  echo "error: 127.0.0.1:$FORWARD_PORT is taken; the lab forwards it to its registry" >&2; exit 1
fi
wait_for() {  # wait_for WHAT URL: up to 30 s for URL to answer
  for _ in $(seq 1 150); do curl -sf -m1 "$2" >/dev/null && return 0; sleep 0.2; done
  echo "error: $1 did not answer at $2" >&2; exit 1
}
mkdir -p "$LAB" "$RUN"
"$HERE/net-up.sh"; ts "network: hub bridge + 3 node netns"
# One after another: 3 daemons starting at once on 2 cores made dockerd restart its containerd.
for i in $NODES; do "$HERE/node-start.sh" "$i"; done; ts "3 dockerds answering"
mkdir -p "$LAB/registry-data"
cat >"$LAB/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $LAB/registry-data
  delete:
    enabled: true
http:
  addr: $NET.1:$REGISTRY_PORT
YAML
setsid nohup ip netns exec $HUB docker-registry serve "$LAB/registry.yml" >"$LAB/registry.log" 2>&1 </dev/null &
echo $! >"$RUN/registry.pid"   # ip netns exec execs: this is the registry's PID
wait_for registry "http://$NET.1:$REGISTRY_PORT/v2/"
setsid nohup socat "TCP-LISTEN:$FORWARD_PORT,bind=127.0.0.1,reuseaddr,fork" "TCP:$NET.1:$REGISTRY_PORT" \
  >"$LAB/forward.log" 2>&1 </dev/null &
echo $! >"$RUN/forward.pid"
wait_for "the loopback forward" "http://127.0.0.1:$FORWARD_PORT/v2/"
ts "registry on $NET.1:$REGISTRY_PORT, forwarded from 127.0.0.1:$FORWARD_PORT"
d 1 swarm init --advertise-addr $NET.11 --listen-addr $NET.11:2377 \
  --default-addr-pool 10.203.0.0/16 >/dev/null
TOKEN=$(d 1 swarm join-token -q worker)
for i in 2 3; do
  d "$i" swarm join --token "$TOKEN" --advertise-addr "$NET.1$i" --listen-addr "$NET.1$i:2377" \
    "$NET.11:2377" >/dev/null
done
ts "swarm formed: $(d 1 node ls --format '{{.Hostname}}={{.Status}}' | tr '\n' ' ')"
