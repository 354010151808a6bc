"""Running ``git-receive-pack`` for a push, cut if the client says nothing.

git speaks first (it advertises the refs) and then waits for the client's
commands, holding the app's push lock while it waits. A client that connects
and sends nothing would hold the lock for ever; so ``nap shell`` stays the
parent, relays the client's bytes to git, and ends the session if none come
within ``session_timeout`` seconds. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: How often the relay looks whether git has exited.
TICK = 1.0


def receive(repo: Path, env: Mapping[str, str], timeout: float) -> int:
    """Run ``git-receive-pack REPO``; return its exit status (1 if the client was cut).

    git inherits every inheritable descriptor (the push lock among them), and
    writes to the client directly; only its input passes through here.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    program = "git-receive-pack"
    try:
        proc = subprocess.Popen(
            [program, str(repo)], stdin=subprocess.PIPE, env=dict(env), close_fds=False
        )
    except OSError as exc:
        sys.stderr.write(f"error: cannot run {program} ({exc.strerror}): install git\n")
        return 1
    assert proc.stdin is not None
    try:
        cut = relay(proc, proc.stdin.fileno(), timeout)
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if cut:
        proc.kill()
        proc.wait()
        sys.stderr.write(
            f"error: the client sent nothing within {timeout:g} s (session_timeout); push again\n"
        )
        return 1
    code = proc.wait()
    return code if code >= 0 else 1


def relay(proc: subprocess.Popen[bytes], target: int, timeout: float) -> bool:
    """Copy stdin to ``target`` until EOF or git exits; True if the client sent
    nothing for ``timeout`` seconds before its first bytes (it is then to be cut)."""
    waited = 0.0
    started = False
    while proc.poll() is None:
        ready, _, _ = select.select([0], [], [], TICK)
        if not ready:
            waited += TICK
            if not started and waited >= timeout:
                return True
            continue
        data = os.read(0, 1 << 16)
        if not data:
            return False
        started = True
        try:
            _write_all(target, data)
        except BrokenPipeError:
            return False
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
