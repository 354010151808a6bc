#!/bin/bash
# The main job: deploy a sample app by a real `git push` over SSH, as a user of nap would.
#   - installs nap and the services it needs (scripts/install.sh, scripts/services.sh)
#   - `nap server setup`: the `nap` system user, owner of NAP_HOME
#   - a private sshd on a loopback port (the host's own sshd is left alone)
#   - a new client key, added with `nap keys add`
#   - a busybox web app in a fresh git work tree, `git push nap master`
#   - prints the push's output and the app's answer at its stable router address
#     (http://APP.localhost: nap starts Caddy in front of every app) and at its instance
# Run as root: bash scripts/demo.sh
# Settings: DEMO_PORT (2222), DEMO_APP (hello), NAP_VENV (/opt/nap/venv),
#           NAP_HOME (/var/lib/nap), NAP_AUTHORIZED_KEYS (~nap/.ssh/authorized_keys),
#           NAP_ROUTER (caddy), NAP_ROUTER_HTTP_PORT (80), NAP_ROUTER_HTTPS_PORT (443).
# The app keeps running afterwards; the sshd, the key and the work tree are removed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${NAP_VENV:-/opt/nap/venv}
NAP="$VENV/bin/nap"
PORT=${DEMO_PORT:-2222}
APP=${DEMO_APP:-hello}
KEY_NAME="demo-$$"

bash scripts/install.sh
bash scripts/services.sh

echo "-----> nap server setup"
if [ -n "${NAP_HOME:-}" ]; then
  "$NAP" server setup --home "$NAP_HOME"
else
  "$NAP" server setup
fi
if [ -z "${NAP_AUTHORIZED_KEYS:-}" ]; then
  NAP_AUTHORIZED_KEYS="$(getent passwd nap | cut -d: -f6)/.ssh/authorized_keys"
  STRICT=yes  # the default place passes sshd's checks of modes and owners
else
  STRICT=no   # a file elsewhere (e.g. under /tmp) would not
fi
export NAP_AUTHORIZED_KEYS

WORK=$(mktemp -d /tmp/nap-demo.XXXXXX)
SSHD_PID=""
cleanup() {
  if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null || true; fi
  "$NAP" keys remove "$KEY_NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "-----> A private sshd on 127.0.0.1:$PORT"
ssh-keygen -q -t ed25519 -N "" -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N "" -C "$KEY_NAME" -f "$WORK/client"
"$NAP" keys add "$KEY_NAME" - <"$WORK/client.pub"
cat >"$WORK/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $NAP_AUTHORIZED_KEYS
StrictModes $STRICT
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers nap
# The forced command is \`nap shell\`: put this install's nap first on the PATH.
SetEnv PATH=$VENV/bin:/usr/local/bin:/usr/bin:/bin${NAP_HOME:+ NAP_HOME=$NAP_HOME}${NAP_ROUTER:+ NAP_ROUTER=$NAP_ROUTER}${NAP_ROUTER_HTTP_PORT:+ NAP_ROUTER_HTTP_PORT=$NAP_ROUTER_HTTP_PORT}${NAP_ROUTER_HTTPS_PORT:+ NAP_ROUTER_HTTPS_PORT=$NAP_ROUTER_HTTPS_PORT}
EOF
mkdir -p /run/sshd  # privilege separation directory; systemd would make it
/usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log"
for _ in $(seq 1 100); do [ -s "$WORK/sshd.pid" ] && break; sleep 0.05; done
SSHD_PID=$(cat "$WORK/sshd.pid")

echo "-----> A sample app: busybox httpd in a git work tree"
mkdir "$WORK/app"
cd "$WORK/app"
cp /bin/busybox busybox
mkdir www
echo "hello from $APP, deployed by git push over SSH at $(date -u +%H:%M:%S)" >www/index.html
cat >Dockerfile <<'EOF'
FROM scratch
COPY busybox /bin/busybox
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
EOF
git init -q -b master
git -c user.name=demo -c user.email=demo@example.invalid add -A
git -c user.name=demo -c user.email=demo@example.invalid commit -q -m "A busybox web app"
git remote add nap "nap@127.0.0.1:$APP"

echo "-----> git push nap master"
export GIT_SSH_COMMAND="ssh -i $WORK/client -p $PORT -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
git push nap master 2>&1 | tee "$WORK/push.log"
# The push's last lines: the app's stable address(es) at the router first, then its instances.
URLS=$(sed -n '/^remote: =====> /,$p' "$WORK/push.log" | grep -E '^remote: +https?://' | awk '{print $2}')
URL=$(echo "$URLS" | head -1)
INSTANCE=$(echo "$URLS" | tail -1)
case "$URL" in
  http://*|https://*) ;;
  *) echo "error: the push did not name a URL; see the output above" >&2; exit 1 ;;
esac

echo "-----> $URL answers:"
curl -sf "$URL"
if [ "$INSTANCE" != "$URL" ]; then
  echo "-----> and so does its instance, $INSTANCE:"
  curl -sf "$INSTANCE"
fi
