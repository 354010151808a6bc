"""A full ``NAP_HOME``: one clear line instead of a traceback, and room to record
the failure.

SQLite cannot mark a release failed on a disk with no free page, so a deploy
would leave it *deploying* with its image kept. nap keeps a small reserve file
in NAP_HOME (made when a deploy starts, if there is room) and gives it up when a
deploy fails for want of space: the failure is then written, and the next
deploy that finds room makes the reserve again. Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path

from nap_core.errors import NapError

#: Bytes kept free for recording a failure (a few SQLite pages and their WAL frames).
RESERVE = 1 << 20
#: Below this much free space, a failed write in NAP_HOME is blamed on the disk.
LOW = 16 << 20
#: What git and SQLite say when a write found no room.
SIGNS = ("no space left", "disk is full", "unable to write", "unpack-objects abnormal exit")


def reserve_path(home: Path) -> Path:
    """The reserve file."""
    return home / "reserve"


def keep_reserve(home: Path) -> None:
    """Make the reserve if it is missing and there is room for it (never fails)."""
    path = reserve_path(home)
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError:
        return
    try:
        try:
            os.posix_fallocate(fd, 0, RESERVE)  # real blocks, even where zeros compress
        except OSError:
            os.write(fd, bytes(RESERVE))  # a file system without fallocate
    except OSError:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def is_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a write that found the disk full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def spend_reserve(home: Path, exc: BaseException) -> None:
    """Give up the reserve if ``exc`` is a full disk, so the failure can be recorded."""
    if is_full(exc):
        reserve_path(home).unlink(missing_ok=True)


def connect(path: Path) -> sqlite3.Connection:
    """Open the database at ``path`` (WAL, foreign keys on, rows by name).

    Opening a WAL database creates its ``-shm`` and ``-wal`` files: on a full disk
    that fails ("disk I/O error"), so the reserve is given up for them once.

    :raise NapError: the disk is full and there is no reserve left.
    """
    for attempt in (1, 2):
        db = sqlite3.connect(path, timeout=60, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            with contextlib.suppress(OSError):
                if shutil.disk_usage(path.parent).free >= LOW:
                    raise
            if attempt == 2 or not reserve_path(path.parent).exists():
                raise NapError(message(path.parent)) from exc
            reserve_path(path.parent).unlink(missing_ok=True)
    raise AssertionError("unreachable")


def with_room(home: Path, write: Callable[[], None], stop: bool = False) -> None:
    """Run ``write``, a record the clean-up needs (what a release built); if it
    found the disk full, give up the reserve and run it again.

    :param stop: fail afterwards if the disk is (nearly) full with no reserve
        left: the deploy stops once what it made is on record (so it is removed
        later), with room left to mark the release failed.
    :raise NapError: ``stop``, and the disk is full.
    """
    try:
        write()
    except sqlite3.OperationalError as exc:
        if not is_full(exc) or not reserve_path(home).exists():
            raise
        reserve_path(home).unlink(missing_ok=True)
        write()
    if stop and not reserve_path(home).exists():
        with contextlib.suppress(OSError):
            if shutil.disk_usage(home).free < RESERVE:
                raise NapError(message(home))


def message(home: Path) -> str:
    """The line for a deploy or command that found NAP_HOME full."""
    return (
        f"NAP_HOME ({home}) is full: no space left on device; free space there "
        "(`df` shows it), then push again"
    )


def explain(exc: BaseException, environ: Mapping[str, str]) -> str | None:
    """The line for an unexpected ``exc`` if it is a full disk, else None."""
    if not is_full(exc):
        return None
    from nap_core.paths import home_from

    return message(home_from(environ))


def hint(text: str, environ: Mapping[str, str]) -> str:
    """``text`` after the reason, if it reads like a failed write and NAP_HOME is
    nearly full (git says "unable to write" and leaves the cause out)."""
    from nap_core.paths import home_from

    home = home_from(environ)
    if not any(sign in text.lower() for sign in SIGNS) or "NAP_HOME" in text:
        return text
    with contextlib.suppress(OSError):
        if shutil.disk_usage(home).free < LOW:
            return f"{message(home)}; {text}"  # the cause first: the rest may be cut
    return text
