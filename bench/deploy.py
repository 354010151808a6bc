"""How much does nap cost over doing the same steps by hand?

Prints medians over N runs of:
  (a) `nap deploy` of a trivial app (a one-line change each run) until it answers,
      in nap's default configuration (the router in front: the old release
      drains and stops after the deploy, as it does for users),
  (b) the same steps by hand in one script: git clone, docker build, docker push,
      docker run, wait until the port answers,
  (c) `nap deploy` again with no change,
  (d) (a) without a router (`router = "none"`): the old release stops inside
      the deploy, which the hand-run never does,
  (f) `nap deploy` of a fresh app (a new name, first deploy) and (g) the
      hand-run steps for a new name,
and the ratios a/b, d/b and f/g. Targets (issue 14): a/b <= 1.05, (c) <= 0.3 s.

Run as root with the engine and registry up (scripts/services.sh):
    /opt/nap/venv/bin/python bench/deploy.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import NAP, free_port  # noqa: E402
from report import Row  # noqa: E402


def run(*args: str, **kwargs: object) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout  # type: ignore[call-overload,no-any-return]


def wait_for(host: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{host}:{port} never answered")


def change(app: Path, label: str) -> None:
    """A one-line change: new content, so both paths build and push a new layer."""
    (app / "www" / "index.html").write_text(f"{label}\n")
    run("git", "-C", str(app), "commit", "-qam", label)


def unpush(repository: str) -> None:
    """Delete every tag of ``repository`` from the registry (what by_hand pushed)."""
    registry = "http://127.0.0.1:5000/v2"
    with urllib.request.urlopen(f"{registry}/{repository}/tags/list", timeout=10) as answer:
        tags = json.load(answer).get("tags") or []
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    for tag in tags:
        head = urllib.request.Request(f"{registry}/{repository}/manifests/{tag}", headers=accept)
        with urllib.request.urlopen(head, timeout=10) as answer:
            digest = answer.headers["Docker-Content-Digest"]
        url = f"{registry}/{repository}/manifests/{digest}"
        with contextlib.suppress(urllib.error.HTTPError):  # a digest two tags shared
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10)


def by_hand(app: Path, work: Path, name: str, n: int) -> float:
    """The baseline: what an operator would script without nap."""
    start = time.perf_counter()
    clone = work / f"clone-{n}"
    run("git", "clone", "-q", str(app), str(clone))
    tag = f"127.0.0.1:5000/{name}:{n}"
    run("docker", "build", "-q", "-t", tag, str(clone), env={**os.environ, "DOCKER_BUILDKIT": "0"})
    run("docker", "push", "-q", tag)
    cid = run("docker", "run", "-d", "--label", f"bench={name}", "-p", "127.0.0.1::8080", tag)
    ip = run("docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid.strip()).strip()
    wait_for(ip, 8080)
    elapsed = time.perf_counter() - start
    run("docker", "rm", "-f", cid.strip())
    shutil.rmtree(clone)
    return elapsed


#: The lines that end each phase of a deploy, in order (what nap prints).
PHASES = (
    ("start-up, intake, fetch", "-----> Building"),
    ("build", "-----> Publishing"),
    ("publish", "-----> Starting"),
    ("run, answer, retire the old", "=====> "),
)


def timed_deploy(name: str, app: Path, env: dict[str, str]) -> tuple[float, list[float]]:
    """Run `nap deploy`, and time it and each of its phases from its output lines."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*NAP, "deploy", name, str(app)], env=env, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    marks = []
    for line in proc.stderr:
        if len(marks) < len(PHASES) and line.startswith(PHASES[len(marks)][1]):
            marks.append(time.perf_counter() - start)
    if proc.wait() != 0:
        raise RuntimeError("nap deploy failed")
    total = time.perf_counter() - start
    ends = [*marks, total]
    return total, [end - begin for begin, end in zip([0.0, *marks], ends, strict=True)]


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (2 runs when ``quick``, else 5)."""
    return measure(2 if quick else 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    measure(parser.parse_args().runs)


def measure(runs: int) -> list[Row]:
    """Time ``runs`` paired deploys (nap, no-change, by hand); print and return the figures."""

    with tempfile.TemporaryDirectory(prefix="nap-bench-") as tmp:
        work = Path(tmp)
        # nap as it is installed: the router in front, on ports of its own.
        env = {
            **os.environ,
            "NAP_HOME": str(work / "home"),
            "NAP_STOP_TIMEOUT": "1",
            "NAP_ROUTER": "caddy",
            "NAP_ROUTER_HTTP_PORT": str(free_port()),
            "NAP_ROUTER_HTTPS_PORT": str(free_port()),
        }
        plain = {**env, "NAP_HOME": str(work / "home-plain"), "NAP_ROUTER": "none"}
        app = work / "app"
        run("bash", str(ROOT / "scripts" / "sample-app.sh"), str(app))
        name = f"bn-{uuid.uuid4().hex[:6]}"
        hand_name = f"{name}-hand"
        plain_name = f"{name}-plain"
        # Warm every path once (first push of the busybox layer, imports, Caddy's start).
        subprocess.run([*NAP, "deploy", name, str(app)], env=env, check=True, capture_output=True)
        subprocess.run(
            [*NAP, "deploy", plain_name, str(app)], env=plain, check=True, capture_output=True
        )
        by_hand(app, work, hand_name, 0)

        nap_times, hand_times, noop_times, plain_times = [], [], [], []
        fresh_times, fresh_hand_times = [], []
        fresh = [f"{name}-f{n}" for n in range(1, runs + 1)]
        phase_times: list[list[float]] = []
        try:
            for n in range(1, runs + 1):
                # A fresh app: a new name for both paths, the same content as the last run.
                fresh_times.append(timed_deploy(fresh[n - 1], app, env)[0])
                fresh_hand_times.append(by_hand(app, work, f"{hand_name}-f{n}", n))
                change(app, f"nap run {n}")
                total, phases = timed_deploy(name, app, env)
                nap_times.append(total)
                phase_times.append(phases)
                start = time.perf_counter()
                subprocess.run(
                    [*NAP, "deploy", name, str(app)], env=env, check=True, capture_output=True
                )
                noop_times.append(time.perf_counter() - start)
                plain_times.append(timed_deploy(plain_name, app, plain)[0])
                change(app, f"by hand run {n}")
                hand_times.append(by_hand(app, work, hand_name, n))
        finally:
            for app_name, its_env in ((name, env), (plain_name, plain), *((f, env) for f in fresh)):
                destroy = [*NAP, "apps", "destroy", app_name, "--force"]
                subprocess.run(destroy, env=its_env, capture_output=True, check=False)
            with contextlib.suppress(OSError, ValueError):  # this home's Caddy, by its pid
                pid_file = work / "home" / "router" / "caddy" / "caddy.pid"
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            for label in (f"nap.app={name}", f"nap.app={plain_name}", f"bench={hand_name}"):
                ids = run("docker", "ps", "-aq", "--filter", f"label={label}").split()
                if ids:
                    run("docker", "rm", "-f", *ids)
            for repository in (hand_name, *(f"{hand_name}-f{n}" for n in range(1, runs + 1))):
                with contextlib.suppress(OSError):
                    unpush(repository)
            tags = run("docker", "images", "-q", "--filter", f"reference=*/{hand_name}*")
            if tags.split():
                subprocess.run(["docker", "rmi", "-f", *set(tags.split())], capture_output=True)

    a, b, c = (statistics.median(t) for t in (nap_times, hand_times, noop_times))
    d = statistics.median(plain_times)
    f, g = statistics.median(fresh_times), statistics.median(fresh_hand_times)
    print(f"runs: {runs}")
    print(f"(a) nap deploy, change until it answers: {a:.3f} s")
    for index, (label, _) in enumerate([*PHASES, ("report, exit", "")]):
        print(f"      {label:<30} {statistics.median(p[index] for p in phase_times):.3f} s")
    print(f"(b) by hand (clone, build, push, run, wait): {b:.3f} s")
    print(f"(c) nap deploy, no change:                 {c:.3f} s")
    print(f"(d) (a) without a router:                  {d:.3f} s")
    print(f"(f) nap deploy of a fresh app:            {f:.3f} s")
    print(f"(g) by hand, a fresh name:                 {g:.3f} s")
    print(f"a/b = {a / b:.2f}, d/b = {d / b:.2f}, f/g = {f / g:.2f}  (target <= 1.05)")
    print(f"c   = {c:.3f} s (target <= 0.3 s)")
    return [
        Row.paired("deploy of a one-line change vs the same steps by hand", a, b, "s", 1.05),
        Row(
            "deploy of a one-line change without a router (the old release stops in the"
            " deploy) vs by hand",
            d,
            "s",
            b,
            d / b,
        ),
        Row.paired("deploy of a fresh app vs the same steps by hand", f, g, "s", 1.05),
        Row.at_most("no-change redeploy", c, "s", 0.3),
    ]


if __name__ == "__main__":
    main()
