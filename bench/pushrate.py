"""Pushes per minute: 20 pushes over SSH to 10 apps at once, vs one after another.

    /opt/nap/venv/bin/python bench/pushrate.py [--apps N]

Runs as root on a machine set up like the tests' (scripts/services.sh running,
`nap server setup` allowed). It starts a private sshd on a loopback port, then
in the same process:

1. concurrent: 10 new apps, each a work tree whose HEAD~1 serves v1 and HEAD
   v2; both revisions of every app pushed at once (20 ``git push`` in
   parallel). A push of HEAD~1 that git refuses because HEAD landed first is
   git's answer, not a failure (tests/test_concurrency.py checks the same);
2. serial: 10 other new apps, the same 20 pushes one after another.

Each round's figure is deploys per minute: the releases nap recorded, over the
round's wall-clock time. The run checks what the issue asks of concurrent
pushes: every app ends at its last pushed content, release numbers have no gap
or duplicate; an app that does not counts as failed (target 0).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import SampleApp, http_get, make_sample_app
from report import Row
from sshd import SshServer

#: The sshd's port: in bench's own range (23000-23099), never a test's.
PORT = 23001


def push(server: SshServer, name: str, app: SampleApp, revision: str) -> bool:
    """Push ``revision`` of ``app`` as APP ``name``; whether git took it."""
    done = subprocess.run(
        ["git", "-C", str(app.path), "push", server.url(name), f"{revision}:refs/heads/master"],
        env=server.git_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode == 0


def landed(server: SshServer, name: str, app: SampleApp, index: int) -> tuple[int, bool]:
    """How many releases ``name`` has, and whether it ends right: at HEAD, serving
    v2, its release numbers without gap or duplicate."""
    listed = json.loads(server.ssh("releases", name, "--json").stdout or "[]")
    numbers = [r["release"] for r in listed]
    current = [r for r in listed if r["status"] == "current"]
    right = (
        numbers == list(range(len(numbers), 0, -1))
        and len(current) == 1
        and current[0]["revision"] == app.git("rev-parse", "HEAD").strip()
    )
    if right:
        try:
            right = http_get(current[0]["placements"][0]["url"]) == f"app {index} v2"
        except OSError:
            right = False
    return len(numbers), right


def round_of(server: SshServer, apps: list[tuple[str, SampleApp]], parallel: bool) -> tuple:
    """Push HEAD~1 and HEAD of every app (all at once, or one by one): (seconds,
    releases recorded, apps that did not end right)."""
    jobs = [(name, app, rev) for name, app in apps for rev in ("HEAD~1", "HEAD")]
    start = time.perf_counter()
    if parallel:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            list(pool.map(lambda job: push(server, *job), jobs))
    else:
        for job in jobs:
            push(server, *job)
    seconds = time.perf_counter() - start
    results = [landed(server, name, app, index) for index, (name, app) in enumerate(apps)]
    return seconds, sum(n for n, _ in results), sum(1 for _, right in results if not right)


def measure(count: int) -> list[Row]:
    """Run both rounds over ``count`` apps each; print and return the figures."""
    server = SshServer()
    server.port = PORT
    tag = uuid.uuid4().hex[:5]
    names: list[str] = []
    try:
        server.start()
        rounds = {}
        for kind in ("concurrent", "serial"):
            apps = []
            for index in range(count):
                app = make_sample_app(server.base / f"{kind}{index}", f"app {index} v1")
                app.serve(f"app {index} v2")
                apps.append((f"bn{kind[0]}{tag}{index}", app))
            names += [name for name, _ in apps]
            rounds[kind] = round_of(server, apps, parallel=kind == "concurrent")
    finally:
        for name in names:
            server.nap("apps", "destroy", name, "--force")
        server.stop()
    per_minute = {kind: released / seconds * 60 for kind, (seconds, released, _) in rounds.items()}
    for kind, (seconds, released, wrong) in rounds.items():
        print(
            f"{kind:<10} {2 * count} pushes to {count} apps: {released} releases in "
            f"{seconds:.1f} s = {per_minute[kind]:.1f} deploys/min, "
            f"{wrong} apps not at their last push"
        )
    ratio = per_minute["concurrent"] / per_minute["serial"]
    print(f"concurrent / serial = {ratio:.2f}x")
    return [
        Row(
            f"deploys per minute, {2 * count} pushes over SSH to {count} apps at once vs serial",
            per_minute["concurrent"],
            "deploys/min",
            per_minute["serial"],
            ratio,
        ),
        Row.none_failed(
            f"{2 * count} concurrent pushes: apps not at their last push, or with a gap",
            rounds["concurrent"][2],
            f"of {count} apps; {rounds['concurrent'][1]} releases",
        ),
    ]


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the issue's 20 pushes to 10 apps (the same when ``quick``)."""
    return measure(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=10, help="apps per round (2 pushes each)")
    measure(parser.parse_args().apps)


if __name__ == "__main__":
    main()
