"""Caddy's admin API, on a unix socket under NAP_HOME (default) or a loopback port.

Only the standard library: a request is a few hundred microseconds, and
``router_status`` runs before every ``nap`` command.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

from nap_core.errors import RouterUnavailable

#: Seconds an admin request may take (a load that starts TLS work returns at once).
TIMEOUT = 30.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def request(
    address: str, method: str, path: str, body: Any = None, timeout: float = TIMEOUT
) -> Any:
    """Send one request to the admin API at ``address`` (``unix//PATH`` or ``HOST:PORT``);
    ``body`` is a JSON value, or JSON already serialised (bytes).

    :return: the decoded JSON answer (``None`` for an empty one).
    :raise RouterUnavailable: Caddy is not there, or refused the request.
    """
    if address.startswith("unix/"):
        connection: http.client.HTTPConnection = _UnixConnection(address[5:], timeout)
        host = ""  # Caddy accepts only an empty Host on its socket
    else:
        hostname, _, port = address.rpartition(":")
        connection = http.client.HTTPConnection(hostname, int(port), timeout=timeout)
        host = address
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Host": host, "Content-Type": "application/json"}
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise RouterUnavailable(f"Caddy's admin API at {address} does not answer ({exc})") from exc
    finally:
        connection.close()
    if response.status >= 400:
        try:
            reason = json.loads(payload).get("error", "")
        except ValueError:
            reason = payload.decode(errors="replace")
        raise RouterUnavailable(f"Caddy refused {method} {path}: {reason.strip()[:300]}")
    return json.loads(payload) if payload.strip() else None


def answers(address: str) -> bool:
    """Whether the admin API answers at all (a short request)."""
    try:
        request(address, "GET", "/config/admin", timeout=2.0)
    except RouterUnavailable:
        return False
    return True
