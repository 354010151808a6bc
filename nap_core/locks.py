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
    locks = home / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"{app}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
