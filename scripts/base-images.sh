#!/bin/bash
# Local stand-ins for the official base images nap's app types build FROM, for
# machines that cannot pull from a hub (these test machines). Run as root; safe to
# run again: a stand-in that exists is kept (they are cached on the engine).
#
#   python:3.14-slim  Debian bookworm minbase + python3, python3-pip, python3-venv
#                     (Debian's Python 3.11: the name is the default's, not the version)
#   node:24-slim      Debian bookworm minbase + nodejs, npm (Debian's Node 18)
#   busybox:1.37      FROM scratch + Debian's busybox-static (httpd, sh)
#
# Every stand-in carries the label org.nap.stand-in=true and this host's CA bundle
# (/etc/ssl/certs/ca-certificates.crt), so that pip and npm inside builds reach PyPI
# and npm through this machine's TLS-intercepting proxy. A real official image needs
# none of that. An image of one of these names that is NOT a stand-in is never
# touched (it is used as it is).
#
#   bash scripts/base-images.sh            build what is missing
#   bash scripts/base-images.sh --remove   untag the stand-ins (only labelled ones)
#
# The debootstrap rootfs (about 25-70 s to make) is cached as a tarball in
# $NAP_TEST_CACHE (default /var/cache/nap-test), once per machine.
set -euo pipefail
CACHE=${NAP_TEST_CACHE:-/var/cache/nap-test}
ROOTFS_TAR="$CACHE/bookworm-minbase.tar"
ROOTFS_IMAGE="nap-stand-in/bookworm:minbase"
LABEL="org.nap.stand-in"
PYTHON_IMAGE=${NAP_PYTHON_BASE_IMAGE:-python:3.14-slim}
NODE_IMAGE=${NAP_NODE_BASE_IMAGE:-node:24-slim}
STATIC_IMAGE=${NAP_STATIC_BASE_IMAGE:-busybox:1.37}
CA=/etc/ssl/certs/ca-certificates.crt

exists() { docker image inspect "$1" >/dev/null 2>&1; }
is_stand_in() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "true" ]; }

if [ "${1:-}" = "--remove" ]; then
  for image in "$PYTHON_IMAGE" "$NODE_IMAGE" "$STATIC_IMAGE" "$ROOTFS_IMAGE"; do
    if exists "$image" && is_stand_in "$image"; then docker rmi "$image" >/dev/null && echo "removed $image"; fi
  done
  exit 0
fi

# wanted IMAGE: whether IMAGE must be built (missing); says so when a foreign one is there.
wanted() {
  if ! exists "$1"; then return 0; fi
  is_stand_in "$1" || echo "-----> $1 exists and is not a nap stand-in: using it as it is" >&2
  return 1
}

rootfs_image() {
  exists "$ROOTFS_IMAGE" && return 0
  mkdir -p "$CACHE"
  if [ ! -s "$ROOTFS_TAR" ]; then
    echo "-----> debootstrap --variant=minbase bookworm (once per machine, cached in $CACHE)"
    local dir
    dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    tar -C "$dir" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$dir"
  fi
  docker import -c "LABEL $LABEL=true" "$ROOTFS_TAR" "$ROOTFS_IMAGE" >/dev/null
}

# build_stand_in IMAGE DOCKERFILE [FILE...]: build IMAGE from DOCKERFILE's text with FILEs in the context.
build_stand_in() {
  local image=$1 dockerfile=$2 context
  shift 2
  context=$(mktemp -d)
  cp "$CA" "$context/ca-certificates.crt"
  for file in "$@"; do cp "$file" "$context/"; done
  printf '%s\n' "$dockerfile" "LABEL $LABEL=true" >"$context/Dockerfile"
  echo "-----> building the stand-in $image"
  docker build -q -t "$image" "$context" >/dev/null || { rm -rf "$context"; exit 1; }
  rm -rf "$context"
}

if wanted "$PYTHON_IMAGE"; then
  rootfs_image
  build_stand_in "$PYTHON_IMAGE" "FROM $ROOTFS_IMAGE
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 python3-pip python3-venv ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED \
 && ln -s /usr/bin/python3 /usr/local/bin/python && ln -s /usr/bin/pip3 /usr/local/bin/pip
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8
CMD [\"python3\"]"
fi

if wanted "$NODE_IMAGE"; then
  rootfs_image
  build_stand_in "$NODE_IMAGE" "FROM $ROOTFS_IMAGE
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      nodejs npm ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt
CMD [\"node\"]"
fi

if wanted "$STATIC_IMAGE"; then
  build_stand_in "$STATIC_IMAGE" "FROM scratch
COPY busybox /bin/busybox
RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]
RUN mkdir -p /etc /tmp /root && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd \
 && echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> /etc/passwd \
 && printf 'root:x:0:\nnogroup:x:65534:\n' > /etc/group
CMD [\"sh\"]" /bin/busybox
fi
echo "stand-ins ready: $PYTHON_IMAGE $NODE_IMAGE $STATIC_IMAGE"
