"""Does an instance answer? A TCP connect to the instance's own address.

A published host port proves nothing: docker-proxy accepts connections on it
even when nothing listens inside the container. So nap probes the address the
app itself listens on (the container's IP, or a node's host-mode port).
"""

from __future__ import annotations

import socket


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts a TCP connection at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
