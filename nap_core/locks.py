"""One deploy per app at a time: an exclusive ``flock`` on ``NAP_HOME/locks/APP.lock``.

The kernel drops the lock when its holder dies, so a killed deploy never leaves
an app locked. Different apps have different files and deploy in parallel.
The holder writes its pid and what it does into the file, so a waiter can say
who holds the lock; waits end after ``lock_timeout`` seconds.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nap_core.errors import DeployBusy

#: How often a waiter tries the lock again.
POLL = 0.1
#: ``lock_timeout``'s default.
DEFAULT_TIMEOUT = 1800.0


@contextmanager
def app_lock(
    home: Path,
    app: str,
    waiting: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    doing: str = "",
) -> Iterator[None]:
    """Hold the app's lock for the duration of the block, waiting for it if taken.

    :param waiting: called once with who holds the lock, if someone does, before waiting.
    :param timeout: seconds to wait before :class:`DeployBusy` is raised.
    """
    fd = take(home / "locks" / f"{app}.lock", waiting, timeout, doing)
    try:
        yield
    finally:
        os.close(fd)


@contextmanager
def push_lock(
    home: Path,
    app: str,
    waiting: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[None]:
    """Hold the app's push lock for the duration of the block (see :func:`take_push_lock`)."""
    fd = take_push_lock(home, app, waiting, timeout)
    try:
        yield
    finally:
        os.close(fd)


def take_push_lock(
    home: Path,
    app: str,
    waiting: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    doing: str = "",
) -> int:
    """Take the app's push lock, waiting for it if taken; return the locked descriptor.

    An intake holds it while a push lands (from before git advertises the refs
    until they are updated), so a second push starts only after the first has
    finished. Anything that removes an app takes it first, then the deploy lock,
    in the same order as a push, so neither can deadlock the other.
    """
    return take(home / "locks" / f"{app}.push.lock", waiting, timeout, doing or f"push to {app}")


def take(
    path: Path,
    waiting: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    doing: str = "",
) -> int:
    """Lock ``path`` exclusively, waiting for it if taken; return the locked descriptor.

    The lock lasts until the descriptor is closed (by its last holder, or the kernel
    when that process exits). The holder's pid and ``doing`` (default: its command
    line) are written into the file.

    :param waiting: called once with who holds the lock, if someone does, before waiting.
    :param timeout: seconds to wait before :class:`DeployBusy` is raised, naming the holder.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
    try:
        if not _try(fd):
            who = holder(fd)
            if waiting is not None:
                waiting(who)
            deadline = time.monotonic() + timeout
            while not _try(fd):
                if time.monotonic() > deadline:
                    raise DeployBusy(
                        f"{path.stem} is still locked by {who} after {timeout:g} s "
                        "(lock_timeout): try again later"
                    )
                time.sleep(POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({doing or _command()})\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def holder(fd: int) -> str:
    """Who holds the lock of ``fd``, as its holder wrote it: ``pid N (what)``."""
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return text.split("\n")[0] if text.startswith("pid ") else "another process"


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _command() -> str:
    # Never the whole command line: `config set APP KEY=SECRET` must not reach a waiter.
    words = [os.path.basename(sys.argv[0] or "nap"), *sys.argv[1:3]]
    return " ".join(word for word in words if "=" not in word)[:80]


@contextmanager
def if_free(home: Path, app: str) -> Iterator[bool]:
    """Hold the app's push and deploy locks for the block if both are free right
    now; yield whether they are held. Never waits: for clean-ups that a read-only
    command does on the side, and that the next deploy does anyway."""
    held: list[int] = []
    try:
        for path in (home / "locks" / f"{app}.push.lock", home / "locks" / f"{app}.lock"):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            if not _try(fd):
                os.close(fd)
                break
            held.append(fd)
        yield len(held) == 2
    finally:
        for fd in held:
            os.close(fd)
