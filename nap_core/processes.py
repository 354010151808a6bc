"""Who is deploying: a process's identity that survives pid reuse; and how a
nap process ends.

A release being deployed records the identity of the process deploying it, so
that any later command can tell a deploy that is still running from one that
died (SIGKILL, a lost machine) and show the release as failed at once.
"""

from __future__ import annotations

import atexit
import os
import sys


def identity(pid: int | None = None) -> str:
    """``PID:STARTTIME`` of ``pid`` (default: this process); '' if it is gone.

    The start time (in clock ticks since boot, from ``/proc/PID/stat``) tells a
    reused pid from the process that first had it.
    """
    pid = os.getpid() if pid is None else pid
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return ""
    # fields[0] is the state (field 3 of stat(5)): a zombie has exited already,
    # and where PID 1 reaps nothing (a container) it stays one. The start time
    # is field 22.
    if fields[0] in (b"Z", b"X"):
        return ""
    return f"{pid}:{fields[19].decode()}"


def alive(recorded: str) -> bool:
    """Whether the process ``recorded`` by :func:`identity` still runs.

    An empty record (a release from before nap recorded deployers) counts as alive:
    only the deploy lock can then tell, and the next deploy does.
    """
    if not recorded:
        return True
    pid, _, _ = recorded.partition(":")
    return pid.isdigit() and identity(int(pid)) == recorded


def exit_now(code: object) -> None:
    """Exit with ``code`` (as :func:`sys.exit` takes it) without the interpreter's teardown.

    For the ends of nap's processes, where it is pure waiting: git moves a
    pushed branch only once the pre-receive hook is gone, and a command's
    caller waits for it too, while freeing every module of an interpreter with
    the docker SDK loaded takes 30-40 ms. Nothing is lost by skipping it: the
    ``atexit`` functions still run (those of the libraries loaded), the standard
    streams are flushed, nap.db's transactions are committed, and its locks are
    file descriptors the kernel releases.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # a message, as sys.exit prints it
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()  # what sys.exit would run; the teardown is what is skipped
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
