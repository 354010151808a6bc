"""Private parts for the fault suite (tests/test_faults_parts.py): a registry of
its own and a Caddy on ports of its own, so that stopping them never touches the
shared registry on 127.0.0.1:5000, the shared engine or anyone's Caddy.

Fixed ports 22000-22099 belong to these tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

REGISTRY_PORT = 22000
HTTP_PORT = 22080
HTTPS_PORT = 22043
ADMIN_PORT = 22019


class PrivateRegistry:
    """Debian's docker-registry with its own config and storage, on 127.0.0.1:22000."""

    def __init__(self, root: Path, port: int = REGISTRY_PORT) -> None:
        self.root = root
        self.address = f"127.0.0.1:{port}"
        self.config = root / "registry.yml"
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n"
        )

    def start(self) -> None:
        """Start it (again, on the same storage) and wait until it answers."""
        log = (self.root / "registry.log").open("ab")
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        for _ in range(200):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                return
            assert self.process.poll() is None, (self.root / "registry.log").read_text()
            time.sleep(0.05)  # waiting for it to listen, not an assertion
        raise AssertionError(f"the private registry did not start on {self.address}")

    def signal(self, number: int) -> None:
        """Send ``number`` to this registry (by its pid); reap it if that killed it."""
        assert self.process is not None
        os.kill(self.process.pid, number)
        if number == signal.SIGKILL:
            self.process.wait(10)

    def stop(self) -> None:
        """Kill it by pid (continued first, if it was stopped)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def db_is_intact(home: Path) -> bool:
    """Whether NAP_HOME/nap.db passes SQLite's integrity check."""
    with contextlib.closing(sqlite3.connect(home / "nap.db")) as db:
        return bool(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def wait_for(ready: object, seconds: float = 60) -> None:
    """Poll ``ready()`` until it is true (a bounded wait for a stage, not an assertion)."""
    deadline = time.monotonic() + seconds
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the deploy never reached the stage"
        time.sleep(0.05)
