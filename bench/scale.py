"""Does nap stay flat as apps pile up?  (issue 14, scale)

Prints, at three sizes of one NAP_HOME on the local scheduler behind nap's
Caddy router, the median over --runs of:
  deploy     `nap deploy` of a new app until it answers (removed again, untimed)
  redeploy   `nap deploy` of an app with no change
  apps       `nap apps`
  ps         `nap ps APP`
  router     one router config apply after a change to one app (a domain
             added), timed in this process: nap's table + Caddy's reload
and each figure's ratio to the 1-app value measured first in this same run.
Sizes: 1 app (busybox httpd FROM scratch, `nap deploy`); N running apps
(--running, default 500): the N-1 others started through nap's own release
lifecycle with the first app's image (a release of a new app, made current
and routed, as `nap rollback` makes one: no build or push); then M recorded
apps in all (--recorded, default 10000): the M-N others are written to nap.db
in bulk through nap's State (one transaction), not deployed one by one, as
stopped apps whose release once ran (nap.db marks them stopped).  Also:
memory per running app (RSS of its container's processes, and of its
engine-side processes: containerd-shim, docker-proxy) and the peak RSS of a
deploy (the largest process of `nap deploy`'s tree, from wait4; the apps are
started from a process of their own, so this one stays small).

Targets (issue 14): every figure within 1.1x of 1 app, the router within 1.5x.

Run as root with the engine and registry up (scripts/services.sh); setting up
takes ~0.5 s per running app:
    /opt/nap/venv/bin/python bench/scale.py [--running 500] [--recorded 10000]
    /opt/nap/venv/bin/python bench/scale.py --running 100 --recorded 2000   # smaller
    ... --json    figures as JSON on stdout (the lines above go to stderr)
Every app, container, image and the Caddy it starts are its own (names start
with --prefix, default "sc" + 4 random hex digits) and are removed at the end,
also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HTTPD_DOCKERFILE, NAP, free_port
from report import Row

FIGURES = ("deploy", "redeploy", "apps", "ps", "router")
TARGETS = {"router": 1.5}


class Bench:
    """One NAP_HOME, its apps, and the figures measured on it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="nap-scale-", dir=args.dir))
        self.home = self.work / "h"
        self.prefix = args.prefix or f"sc{uuid.uuid4().hex[:4]}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NAP_")}
        self.env.update(
            NAP_HOME=str(self.home), NAP_ROUTER="caddy",
            NAP_ROUTER_HTTP_PORT=str(args.http_port or free_port()),
            NAP_ROUTER_HTTPS_PORT=str(args.https_port or free_port()),
            NAP_ROUTER_DRAIN="1", NAP_STOP_TIMEOUT="2", NAP_DEPLOY_TIMEOUT="60",
        )  # fmt: skip
        self.deployed: list[str] = []
        self.source = self.work / "app"
        self.counter = 0

    # Apps

    def make_source(self) -> None:
        (self.source / "www").mkdir(parents=True)
        shutil.copy("/bin/busybox", self.source / "busybox")
        (self.source / "Dockerfile").write_text(HTTPD_DOCKERFILE)
        (self.source / "www" / "index.html").write_text("scale\n")
        git = ["git", "-C", str(self.source), "-c", "user.name=b", "-c", "user.email=b@x.invalid"]
        run("git", "init", "-q", "-b", "master", str(self.source))
        run(*git, "add", "-A")
        run(*git, "commit", "-qm", "scale")

    def name(self, kind: str) -> str:
        self.counter += 1
        return f"{self.prefix}-{kind}{self.counter}"

    def deploy(self, name: str) -> tuple[float, int]:
        """Deploy ``name``; seconds and the peak RSS (KiB) of the deploy's largest process."""
        self.deployed.append(name)
        start = time.perf_counter()
        child = subprocess.Popen(
            [*NAP, "deploy", name, str(self.source)], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert child.stderr is not None
        errors = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if child.returncode != 0:
            raise SystemExit(f"nap deploy {name} failed:\n{errors.decode()[-2000:]}")
        return seconds, int(usage.ru_maxrss)

    def destroy(self, name: str) -> None:
        subprocess.run(
            [*NAP, "apps", "destroy", name, "--force"], env=self.env,
            capture_output=True, check=False,
        )  # fmt: skip
        with contextlib.suppress(ValueError):
            self.deployed.remove(name)

    def fill(self, count: int, like: str) -> None:
        """Start ``count`` more running apps (:func:`fill_apps`), in a process of its own.

        Not in this one: the kernel gives a process it starts the high-water mark of
        this one's memory at exec (``vfork`` shares it), and ``wait4`` reports that as
        the child's peak. With nap's modules and 500 releases loaded here, every deploy
        measured afterwards would show this process's peak (47 MiB), not its own.
        """
        names = [self.name("r") for _ in range(count)]
        self.deployed.extend(names)
        code = (
            "import json, runpy, sys;"
            " runpy.run_path(sys.argv[1])['fill_apps'](*json.loads(sys.argv[2]))"
        )
        arguments = json.dumps([self.env, like, names])
        subprocess.run([sys.executable, "-c", code, __file__, arguments], check=True)

    def record(self, count: int, like: str) -> None:
        """Write ``count`` stopped apps into nap.db in one transaction, each with one
        release copied from ``like``'s current one (nap's State and schema)."""
        from nap_core.state import State

        state = State(self.home)
        try:
            row = dict(state.db.execute(
                "SELECT r.* FROM releases r JOIN apps a ON a.name = r.app"
                " AND a.current = r.number WHERE a.name = ?", (like,)).fetchone())  # fmt: skip
            columns = [c for c in row if c != "app"]
            stopped = "stopped" in {r[1] for r in state.db.execute("PRAGMA table_info(apps)")}
            now = time.time()
            names = [f"{self.prefix}-s{i}" for i in range(count)]
            with state.transaction() as db:
                db.executemany(
                    "INSERT INTO apps (name, created, current) VALUES (?, ?, ?)",
                    [(name, now, row["number"]) for name in names],
                )
                if stopped:
                    db.executemany("UPDATE apps SET stopped = 1 WHERE name = ?",
                                   [(name,) for name in names])  # fmt: skip
                db.executemany(
                    f"INSERT INTO releases (app, {', '.join(columns)})"
                    f" VALUES (?{', ?' * len(columns)})",
                    [(name, *(row[c] for c in columns)) for name in names],
                )
        finally:
            state.close()

    # Figures

    def nap(self, *words: str) -> float:
        start = time.perf_counter()
        run(*NAP, *words, env=self.env)
        return time.perf_counter() - start

    def router_apply(self, app: str) -> float:
        """Add a domain to ``app`` and time one apply of the routing table."""
        from nap_core import routing
        from nap_core.config import Settings
        from nap_core.domains import add_domain
        from nap_core.model import App
        from nap_core.output import Output
        from nap_core.plugins import plugin_manager
        from nap_core.state import State

        settings = Settings.load(self.env)
        pm = plugin_manager(self.env, settings=settings)
        state = State(self.home)
        try:
            self.counter += 1
            add_domain(state, App(app), f"d{self.counter}.{app}.example.test", settings)
            start = time.perf_counter()
            routing.update(state, App(app), settings, pm, Output())
            return time.perf_counter() - start
        finally:
            state.close()

    def measure(self, base: str) -> dict[str, float]:
        found: dict[str, list[float]] = {figure: [] for figure in FIGURES}
        for _ in range(self.args.runs):
            new = self.name("n")
            found["deploy"].append(self.deploy(new)[0])
            self.destroy(new)
            found["redeploy"].append(self.nap("deploy", base, str(self.source)))
            found["apps"].append(self.nap("apps"))
            found["ps"].append(self.nap("ps", base))
            found["router"].append(self.router_apply(base))
        return {figure: statistics.median(times) for figure, times in found.items()}

    # Clean-up

    def clean(self) -> None:
        # The recorded apps have nothing outside nap.db: forget them first, in one
        # transaction, so that each destroy below works on the running apps only.
        if (self.home / "nap.db").exists():
            from nap_core.state import State

            state = State(self.home)
            try:
                with state.transaction() as db:
                    db.execute("DELETE FROM apps WHERE name GLOB ?", (f"{self.prefix}-s[0-9]*",))
            finally:
                state.close()
        with ThreadPoolExecutor(self.args.jobs) as pool:
            list(pool.map(self.destroy, list(self.deployed)))
        # Anything a destroy missed: only containers named after this run's prefix.
        left = run("docker", "ps", "-aq", "--filter", f"name=^nap-{self.prefix}-").split()
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)
        tags = run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").split()
        mine = [tag for tag in tags if tag.split("/")[-1].startswith(f"{self.prefix}-")]
        if mine:
            subprocess.run(["docker", "rmi", *mine], capture_output=True, check=False)
        pid_file = self.home / "router" / "caddy" / "caddy.pid"
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        shutil.rmtree(self.work, ignore_errors=True)


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:5])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def fill_apps(env: dict[str, str], like: str, names: list[str]) -> None:
    """Start the apps ``names`` through nap's own release lifecycle: each a new app
    whose first release runs ``like``'s image (no build, no push: those do not depend
    on the number of apps), made current and routed."""
    import attrs

    from nap_core import lifecycle
    from nap_core.config import Settings
    from nap_core.model import App
    from nap_core.output import Output
    from nap_core.plugins import plugin_manager
    from nap_core.state import Change, State

    settings = Settings.load(env)
    pm = plugin_manager(env, settings=settings)
    state = State(settings.home)
    with open(os.devnull, "w") as quiet:
        try:
            base = state.current(App(like))
            assert base is not None
            for name in names:
                app = App(name)
                state.ensure_app(app)
                lifecycle.release_again(
                    state, attrs.evolve(base, app=app), Change(), settings, pm,
                    Output(quiet), "Filling",
                )  # fmt: skip
        finally:
            state.close()


def memory(prefix: str) -> tuple[float, float, int]:
    """MiB per running app: its container's processes, its engine-side processes; count."""
    ids = run("docker", "ps", "-q", "--no-trunc", "--filter", f"name=^nap-{prefix}-").split()
    if not ids:
        return 0.0, 0.0, 0
    # Only the two fields: the whole inspect of every container, parsed here, would
    # raise this process's memory high-water mark, which every deploy it starts next
    # inherits as its own peak (Bench.fill).
    fields = "{{.State.Pid}} {{.NetworkSettings.IPAddress}}"
    listed = [line.split() for line in run("docker", "inspect", "-f", fields, *ids).splitlines()]
    roots = {int(found[0]) for found in listed}
    ips = {found[1] for found in listed if len(found) > 1}
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    engine = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rpartition(")")[2].split()[1])
        found = re.search(r"VmRSS:\s+(\d+)", status)
        rss[pid] = int(found.group(1)) if found else 0
        name = os.path.basename(args[0])
        shim = name.startswith("containerd-shim") and any(i in args for i in ids)
        if shim or (name == "docker-proxy" and any(ip in args for ip in ips)):
            engine += rss[pid]
    inside = 0
    for pid in rss:
        ancestor = pid
        while ancestor > 1 and ancestor not in roots:
            ancestor = parents.get(ancestor, 0)
        if ancestor in roots:
            inside += rss[pid]
    return inside / len(ids) / 1024, engine / len(ids) / 1024, len(ids)


def report(label: str, figures: dict[str, float], base: dict[str, float], out: Any) -> None:
    cells = []
    for figure in FIGURES:
        target = TARGETS.get(figure, 1.1)
        ratio = figures[figure] / base[figure]
        mark = "" if ratio <= target else " (over)"
        cells.append(f"{figure} {figures[figure] * 1000:.0f} ms {ratio:.2f}x{mark}")
    print(f"{label:>26}: " + ", ".join(cells), file=out, flush=True)


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: this script run with --json in a child (it has its own
    clean-up on SIGTERM), its figures as rows; a smaller scale when ``quick``."""
    sizes = ["--running", "50", "--recorded", "1000", "--runs", "3"] if quick else ["--runs", "3"]
    done = subprocess.run(
        [sys.executable, __file__, "--json", *sizes], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench/scale.py failed: {done.stderr.strip()[-500:]}")
    print(done.stderr, end="")
    figures = json.loads(done.stdout)
    one = figures["seconds"]["1"]
    rows = [
        Row.paired(
            f"scale: {figure} at {size}", got[figure], one[figure], "s",
            TARGETS.get(figure, 1.1), "vs 1 app, same run",
        )
        for size, got in figures["seconds"].items() if size != "1"
        for figure in FIGURES
    ]  # fmt: skip
    memory = figures["memory_mib_per_app"]
    peak = figures["deploy_peak_rss_mib"]
    return [
        *rows,
        Row("scale: memory per running app (app)", memory["app"], "MiB"),
        Row("scale: memory per running app (engine-side)", memory["engine"], "MiB"),
        *(
            Row(f"scale: deploy peak RSS at {size if size != '1' else '1 app'}", mib, "MiB")
            for size, mib in peak.items()
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--running", type=int, default=500, help="running apps (default 500)")
    parser.add_argument("--recorded", type=int, default=10000, help="apps in nap.db (10000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--jobs", type=int, default=4, help="apps removed at a time at the end")
    parser.add_argument("--prefix", default="", help="app name prefix (default sc + 4 hex)")
    parser.add_argument("--http-port", type=int, default=0, help="router HTTP port (free one)")
    parser.add_argument("--https-port", type=int, default=0, help="router HTTPS port")
    parser.add_argument("--dir", default=None, help="where the NAP_HOME goes (system temp)")
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    args = parser.parse_args()
    if not 1 <= args.running <= args.recorded:
        parser.error("need 1 <= --running <= --recorded")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill too
    bench = Bench(args)
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout has only the JSON
    try:
        bench.make_source()
        base_app = bench.name("r")
        _, peak = bench.deploy(base_app)
        one = bench.measure(base_app)
        report("1 app", one, one, out)
        bench.fill(args.running - 1, base_app)
        at_running = bench.measure(base_app)
        app_mib, engine_mib, count = memory(bench.prefix)
        _, peak_running = bench.deploy(bench.name("p"))
        report(f"{args.running} running", at_running, one, out)
        bench.record(args.recorded - args.running, base_app)
        at_recorded = bench.measure(base_app)
        report(f"{args.recorded} recorded ({args.running} running)", at_recorded, one, out)
        print(
            f"memory per running app ({count} apps): {app_mib:.1f} MiB in the app, "
            f"{engine_mib:.1f} MiB engine-side (containerd-shim + docker-proxy)",
            file=out,
        )
        print(
            f"deploy peak RSS (largest process of `nap deploy`): {peak / 1024:.0f} MiB "
            f"at 1 app, {peak_running / 1024:.0f} MiB at {args.running} running",
            file=out,
        )
        print(
            f"{args.recorded - args.running} of the recorded apps were written to nap.db in "
            "bulk through nap's State (stopped, never deployed one by one)",
            file=out,
        )
        print(
            "targets: each figure <= 1.1x of 1 app, router <= 1.5x; medians of "
            f"{args.runs} runs, machine: {os.cpu_count()} cores",
            file=out,
        )
        if args.json:
            sizes = {"1": one, f"{args.running} running": at_running,
                     f"{args.recorded} recorded": at_recorded}  # fmt: skip
            print(json.dumps({
                "seconds": sizes,
                "ratios": {size: {k: v / one[k] for k, v in got.items()}
                           for size, got in sizes.items()},
                "targets": {figure: TARGETS.get(figure, 1.1) for figure in FIGURES},
                "running": args.running, "recorded": args.recorded, "runs": args.runs,
                "recorded_in_bulk": args.recorded - args.running,
                "memory_mib_per_app": {"app": app_mib, "engine": engine_mib, "apps": count},
                "deploy_peak_rss_mib": {"1": peak / 1024, f"{args.running} running":
                                        peak_running / 1024},
            }, indent=1))  # fmt: skip
    finally:
        bench.clean()


if __name__ == "__main__":
    main()
