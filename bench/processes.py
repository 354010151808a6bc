"""What process types cost on the local scheduler.

Prints medians over N runs of:
  (a) `nap deploy` of an app without a Procfile (a one-line change each run),
  (b) the same with a Procfile whose `release:` command does nothing (`true`),
  (c) the same with a Procfile `worker:` scaled to 1 besides web,
  (d) `nap run APP -- true` (a one-off container, created, run, removed),
  (e) `docker run --rm IMAGE true` by hand, the floor of (d),
and the ratios b/a, c/a and d/e.

Run as root with the engine and registry up (scripts/services.sh):
    /opt/nap/venv/bin/python bench/processes.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HTTPD_DOCKERFILE, NAP
from report import Row

PROCFILES = {
    "plain": None,
    "release": "release: /bin/busybox true\n",
    "worker": "web: /bin/busybox httpd -f -p 8080 -h /www\nworker: /bin/busybox sleep 999\n",
}


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    return done.stdout


def make_app(path: Path, procfile: str | None) -> None:
    path.mkdir(parents=True)
    shutil.copy("/bin/busybox", path / "busybox")
    (path / "Dockerfile").write_text(HTTPD_DOCKERFILE)
    (path / "www").mkdir()
    (path / "www" / "index.html").write_text("0\n")
    if procfile:
        (path / "Procfile").write_text(procfile)
    run("git", "init", "-q", "-b", "master", str(path))
    run("git", "-C", str(path), "add", "-A")
    run("git", "-C", str(path), "-c", "user.email=b@x", "-c", "user.name=b", "commit", "-qm", "0")


def timed(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(*args, env=env)
    return time.perf_counter() - start


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (2 runs when ``quick``, else 5)."""
    return measure(2 if quick else 5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    measure(parser.parse_args().runs)


def measure(runs: int) -> list[Row]:
    """Time ``runs`` rounds of the five (see the module docstring); print and return them."""
    work = Path(tempfile.mkdtemp(prefix="nap-bench-procs-"))
    env = {**os.environ, "NAP_HOME": str(work / "home"), "NAP_ROUTER": "none"}  # no Caddy left
    apps = {kind: f"bnp{uuid.uuid4().hex[:6]}{kind[0]}" for kind in PROCFILES}
    times: dict[str, list[float]] = {kind: [] for kind in [*PROCFILES, "run", "docker"]}
    try:
        for kind, procfile in PROCFILES.items():
            make_app(work / kind, procfile)
            run(*NAP, "deploy", apps[kind], str(work / kind), env=env)
        run(*NAP, "ps", "scale", apps["worker"], "worker=1", env=env)
        for n in range(1, runs + 1):
            for kind in PROCFILES:
                path = work / kind
                (path / "www" / "index.html").write_text(f"{n}\n")
                run("git", "-C", str(path), "-c", "user.email=b@x", "-c", "user.name=b",
                    "commit", "-qam", str(n))  # fmt: skip
                times[kind].append(timed(*NAP, "deploy", apps[kind], str(path), env=env))
            times["run"].append(
                timed(*NAP, "run", apps["plain"], "--", "/bin/busybox", "true", env=env)
            )
            record = json.loads(run(*NAP, "releases", apps["plain"], "--json", env=env))[0]
            times["docker"].append(
                timed("docker", "run", "--rm", record["image"], "/bin/busybox", "true", env=env)
            )
    finally:
        for app in apps.values():
            subprocess.run([*NAP, "apps", "destroy", app, "--force"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    med = {kind: statistics.median(values) for kind, values in times.items()}
    ratio = {
        "release": f"b/a = {med['release'] / med['plain']:.2f}",
        "worker": f"c/a = {med['worker'] / med['plain']:.2f}",
        "docker": f"d/e = {med['run'] / med['docker']:.2f}",
    }
    print(f"runs: {runs}")
    print(f"(a) deploy, no Procfile:          {med['plain']:.2f} s")
    print(f"(b) deploy, release: true:        {med['release']:.2f} s  {ratio['release']}")
    print(f"(c) deploy, web + 1 worker:       {med['worker']:.2f} s  {ratio['worker']}")
    print(f"(d) nap run APP -- true:          {med['run']:.2f} s")
    print(f"(e) docker run --rm IMAGE true:   {med['docker']:.2f} s  {ratio['docker']}")
    return [
        Row(
            "deploy with a `release: true` phase vs no Procfile",
            med["release"],
            "s",
            med["plain"],
            med["release"] / med["plain"],
        ),
        Row(
            "deploy of web + 1 worker vs web alone",
            med["worker"],
            "s",
            med["plain"],
            med["worker"] / med["plain"],
        ),
        Row(
            "`nap run APP -- true` vs `docker run --rm IMAGE true`",
            med["run"],
            "s",
            med["docker"],
            med["run"] / med["docker"],
        ),
    ]


if __name__ == "__main__":
    main()
