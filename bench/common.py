"""What several benches share: the nap command, the busybox app they deploy, a free port.

The standard library only, like :mod:`report`.
"""

from __future__ import annotations

import socket
import sys

#: ``nap`` as this interpreter runs it (the venv's, when a bench runs from it).
NAP = [sys.executable, "-m", "nap"]

#: A busybox httpd serving ``www/`` on port 8080: an app whose own cost is next to none.
HTTPD_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
