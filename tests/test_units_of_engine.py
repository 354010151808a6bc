"""Unit tests of the engine client's deadlines, against a socket that plays an engine.

The fault suite stops a real dockerd at a moment of a deploy; where the deploy is
at that moment varies with the machine's load. These tests put the hang at each
request of the client's start-up exactly, which the fault suite cannot.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nap_core.errors import NapError
from nap_docker.engine import docker_client

PONG = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nOK"


class StoppedEngine:
    """A unix socket that answers the first ``answered`` connections with a pong,
    then accepts and never answers, as a dockerd stopped by SIGSTOP does."""

    def __init__(self, path: Path, answered: int) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.answered = answered
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed by the test
            if self.answered > 0:
                self.answered -= 1
                conn.recv(4096)
                conn.sendall(PONG)
                conn.close()
            else:
                self.held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "docker.sock"
    docker_client.cache_clear()  # the clients made here must not serve other tests


@pytest.mark.parametrize("answered", [0, 1], ids=["before-the-probe", "after-the-probe"])
def test_an_engine_that_stops_during_the_clients_start_up_names_the_setting(
    engine_socket: Path, answered: int
) -> None:
    # answered=1: the probe's /_ping is answered, the version negotiation hangs.
    # That order failed with "Error while fetching server API version: ... Read timed
    # out" before, a line that named neither the deadline nor the setting.
    engine = StoppedEngine(engine_socket, answered)
    try:
        with pytest.raises(NapError) as raised:
            docker_client(f"unix://{engine_socket}", 1, "engine_timeout")
    finally:
        engine.close()

    assert str(raised.value) == (
        f"the Docker engine at unix://{engine_socket} did not answer within 1 s"
        " (engine_timeout); check that dockerd is running and not stopped"
        " (`docker version` must answer)"
    )
