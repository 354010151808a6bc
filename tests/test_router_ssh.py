"""The router through a real `git push` over sshd, as the `nap` user: the push
names the stable address first, Caddy outlives the SSH session that started
it, and `nap domains` works over SSH."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import SampleApp
from routerlab import free_port, get
from sshd import SshServer
from test_push import push, remote_lines


@pytest.fixture
def routed_server(docker_engine: Any) -> Iterator[SshServer]:
    http_port, https_port = free_port(), free_port()
    server = SshServer(
        {
            "NAP_ROUTER": "caddy",
            "NAP_ROUTER_HTTP_PORT": str(http_port),
            "NAP_ROUTER_HTTPS_PORT": str(https_port),
            "NAP_ROUTER_DRAIN": "1",
        }
    )
    pidfile = server.home / "router" / "caddy" / "caddy.pid"
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        server.stop()


def test_a_push_over_ssh_answers_at_the_router_and_domains_work_over_ssh(
    routed_server: SshServer, sample_app: SampleApp, rapp: str
) -> None:
    server = routed_server
    port = int(server.extra_env["NAP_ROUTER_HTTP_PORT"])

    pushed = push(server, sample_app, rapp, "master")

    assert pushed.returncode == 0, pushed.stderr
    lines = remote_lines(pushed)
    done = next(i for i, line in enumerate(lines) if line.startswith("=====> "))
    assert lines[done + 1].strip() == f"http://{rapp}.localhost:{port}"
    # The SSH session is over; Caddy, started by it, still serves.
    assert get(port, f"{rapp}.localhost") == (200, "hello 1")

    added = server.ssh("domains", "add", rapp, "www.example.test")
    assert added.returncode == 0, added.stderr
    assert get(port, "www.example.test") == (200, "hello 1")
    listed = server.ssh("domains", "list", rapp)
    assert listed.stdout.split() == [f"{rapp}.localhost", "www.example.test"]
    refused = server.ssh("domains", "add", rapp, "bad_domain!")
    assert refused.returncode != 0 and refused.stderr.startswith("error: invalid domain")
    assert server.ssh("certs", "add", rapp, "/etc/passwd", "/etc/shadow").returncode != 0
    removed = server.ssh("domains", "remove", rapp, "www.example.test")
    assert removed.returncode == 0, removed.stderr
    assert get(port, "www.example.test")[0] == 404


def test_only_an_admin_key_adds_domains_over_ssh(
    routed_server: SshServer, sample_app: SampleApp, rapp: str
) -> None:
    server = routed_server
    assert push(server, sample_app, rapp, "master").returncode == 0
    bob = server.base / "bob"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(bob)], check=True)
    assert server.nap("keys", "add", "bob", f"{bob}.pub").returncode == 0
    assert server.nap("acl", "add", rapp, "bob").returncode == 0

    listed = server.ssh("domains", "list", rapp, key=bob)
    refused = server.ssh("domains", "add", rapp, "www.example.test", key=bob)

    assert listed.returncode == 0 and listed.stdout.split() == [f"{rapp}.localhost"]
    assert refused.returncode != 0 and refused.stderr.startswith("error: ")
    assert server.ssh("domains", "list", rapp).stdout.split() == [f"{rapp}.localhost"]
