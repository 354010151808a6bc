"""What the router costs and what it saves.

Prints, for one app behind nap's Caddy router (local scheduler):
  (a) a steady load from a separate process (a bounded Python client, a new
      connection per request, ~RATE req/s) against the router address during 5
      redeploys: requests sent, failed, p50 and p99 latency; and wrk's count of
      errors over the same redeploys (wrk keeps connections alive);
  (b) requests per second through the router vs straight to the container,
      measured with Debian's wrk in the same run, and their ratio
      (target >= 0.8);
  (c) the memory of the engine-side processes per running app (docker-proxy,
      and containerd-shim for scale), with and without published ports.

Run as root with the engine and registry up (scripts/services.sh):
    /opt/nap/venv/bin/python bench/router.py [--apps N] [--seconds S]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import HTTPD_DOCKERFILE, NAP, free_port  # noqa: E402
from report import Row  # noqa: E402


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def client(port: int, host: str, stop_file: Path, rate: float, limit_seconds: float) -> None:
    """The load process: GET until ``stop_file`` exists; print JSON figures."""
    latencies: list[float] = []
    failed: list[str] = []
    sent = 0
    interval = 1.0 / rate
    deadline = time.monotonic() + limit_seconds
    next_at = time.monotonic()
    while not stop_file.exists() and time.monotonic() < deadline:
        sent += 1
        start = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/", headers={"Host": host})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                failed.append(f"HTTP {response.status}")
        except OSError as exc:
            failed.append(type(exc).__name__)
        latencies.append(time.perf_counter() - start)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(json.dumps({"sent": sent, "failed": len(failed), "why": sorted(set(failed)),
                      "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}))  # fmt: skip


def wrk(url: str, seconds: float, host: str | None = None) -> subprocess.Popen[str]:
    args = ["wrk", "-t2", "-c16", f"-d{seconds:g}s", "--latency"]
    if host:
        args += ["-H", f"Host: {host}"]
    return subprocess.Popen([*args, url], stdout=subprocess.PIPE, text=True)


def wrk_figures(output: str) -> dict[str, Any]:
    """Requests/sec, total requests, and errors (socket errors + non-2xx) from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "requests": total,
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
    }


def proxy_memory(containers: list[dict[str, Any]]) -> tuple[int, int]:
    """KiB of RSS of the docker-proxy and containerd-shim processes serving ``containers``."""
    ips = {c["ip"] for c in containers}
    ids = {c["id"] for c in containers}
    proxy = shim = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) if "VmRSS" in status else 0  # type: ignore[union-attr]
        name = os.path.basename(args[0]) if args else ""
        if name == "docker-proxy" and any(ip in args for ip in ips):
            proxy += rss
        elif name.startswith("containerd-shim") and any(i in args for i in ids):
            shim += rss
    return proxy, shim


def containers_of(names: list[str]) -> list[dict[str, Any]]:
    import docker

    engine = docker.from_env(version="auto")
    found = []
    for name in names:
        listed = engine.containers.list(filters={"label": f"nap.app={name}"})
        for c in sorted(listed, key=lambda c: int(c.labels.get("nap.release", "0"))):
            found.append(
                {"id": c.id, "ip": c.attrs["NetworkSettings"]["IPAddress"], "name": c.name}
            )
    return found


def redeploys(
    app_dir: Path, git: list[str], name: str, env: dict[str, str], numbers: range
) -> list[float]:
    """Deploy a changed app once per number; return each deploy's seconds."""
    times = []
    for n in numbers:
        (app_dir / "www" / "index.html").write_text(f"release {n}\n")
        run(*git, "commit", "-qam", str(n))
        start = time.perf_counter()
        run(*NAP, "deploy", name, str(app_dir), env=env)
        times.append(time.perf_counter() - start)
    return times


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (2 apps and 5 s wrk runs when ``quick``)."""
    return measure(2, 5, 50) if quick else measure(5, 10, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=5, help="apps for the memory figures")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of each wrk run")
    parser.add_argument("--rate", type=float, default=50, help="req/s of the Python client")
    parser.add_argument("--client", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        port, host, stop, rate, limit = args.client
        client(int(port), host, Path(stop), float(rate), float(limit))
        return
    measure(args.apps, args.seconds, args.rate)


def measure(apps: int, seconds: float, rate: float) -> list[Row]:
    """Run the router's figures (see the module docstring); print and return them."""

    work = Path(tempfile.mkdtemp(prefix="nb-", dir="/tmp"))
    home = work / "h"
    http_port, https_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAP_")}
    env.update(NAP_HOME=str(home), NAP_ROUTER="caddy", NAP_ROUTER_HTTP_PORT=str(http_port),
               NAP_ROUTER_HTTPS_PORT=str(https_port), NAP_ROUTER_DRAIN="3",
               NAP_STOP_TIMEOUT="2", NAP_DEPLOY_TIMEOUT="30")  # fmt: skip
    app_dir = work / "app"
    (app_dir / "www").mkdir(parents=True)
    shutil.copy("/bin/busybox", app_dir / "busybox")
    (app_dir / "Dockerfile").write_text(HTTPD_DOCKERFILE)
    (app_dir / "www" / "index.html").write_text("release 1\n")
    git = ["git", "-C", str(app_dir), "-c", "user.name=b", "-c", "user.email=b@example.invalid"]
    run("git", "init", "-q", "-b", "master", str(app_dir))
    run(*git, "add", "-A")
    run(*git, "commit", "-qm", "1")
    tag = uuid.uuid4().hex[:6]
    name = f"bnr{tag}"
    names = [name]
    try:
        run(*NAP, "deploy", name, str(app_dir), env=env)
        host = f"{name}.localhost"

        # (a) five redeploys under a steady load from a separate process, then five
        # more under wrk's keep-alive connections (one load at a time: 2 cores).
        stop = work / "stop"
        load = subprocess.Popen(
            [sys.executable, __file__, "--client", str(http_port), host, str(stop),
             str(rate), "600"], stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        times = redeploys(app_dir, git, name, env, range(2, 7))
        time.sleep(4)  # past the last drain: the old release is stopped under load too
        stop.touch()
        figures = json.loads(load.communicate(timeout=60)[0])
        keepalive = wrk(f"http://127.0.0.1:{http_port}/", 600, host)
        times += redeploys(app_dir, git, name, env, range(7, 12))
        time.sleep(4)
        keepalive.send_signal(signal.SIGINT)
        during = wrk_figures(keepalive.communicate(timeout=60)[0])

        # (b) throughput, router vs straight to the container, same app, same run.
        container = containers_of([name])[-1]  # the current release (its old one may drain)
        routed = wrk_figures(wrk(f"http://127.0.0.1:{http_port}/", seconds, host).communicate()[0])
        direct = wrk_figures(wrk(f"http://{container['ip']}:8080/", seconds).communicate()[0])

        # (c) engine-side memory per app, unpublished (behind the router) vs published.
        quiet = [f"bnr{tag}q{i}" for i in range(apps)]
        loud = [f"bnr{tag}p{i}" for i in range(apps)]
        names += quiet + loud
        for other in quiet:
            run(*NAP, "deploy", other, str(app_dir), env=env)
        for other in loud:
            run(*NAP, "deploy", other, str(app_dir), env={**env, "NAP_LOCAL_PUBLISH_PORTS": "true"})
        q_proxy, q_shim = proxy_memory(containers_of(quiet))
        p_proxy, p_shim = proxy_memory(containers_of(loud))

        print(f"redeploys under load: 5 + 5, each {statistics.median(times):.1f} s (median)")
        print(f"  python client (new connection per request, {rate:g}/s): "
              f"sent {figures['sent']}, failed {figures['failed']} {figures['why'] or ''}, "
              f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms")  # fmt: skip
        print(
            f"  wrk (16 keep-alive connections) over 5 more redeploys: "
            f"{during['requests']} requests, {during['errors']} errors"
        )
        print(
            f"throughput: router {routed['rps']:.0f} req/s, direct {direct['rps']:.0f} req/s, "
            f"ratio {routed['rps'] / direct['rps']:.2f} (target >= 0.8)"
        )
        print(
              f"engine-side memory per app ({apps} apps each): "
              f"docker-proxy {p_proxy / apps / 1024:.1f} MiB published vs "
              f"{q_proxy / apps / 1024:.1f} MiB unpublished; containerd-shim "
              f"{p_shim / apps / 1024:.1f} vs {q_shim / apps / 1024:.1f} MiB"
        )  # fmt: skip
        return [
            Row.none_failed(
                "requests failed during 5 redeploys, new connection per request",
                figures["failed"],
                f"{figures['sent']} sent at {rate:g}/s, p99 {figures['p99_ms']:.0f} ms",
            ),
            Row.none_failed(
                "requests failed during 5 more redeploys, wrk keep-alive",
                during["errors"],
                f"{during['requests']} sent; idle keep-alive connections a reload closes, "
                "which wrk does not retry: docs/router.md",
            ),
            Row.paired(
                "throughput through the router vs straight to the container",
                routed["rps"],
                direct["rps"],
                "req/s",
                0.8,
                "wrk, 16 connections",
                at_least=True,
            ),
            Row(
                "engine-side memory per app, published port vs behind the router",
                (p_proxy + p_shim) / apps / 1024,
                "MiB",
                (q_proxy + q_shim) / apps / 1024,
                (p_proxy + p_shim) / (q_proxy + q_shim) if q_proxy + q_shim else None,
                note="docker-proxy + containerd-shim",
            ),
        ]
    finally:
        for other in names:
            destroy = [*NAP, "apps", "destroy", other, "--force"]
            subprocess.run(destroy, env=env, capture_output=True, check=False)
        pid_file = home / "router" / "caddy" / "caddy.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
