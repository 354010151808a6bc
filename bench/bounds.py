"""How fast hostile pushes are refused: a git bomb's tree check, a slow app's
probe, and `nap shell`'s start for a refused command. Prints figures.

    python bench/bounds.py
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import Row

from nap_core import health
from nap_core.model import Check
from nap_core.tree import PushTooLarge, Tree


def git(repo: Path, *args: str, stdin: str = "") -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], input=stdin, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip


def bomb(repo: Path, width: int = 10, depth: int = 8) -> str:
    entry = f"100644 blob {git(repo, 'hash-object', '-w', '--stdin', stdin='boom')}"
    for _ in range(depth):
        listing = "".join(f"{entry}\t{i}\n" for i in range(width))
        entry = f"040000 tree {git(repo, 'mktree', stdin=listing)}"
    return entry.split()[2]


def bench(quick: bool = False) -> list[Row]:
    """bench/run's entry: the figures as rows (the same run when ``quick``)."""
    return measure()


def main() -> None:
    measure()


def measure() -> list[Row]:
    """Time the three refusals (see the module docstring); print and return them."""
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "bomb.git"
        subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
        tree = bomb(repo)
        objects = sum(f.stat().st_size for f in (repo / "objects").rglob("*") if f.is_file())
        started = time.monotonic()
        with contextlib.suppress(PushTooLarge):
            Tree(repo, tree).check_bounds(100_000, 1 << 30)
        took = time.monotonic() - started
        print(f"git bomb: 10^8 files in {objects} bytes of objects, refused in {took:.2f} s")
    bomb_took = took

    server = socket.create_server(("127.0.0.1", 0))

    def drip() -> None:
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):  # the probe hangs up at its deadline
            for byte in b"HTTP/1.0 200 OK\r\n\r\nxxxxxxxxxxxxxxxx":
                time.sleep(0.5)
                conn.sendall(bytes([byte]))

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    reason = health.probe(Check("/"), "127.0.0.1", server.getsockname()[1], timeout=2)
    probe_took = time.monotonic() - started
    print(f"probe of an app sending a byte every 0.5 s, TIMEOUT=2: {reason!r} after "
          f"{time.monotonic() - started:.2f} s")  # fmt: skip

    env = {**os.environ, "SSH_ORIGINAL_COMMAND": "git-upload-pack 'nope'"}
    with tempfile.TemporaryDirectory() as home:
        env["NAP_HOME"] = home
        runs = []
        for _ in range(5):
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "nap", "shell", "--key", "k"], env=env, capture_output=True
            )
            runs.append(time.monotonic() - started)
    print(f"nap shell, a refused clone (ACL lookup included): best {min(runs) * 1000:.0f} ms")
    return [
        Row(
            "refusing a git bomb (10^8 files) at the tree check",
            bomb_took,
            "s",
            note=f"{objects} bytes of objects",
        ),
        Row.at_most("probe of an app sending a byte every 0.5 s, TIMEOUT=2", probe_took, "s", 2.5),
        Row(
            "`nap shell` refusing a clone (ACL lookup included), best of 5",
            min(runs) * 1000,
            "ms",
        ),
    ]


if __name__ == "__main__":
    main()
