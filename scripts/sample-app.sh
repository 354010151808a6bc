#!/bin/bash
# Create a sample app at DIR: a FROM-scratch image with busybox's httpd, committed
# in a fresh git repository. Used by the demos and the benchmarks.
set -euo pipefail
dir=$1
mkdir -p "$dir/www"
cp /bin/busybox "$dir/busybox"
echo "Hello from nap!" >"$dir/www/index.html"
cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
DOCKERFILE
git -C "$dir" init -q -b master
git -C "$dir" add -A
git -C "$dir" -c user.name=nap -c user.email=nap@localhost commit -q -m "Sample app"
