"""What nap's SSH intake costs: medians of pushes and of `nap shell` start-up.

    /opt/nap/venv/bin/python bench/push.py [--pushes N] [--starts N]

Runs as root on a machine set up like the tests' (scripts/services.sh running,
`nap server setup` allowed). It starts a private sshd on a loopback port, then:

1. pushes a one-line change to a deployed busybox app through nap (a full
   deploy: build, publish, run), and the same change over the same sshd to a
   plain bare repository with no hook, through a key with no forced command;
2. reads the pre-receive hook's own run time from git's trace2 events, so
   ``nap push - hook - plain push`` is what the intake adds (nap shell,
   ensure_repo, the push lock), target at most 150 ms;
3. times ``SSH_ORIGINAL_COMMAND=help nap shell`` against ``python -c pass``
   (interleaved, as sshd runs it: the nap user, from its home), target at most
   1.5x (issue 14).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import BUSYBOX, HTTPD_DOCKERFILE, SampleApp
from report import Row
from sshd import SshServer, keygen

NAP_BIN = Path(sys.executable).parent / "nap"
#: The sshd's port: in bench's own range (23000-23099), never a test's.
PORT = 23000


def timed(
    argv: list[str], env: dict[str, str], cwd: Path | None = None, user: str | None = None
) -> float:
    """Seconds ``argv`` took (as ``user``, if given); it must succeed."""
    start = time.perf_counter()
    result = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, user=user, group=user
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} failed:\n{result.stderr}")
    return elapsed


def started(argv: list[str], env: dict[str, str], cwd: Path, user: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + sys) of ``argv`` run as ``user``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, user=user, group=user,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} failed")
    return elapsed, usage.ru_utime + usage.ru_stime


def hook_seconds(trace: Path) -> list[float]:
    """The run time of every pre-receive hook in a trace2 event file, in order."""
    hooks: dict[tuple[str, int], bool] = {}
    found = []
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        key = (event.get("sid", ""), event.get("child_id", -1))
        if event.get("event") == "child_start" and event.get("hook_name") == "pre-receive":
            hooks[key] = True
        elif event.get("event") == "child_exit" and hooks.pop(key, False):
            found.append(float(event["t_rel"]))
    return found


def sample_app(path: Path) -> SampleApp:
    path.mkdir(parents=True)
    shutil.copy(BUSYBOX, path / "busybox")
    app = SampleApp(path)
    app.git("init", "-q", "-b", "master")
    app.git("config", "user.email", "bench@example.invalid")
    app.git("config", "user.name", "bench")
    app.write("Dockerfile", HTTPD_DOCKERFILE)
    app.serve("hello 0")
    return app


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (3 pushes and 30 starts when ``quick``)."""
    return measure(3, 30) if quick else measure(5, 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--starts", type=int, default=30)
    args = parser.parse_args()
    measure(args.pushes, args.starts)


def measure(pushes: int, starts: int) -> list[Row]:
    """Time ``pushes`` paired pushes and ``starts`` paired start-ups; print and return them."""

    trace = Path("/tmp") / f"nap-bench-trace-{os.getpid()}.json"
    server = SshServer(extra_env={"GIT_TRACE2_EVENT": str(trace)})
    server.port = PORT
    app_name = f"bn{os.getpid()}"
    try:
        server.start()
        nap_user = pwd.getpwnam("nap")
        trace.touch()
        os.chown(trace, nap_user.pw_uid, nap_user.pw_gid)
        # A key without a forced command, for the plain pushes (a line nap did not write).
        plain_key = keygen(server.base / "plain")
        with server.keys.open("a") as keys:
            keys.write(Path(f"{plain_key}.pub").read_text())
        plain_repo = server.base / "plain.git"
        subprocess.run(["git", "init", "-q", "--bare", str(plain_repo)], check=True)
        subprocess.run(["chown", "-R", "nap:nap", str(plain_repo)], check=True)

        app = sample_app(server.base / "work")
        app.git("remote", "add", "nap", server.url(app_name))
        app.git("remote", "add", "plain", f"nap@127.0.0.1:{plain_repo}")
        nap_env, plain_env = server.git_env(), server.git_env(plain_key)
        timed(["git", "push", "-q", "nap", "master"], nap_env, app.path)  # first deploy
        timed(["git", "push", "-q", "plain", "master"], plain_env, app.path)
        first_hooks = len(hook_seconds(trace))

        nap_pushes, plain_pushes = [], []
        for n in range(1, pushes + 1):
            app.serve(f"hello {n}")
            nap_pushes.append(timed(["git", "push", "-q", "nap", "master"], nap_env, app.path))
            plain_pushes.append(
                timed(["git", "push", "-q", "plain", "master"], plain_env, app.path)
            )
        hooks = hook_seconds(trace)[first_hooks:]
        overheads = [
            nap - hook - plain
            for nap, hook, plain in zip(nap_pushes, hooks, plain_pushes, strict=True)
        ]

        # As sshd runs it: the nap user, from its home.
        env = {
            "PATH": os.environ["PATH"],
            "SSH_ORIGINAL_COMMAND": "help",
            "NAP_HOME": str(server.home),
        }
        home = Path(nap_user.pw_dir)
        bare, shell, bare_cpu, shell_cpu = [], [], [], []
        for _ in range(starts):  # interleaved, so both meet the same load
            for argv, walls, cpus in (
                ([sys.executable, "-c", "pass"], bare, bare_cpu),
                ([str(NAP_BIN), "shell", "--key", "bench"], shell, shell_cpu),
            ):
                wall, cpu = started(argv, env, home, "nap")
                walls.append(wall)
                cpus.append(cpu)
    finally:
        server.nap("apps", "destroy", app_name, "--force")  # its images and registry tags too
        subprocess.run(
            ["docker", "rm", "-f", *container_names(app_name)], capture_output=True, check=False
        )
        server.stop()
        trace.unlink(missing_ok=True)

    median = statistics.median
    print(f"push through nap (build + run)    {ms(median(nap_pushes))}")
    print(f"  of which the pre-receive hook   {ms(median(hooks))}")
    print(f"plain push, same sshd, no hook    {ms(median(plain_pushes))}")
    print(
        f"intake added (nap - hook - plain) {ms(median(overheads))}   target <= 150 ms"
        f"   {'ok' if median(overheads) <= 0.150 else 'OVER'}"
    )
    ratio = median(shell) / median(bare)
    print(f"nap shell start-up (help)         {ms(median(shell))}")
    print(f"python -c pass                    {ms(median(bare))}")
    print(
        f"start-up ratio                    {ratio:.2f}x   target <= 1.5x   "
        f"{'ok' if ratio <= 1.5 else 'OVER'}"
    )
    cpu_ratio = median(shell_cpu) / median(bare_cpu)
    print(
        f"CPU time (user + sys)             {ms(median(shell_cpu))} vs {ms(median(bare_cpu))}"
        f" = {cpu_ratio:.2f}x (less sensitive to other load than wall-clock)"
    )
    print(f"({pushes} pushes, {starts} starts, medians; {NAP_BIN})")
    return [
        Row(
            "push of a one-line change through nap (build + run) vs a plain push",
            median(nap_pushes) * 1000,
            "ms",
            median(plain_pushes) * 1000,
            median(nap_pushes) / median(plain_pushes),
        ),
        Row.at_most(
            "intake a push adds (nap push - its hook - a plain push, same sshd)",
            median(overheads) * 1000,
            "ms",
            150,
        ),
        Row.paired(
            "`nap shell` start-up (help) vs `python -c pass`",
            median(shell) * 1000,
            median(bare) * 1000,
            "ms",
            1.5,
            f"as the nap user; CPU time {cpu_ratio:.2f}x",
        ),
    ]


def container_names(app: str) -> list[str]:
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=nap.app={app}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


if __name__ == "__main__":
    main()
