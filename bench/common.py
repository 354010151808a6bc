"""What several benches share: the nap command and the busybox app the suite
deploys (the tests' own, from ``tests/conftest.py``), and a free port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import HTTPD_DOCKERFILE, NAP

__all__ = ["HTTPD_DOCKERFILE", "NAP", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
