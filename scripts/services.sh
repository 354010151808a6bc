#!/bin/bash
# Start the services nap and its tests need on this host, if they are not running:
# dockerd (no systemd here, so in the background) and a registry v2 on 127.0.0.1:5000.
# Safe to run again: a service that already answers is left alone.
set -euo pipefail

RUN_DIR=${NAP_SERVICES_DIR:-/var/lib/nap-services}
mkdir -p "$RUN_DIR"

docker_up() { docker version >/dev/null 2>&1; }
registry_up() { curl -sf -m 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; }

wait_for() {  # wait_for DESCRIPTION CHECK [LOG]
  local what=$1 check=$2 log=${3:-}
  for _ in $(seq 1 120); do
    if $check; then return 0; fi
    sleep 0.25
  done
  echo "error: $what did not start; last lines of $log:" >&2
  [ -n "$log" ] && tail -20 "$log" >&2
  exit 1
}

if ! docker_up; then
  # The Debian CLI talks to the engine at API 1.41 (dockerd 20.10); the newer CLI in
  # /usr/local/bin needs to be told.
  setsid nohup dockerd --pidfile "$RUN_DIR/dockerd.pid" >"$RUN_DIR/dockerd.log" 2>&1 </dev/null &
  wait_for dockerd docker_up "$RUN_DIR/dockerd.log"
  echo "dockerd started (pid $(cat "$RUN_DIR/dockerd.pid"))"
fi

if ! registry_up; then
  mkdir -p "$RUN_DIR/registry"
  cat >"$RUN_DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $RUN_DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  setsid nohup docker-registry serve "$RUN_DIR/registry.yml" >"$RUN_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/registry.pid"
  wait_for registry registry_up "$RUN_DIR/registry.log"
  echo "registry started on 127.0.0.1:5000 (pid $(cat "$RUN_DIR/registry.pid"))"
fi
