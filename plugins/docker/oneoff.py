"""One-off containers: a release phase, app.json's scripts, ``nap run``.

They run through the ``docker`` command line, not the SDK: it already does
what an interactive run needs (stdin streamed and closed at its end, a TTY with
``-t``, the exit status of the command as its own), and the release phase
reads its output line by line the same way. Each container is named, labelled
``nap.oneoff=APP`` (so a deploy's clean-up of old releases never touches a
one-off) and ``nap.owner=PID:STARTTIME`` (the nap process that waits for it),
and removed afterwards whatever happens; if that process is SIGKILLed, the
scheduler's next ``retire`` removes it (:func:`orphaned`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from nap_core.errors import DeployFailed, NapError
from nap_core.output import Output
from nap_core.processes import alive, identity

LABEL_ONEOFF = "nap.oneoff"
LABEL_OWNER = "nap.owner"


class Hangup(Exception):
    """The client went away (SIGHUP/SIGTERM): the container must still go."""


def docker_command() -> str:
    """The ``docker`` program, or an error that says what to install."""
    found = shutil.which("docker")
    if found is None:
        raise NapError("one-off containers need the docker command line on the server (docker.io)")
    return found


def run(
    app: str,
    release: int,
    image: str,
    command: Sequence[str],
    env_file: Path,
    volumes: Sequence[tuple[str, str]],
    output: Output | None,
    timeout: float,
    engine: Sequence[str] = (),
    kind: str = "run",
) -> int:
    """Run ``command`` in a new container of ``image``; return its exit status.

    With ``output``, stdin is closed and every line goes to ``output``; past
    ``timeout`` seconds the container is removed and :class:`DeployFailed`
    raised. Without it (``nap run``), this process's stdin and stdout are the
    container's, with a TTY when stdin is one. ``engine`` holds global flags
    such as ``-H tcp://manager:2375``.
    """
    name = f"nap-{app}-r{release}-{kind}-{secrets.token_hex(3)}"
    docker = docker_command()
    argv = [docker, *engine, "run", "--rm", "--init", "--name", name]
    argv += ["--label", f"{LABEL_ONEOFF}={app}", "--label", f"nap.release={release}"]
    argv += ["--label", f"{LABEL_OWNER}={identity()}"]
    argv += ["--env-file", str(env_file)]
    for volume, path in volumes:
        argv += ["--volume", f"{volume}:{path}"]
    if output is None:
        argv.append("--interactive")
        if os.isatty(0):
            argv.append("--tty")
    argv += [image, *command]  # nap's pinned reference: it never starts with "-"
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGHUP, signal.SIGTERM)}

    def hang_up(signum: int, frame: FrameType | None) -> None:
        raise Hangup(signum)

    for sig in previous:
        signal.signal(sig, hang_up)
    try:
        if output is None:
            sys.stdout.flush()
            return subprocess.run(argv, check=False, timeout=timeout or None).returncode
        return _streamed(argv, output, timeout, name)
    except subprocess.TimeoutExpired:
        return 124  # as timeout(1) says it
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # --rm removes it when it exits; this covers a client gone or a deadline passed.
        subprocess.run([docker, *engine, "rm", "--force", name], capture_output=True, check=False)


def remove_orphans(client: Any, app: str, output: Output) -> None:
    """Remove the app's one-off containers whose nap process was killed, and wait
    until they are gone: started with ``--rm``, the engine may be removing one
    already, and their image can be removed only after."""
    import requests.exceptions

    import docker.errors

    listed = client.containers.list(all=True, filters={"label": f"{LABEL_ONEOFF}={app}"})
    for container in (c for c in listed if orphaned(c.labels)):
        output.line(f"removing {container.name}, whose nap process was killed")
        with contextlib.suppress(docker.errors.APIError):  # gone, or going already
            container.remove(force=True)
        gone = (docker.errors.APIError, requests.exceptions.RequestException, NapError)
        with contextlib.suppress(*gone):
            container.wait(condition="removed", timeout=30)


def orphaned(labels: dict[str, str]) -> bool:
    """Whether a one-off with these labels lost the nap process that waits for it
    (killed with its deploy or its ``nap run``): nothing will remove it but clean-up."""
    owner = labels.get(LABEL_OWNER, "")
    return bool(owner) and not alive(owner)


def _streamed(argv: list[str], output: Output, timeout: float, name: str) -> int:
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        process.kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    try:
        for raw in process.stdout:
            output.line(raw.rstrip(b"\r\n").decode(errors="replace"))
        status = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    if expired.is_set():
        raise DeployFailed(f"it did not finish within {timeout:g} s")
    return status
