"""How long does a first push of an app FROM a big base image take, with the
release started while the publish runs (today's flow) or only after it
(``publish_first = true``, the order before)?

Each run builds a fresh ~300 MB base image (busybox plus a layer of random
bytes, so no run finds its layers in the registry already), an app FROM it, and
deploys it as a new app with `nap deploy` (router none), once per flow, in
alternating order. It prints the medians of:
  served    from the start of `nap deploy` until the app answers at its address,
  answered  until `nap deploy` returns (the push is accepted),
and the ratios new/old. Target: served <= 0.8x the flow before.

The registry is a private docker-registry on 127.0.0.1:24002 with its storage
in a temporary directory: every image and layer the benchmark makes is gone at
the end (base images and app images are removed by name).

Run as root with the engine up (scripts/services.sh):
    /opt/nap/venv/bin/python bench/firstpush.py [--runs N] [--size-mb 300]
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
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY_PORT = 24002
REGISTRY = f"127.0.0.1:{REGISTRY_PORT}"
BUSYBOX = "/bin/busybox"
sys.path.insert(0, str(ROOT / "bench"))

from common import NAP  # noqa: E402
from report import Row  # noqa: E402

APP_DOCKERFILE = """FROM {base}
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def run(*args: str, **kwargs: object) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout  # type: ignore[call-overload,no-any-return]


def start_registry(root: Path) -> subprocess.Popen[bytes]:
    root.mkdir(parents=True)
    config = root / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  delete:\n    enabled: true\n"
        f"  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: {REGISTRY}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the benchmark's registry on {REGISTRY} did not start")


def build_base(work: Path, tag: str, size_mb: int) -> None:
    """A base image of ``size_mb`` MB: busybox and random bytes (incompressible, unique)."""
    context = work / f"base-{uuid.uuid4().hex[:6]}"
    context.mkdir()
    shutil.copy(BUSYBOX, context / "busybox")
    with (context / "blob").open("wb") as blob:
        for _ in range(size_mb):
            blob.write(os.urandom(1 << 20))
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY blob /opt/blob\n"
    )
    classic = {**os.environ, "DOCKER_BUILDKIT": "0"}
    run("docker", "build", "-q", "-t", tag, str(context), env=classic)
    shutil.rmtree(context)


def make_app(path: Path, base: str) -> None:
    path.mkdir()
    (path / "www").mkdir()
    (path / "www" / "index.html").write_text("hello\n")
    (path / "Dockerfile").write_text(APP_DOCKERFILE.format(base=base))
    for args in (
        ("init", "-q", "-b", "master"),
        ("add", "-A"),
        ("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "app"),
    ):
        run("git", "-C", str(path), *args)


def answering_address(name: str) -> str | None:
    """``http://HOST:PORT`` of the app's running web container, if one publishes a port."""
    ids = run("docker", "ps", "-q", "--filter", f"label=nap.app={name}").split()
    if not ids:
        return None
    ports = json.loads(run("docker", "inspect", "-f", "{{json .NetworkSettings.Ports}}", ids[0]))
    for bindings in (ports or {}).values():
        for binding in bindings or ():
            return f"http://127.0.0.1:{binding['HostPort']}"
    return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.read().startswith(b"hello"))
    except OSError:
        return False


def first_push(name: str, app: Path, env: dict[str, str]) -> tuple[float, float]:
    """Deploy ``app`` as the new app ``name``; (served, answered) seconds from the start."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*NAP, "deploy", name, str(app)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    served = None
    while proc.poll() is None and served is None:
        url = answering_address(name)
        if url is not None and answers(url):
            served = time.perf_counter() - start
        else:
            time.sleep(0.05)
    _, stderr = proc.communicate()
    answered = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"nap deploy {name} failed: {stderr.decode()[-2000:]}")
    return (served if served is not None else answered), answered


def remove_app(name: str, env: dict[str, str]) -> None:
    subprocess.run(
        [*NAP, "apps", "destroy", name, "--force"], env=env, capture_output=True, check=False
    )
    ids = run("docker", "ps", "-aq", "--filter", f"label=nap.app={name}").split()
    if ids:
        run("docker", "rm", "-f", *ids)
    tags = run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"{REGISTRY}/{name}")
    for tag in tags.split():
        subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (1 pair when ``quick``, else 3)."""
    return measure(1 if quick else 3, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=300)
    args = parser.parse_args()
    measure(args.runs, args.size_mb)


def measure(runs: int, size_mb: int) -> list[Row]:
    """Time ``runs`` pairs of first pushes (old flow, new flow); print and return the figures."""
    prefix = f"ff{uuid.uuid4().hex[:6]}"
    flows = {"old": {"NAP_PUBLISH_FIRST": "true"}, "new": {"NAP_PUBLISH_FIRST": "false"}}
    results: dict[str, list[tuple[float, float]]] = {flow: [] for flow in flows}
    with tempfile.TemporaryDirectory(prefix="nap-bench-firstpush-") as tmp:
        work = Path(tmp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NAP_")},
            "NAP_HOME": str(work / "home"),
            "NAP_ROUTER": "none",
            "NAP_REGISTRY": REGISTRY,
            "NAP_STOP_TIMEOUT": "1",
        }
        registry = start_registry(work / "registry")
        bases: list[str] = []
        names: list[str] = []
        try:
            for n in range(1, runs + 1):
                order = ["old", "new"] if n % 2 else ["new", "old"]
                for flow in order:
                    base = f"{prefix}-base:{n}{flow}"
                    bases.append(base)
                    build_base(work, base, size_mb)
                    name = f"{prefix}-{n}{flow}"
                    names.append(name)
                    app = work / name
                    make_app(app, base)
                    timing = first_push(name, app, {**env, **flows[flow]})
                    results[flow].append(timing)
                    print(f"run {n} {flow}: served {timing[0]:.2f} s, answered {timing[1]:.2f} s")
                    remove_app(name, env)
                    subprocess.run(["docker", "rmi", base], capture_output=True, check=False)
        finally:
            for name in names:
                remove_app(name, env)
            for base in bases:
                subprocess.run(["docker", "rmi", base], capture_output=True, check=False)
            registry.terminate()
            registry.wait(30)

    medians = {
        flow: [statistics.median(t[i] for t in timings) for i in (0, 1)]
        for flow, timings in results.items()
    }
    print(f"runs: {runs} pairs, base image {size_mb} MB")
    for flow, label in (("old", "publish first (before)"), ("new", "start while publishing")):
        served, answered = medians[flow]
        print(f"  {label:<24} served {served:6.2f} s   answered {answered:6.2f} s")
    ratio_served = medians["new"][0] / medians["old"][0]
    ratio_answered = medians["new"][1] / medians["old"][1]
    paired = [
        statistics.median(
            new[i] / old[i] for old, new in zip(results["old"], results["new"], strict=True)
        )
        for i in (0, 1)
    ]
    print(f"served   new/old = {ratio_served:.2f} (median of pairs {paired[0]:.2f}; target <= 0.8)")
    print(f"answered new/old = {ratio_answered:.2f} (median of pairs {paired[1]:.2f})")
    note = f"{size_mb} MB base, vs publish_first = true"
    return [
        Row.paired("first push -> served", medians["new"][0], medians["old"][0], "s", 0.8, note),
        Row(
            "first push -> push answered",
            medians["new"][1],
            "s",
            medians["old"][1],
            ratio_answered,
            note=f"{note}; the push waits for the publish (no target)",
        ),
    ]


if __name__ == "__main__":
    main()
