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
3. times ``SSH_ORIGINAL_COMMAND=help nap shell`` against ``python -c pass``,
   target at most 3x.
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

from conftest import BUSYBOX, HTTPD_DOCKERFILE, SampleApp
from sshd import SshServer, keygen

NAP_BIN = Path(sys.executable).parent / "nap"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--starts", type=int, default=30)
    args = parser.parse_args()

    trace = Path("/tmp") / f"nap-bench-trace-{os.getpid()}.json"
    server = SshServer(extra_env={"GIT_TRACE2_EVENT": str(trace)})
    app_name = f"bench{os.getpid()}"
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
        for n in range(1, args.pushes + 1):
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
        bare = [timed([sys.executable, "-c", "pass"], env, home, "nap") for _ in range(args.starts)]
        shell = [
            timed([str(NAP_BIN), "shell", "--key", "bench"], env, home, "nap")
            for _ in range(args.starts)
        ]
    finally:
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
        f"start-up ratio                    {ratio:.2f}x   target <= 3x   "
        f"{'ok' if ratio <= 3 else 'OVER'}"
    )
    print(f"({args.pushes} pushes, {args.starts} starts, medians; {NAP_BIN})")


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
