"""Does a Python app built by nap-python cost more than the same app with a
hand-written Dockerfile doing the same steps?

For each of N paired runs, two fresh apps hold the same Python sample
(requirements.txt with gunicorn, a WSGI app, Procfile `web: gunicorn app:app`);
one also holds a Dockerfile with the steps nap-python generates. Each is
deployed with `nap deploy` (a real git push into the bare repo and its
pre-receive hook) twice:
  (1) the first push, dependencies installed (the requirements carry a comment
      unique to the run, so no earlier layer is reused),
  (2) a code-only change, until the new content is served.
Prints the medians of both and the ratios plugin / Dockerfile. Target: the
change push within 1.1x.

Run as root with the engine and registry up (scripts/services.sh), the
stand-in base images built (scripts/base-images.sh) and nap-python installed:
    /opt/nap/venv/bin/python bench/apptypes.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import NAP
from report import Row

WSGI = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"{content}"]
"""

# The same steps nap-python generates for this app (see nap_python/dockerfile.py).
DOCKERFILE = """\
FROM python:3.14-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \\
    PIP_ROOT_USER_ACTION=ignore
COPY requirements.txt /app/
RUN pip install -r requirements.txt
COPY . /app
CMD ["/bin/sh", "-c", "gunicorn app:app"]
"""


def git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)


def sample(path: Path, run_id: str, dockerfile: bool) -> None:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "master")
    git(path, "config", "user.email", "bench@example.invalid")
    git(path, "config", "user.name", "bench")
    (path / "requirements.txt").write_text(f"gunicorn\n# run {run_id}\n")
    (path / "app.py").write_text(WSGI.format(content="v1"))
    (path / "Procfile").write_text("web: gunicorn app:app\n")
    if dockerfile:
        (path / "Dockerfile").write_text(DOCKERFILE)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "v1")


def deploy(env: dict[str, str], name: str, path: Path, content: str) -> float:
    """Seconds from `nap deploy` to ``content`` served at the release's URL."""
    start = time.perf_counter()
    done = subprocess.run(
        [*NAP, "deploy", name, str(path), "--json"], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"nap deploy {name} failed:\n{done.stderr}")
    url = json.loads(done.stdout)["placements"][0]["url"]
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    elapsed = time.perf_counter() - start
    if body != content:
        raise SystemExit(f"{name} served {body!r}, not {content!r}")
    return elapsed


def one_app(env: dict[str, str], work: Path, kind: str, run_id: str) -> tuple[float, float]:
    name = f"bna{kind[0]}{run_id}"
    path = work / name
    sample(path, run_id, dockerfile=kind == "dockerfile")
    try:
        first = deploy(env, name, path, "v1")
        (path / "app.py").write_text(WSGI.format(content="v2"))
        git(path, "commit", "-qam", "v2")
        change = deploy(env, name, path, "v2")
    finally:
        subprocess.run([*NAP, "apps", "destroy", name, "--force"], env=env, capture_output=True)
    return first, change


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (1 paired run when ``quick``, else 5)."""
    return measure(1 if quick else 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    measure(parser.parse_args().runs)


def measure(runs: int) -> list[Row]:
    """Time ``runs`` paired apps (see the module docstring); print and return the figures."""
    results: dict[str, list[tuple[float, float]]] = {"plugin": [], "dockerfile": []}
    with tempfile.TemporaryDirectory(prefix="nap-bench-apptypes-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NAP_")}
        env.update(NAP_HOME=str(work / "home"), NAP_DEPLOY_TIMEOUT="60", NAP_ROUTER="none")
        for n in range(runs):
            run_id = uuid.uuid4().hex[:8]
            # Alternate which goes first, so neither always meets a warmer engine.
            order = ["plugin", "dockerfile"] if n % 2 == 0 else ["dockerfile", "plugin"]
            for kind in order:
                results[kind].append(one_app(env, work, kind, run_id))
                first, change = results[kind][-1]
                print(f"run {n + 1} {kind:<10} first {first:6.2f} s  change {change:6.2f} s")
    medians = {
        kind: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for kind, runs in results.items()
    }
    print(f"\nmedians over {runs} paired runs")
    for kind, (first, change) in medians.items():
        print(f"  {kind:<10} first push {first:6.2f} s   code-only change {change:6.2f} s")
    first_ratio = medians["plugin"][0] / medians["dockerfile"][0]
    change_ratio = medians["plugin"][1] / medians["dockerfile"][1]
    print(f"  ratio plugin/dockerfile: first {first_ratio:.2f}x, change {change_ratio:.2f}x")
    pairs = zip(results["plugin"], results["dockerfile"], strict=True)
    paired = statistics.median(plugin[1] / dockerfile[1] for plugin, dockerfile in pairs)
    print(f"  median of the paired change-push ratios: {paired:.2f}x")
    print(f"  target change push <= 1.10x: {'met' if change_ratio <= 1.1 else 'NOT met'}")
    return [
        Row(
            "Python app, first push: nap-python vs a hand-written Dockerfile",
            medians["plugin"][0],
            "s",
            medians["dockerfile"][0],
            first_ratio,
        ),
        Row.paired(
            "Python app, code-only change: nap-python vs a hand-written Dockerfile",
            medians["plugin"][1],
            medians["dockerfile"][1],
            "s",
            1.1,
        ),
    ]


if __name__ == "__main__":
    main()
