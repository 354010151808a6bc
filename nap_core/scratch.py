"""Scratch directories that a killed nap process cannot leave behind.

A push's session and a local ``nap deploy`` each need a directory for the file
their hook answers in. It is made under ``NAP_HOME/tmp`` (never the system's
temp directory, where nothing of nap's would ever look again), named after the
identity of the process that made it (:func:`nap_core.processes.identity`). A
process killed with SIGKILL removes nothing; whoever makes the next one, and the
next command that touches an app (:mod:`nap_core.recovery`), removes every one
whose process is gone. Standard library only, for ``nap shell``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nap_core.processes import alive, identity

#: How a scratch directory's name starts; the maker's ``PID-STARTTIME`` follows.
PREFIX = ".scratch-"


@contextmanager
def scratch_dir(home: Path) -> Iterator[Path]:
    """An empty directory of this process's own under ``home/tmp``, removed afterwards."""
    top = home / "tmp"
    top.mkdir(parents=True, exist_ok=True)
    sweep(home)
    maker = identity().replace(":", "-")
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{maker}.", dir=top))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep(home: Path) -> None:
    """Remove the scratch directories under ``home/tmp`` whose makers are gone."""
    for entry in (home / "tmp").glob(f"{PREFIX}*"):
        maker = entry.name[len(PREFIX) :].split(".", 1)[0]
        pid, _, start = maker.partition("-")
        if pid.isdigit() and start.isdigit() and not alive(f"{pid}:{start}"):
            shutil.rmtree(entry, ignore_errors=True)
