#!/bin/bash
# Install what nap needs on a Debian machine, as root; safe to run again.
#   - Debian packages: the Docker engine, a registry, sshd, git, busybox (test apps),
#     debootstrap (the rootfs of the base-image stand-ins, scripts/base-images.sh),
#     systemd (only for `systemd-analyze verify` of rendered units; it does not run here),
#     caddy (the router; nap starts it itself), pebble (a real ACME server, with
#     pebble-challtestsrv, for the HTTPS tests), wrk (bench/router.py), openssl (test certs)
#   - nap itself, into a virtualenv of the system Python at $NAP_VENV (default /opt/nap/venv),
#     linked as /usr/local/bin/nap. The system Python, not a per-user one, so that the
#     unprivileged `nap` account that receives pushes can run it too.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${NAP_VENV:-/opt/nap/venv}

PACKAGES=(docker.io docker-registry git busybox-static openssh-server socat iproute2 curl systemd
          python3 python3-venv ca-certificates caddy libcap2-bin pebble wrk openssl debootstrap)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "-----> Installing ${missing[*]}"
  apt-get update -q >/dev/null
  # The packages' own start scripts fail without systemd; scripts/services.sh starts them.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# nap starts Caddy as the user that owns NAP_HOME (the `nap` user): let it bind 80 and 443.
if ! getcap /usr/bin/caddy | grep -q cap_net_bind_service; then
  setcap cap_net_bind_service=+ep /usr/bin/caddy
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "-----> Creating $VENV"
  /usr/bin/python3 -m venv "$VENV"
fi
echo "-----> Installing nap into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" 2>&1 \
  | grep -v -e "is ignored: it is neither a file nor a directory" -e "^WARNING: Running pip as" || true
# sshd runs `nap shell` as the nap user, who cannot write __pycache__ in this root-owned tree:
# compile nap's sources now, or every SSH command compiles the modules it imports again.
"$VENV/bin/python" -m compileall -q "$ROOT/nap" "$ROOT/nap_core" "$ROOT/plugins" >/dev/null
# Only the default install owns /usr/local/bin/nap; a side venv (NAP_VENV=...) stays private.
if [ -z "${NAP_VENV:-}" ]; then ln -sf "$VENV/bin/nap" /usr/local/bin/nap; fi
