"""One deploy per app at a time: an exclusive ``flock`` on ``NAP_HOME/locks/APP.lock``.

The kernel drops the lock when its holder dies, so a killed deploy never leaves
an app locked. Different apps have different files and deploy in parallel.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def app_lock(home: Path, app: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the app's lock for the duration of the block, waiting for it if taken.

    :param waiting: called once if another deploy holds the lock, before waiting.
    """
    fd = take(home / "locks" / f"{app}.lock", waiting)
    try:
        yield
    finally:
        os.close(fd)


@contextmanager
def push_lock(home: Path, app: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the app's push lock for the duration of the block (see :func:`take_push_lock`)."""
    fd = take_push_lock(home, app, waiting)
    try:
        yield
    finally:
        os.close(fd)


def take_push_lock(home: Path, app: str, waiting: Callable[[], None] | None = None) -> int:
    """Take the app's push lock, waiting for it if taken; return the locked descriptor.

    An intake holds it while a push lands (from before git advertises the refs
    until they are updated), so a second push starts only after the first has
    finished. Anything that removes an app takes it first, then the deploy lock,
    in the same order as a push, so neither can deadlock the other.
    """
    return take(home / "locks" / f"{app}.push.lock", waiting)


def take(path: Path, waiting: Callable[[], None] | None = None) -> int:
    """Lock ``path`` exclusively, waiting for it if taken; return the locked descriptor.

    The lock lasts until the descriptor is closed (by its last holder, or the kernel
    when that process exits).

    :param waiting: called once if someone else holds the lock, before waiting.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def if_free(home: Path, app: str) -> Iterator[bool]:
    """Hold the app's push and deploy locks for the block if both are free right
    now; yield whether they are held. Never waits: for clean-ups that a read-only
    command does on the side, and that the next deploy does anyway."""
    held: list[int] = []
    try:
        for path in (home / "locks" / f"{app}.push.lock", home / "locks" / f"{app}.lock"):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                break
            held.append(fd)
        yield len(held) == 2
    finally:
        for fd in held:
            os.close(fd)
