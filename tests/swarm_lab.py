"""The 3-node swarm test lab (tests/lab/swarm/*.sh) as seen from the tests.

Three dockerd in network namespaces form a swarm; a registry in the hub
namespace serves every node at 10.78.0.1:5000, and a loopback forward on
127.0.0.1:5078 lets the host's engine push to it as a plain-HTTP registry.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).parent / "lab" / "swarm"
RUN = Path("/run/napswarm")
LOCK = Path("/run/napswarm.lock")
NODES = (1, 2, 3)
NET = "10.78.0"
REGISTRY = f"{NET}.1:5000"
FORWARD = "127.0.0.1:5078"


def node_socket(index: int) -> str:
    """The Engine API URL of node ``index`` (1 is the manager)."""
    return f"unix://{RUN}/n{index}/docker.sock"


def node_address(index: int) -> str:
    """The address node ``index`` publishes host-mode ports on."""
    return f"{NET}.1{index}"


MANAGER = node_socket(1)
ADDRESSES = tuple(node_address(i) for i in NODES)


class Lab:
    """A running lab: how to reach it, and how long it took to come up."""

    def __init__(self, up_seconds: float) -> None:
        self.up_seconds = up_seconds
        self.down_seconds = 0.0

    def env(self) -> dict[str, str]:
        """The settings that point nap at the lab, in host publish mode."""
        return {
            "NAP_SCHEDULER": "swarm",
            "NAP_SWARM_MANAGER": MANAGER,
            "NAP_REGISTRY": FORWARD,
            "NAP_SWARM_REGISTRY": REGISTRY,
            "NAP_SWARM_PUBLISH_MODE": "host",
            "NAP_SWARM_ENGINES": ",".join(node_socket(i) for i in NODES[1:]),
            # A deadline, not a speed claim: pulls and three stop-first swaps fit well inside.
            "NAP_DEPLOY_TIMEOUT": "120",
            "NAP_STOP_TIMEOUT": "2",
        }

    def client(self, index: int = 1) -> Any:
        """A docker SDK client of node ``index``."""
        import docker

        return docker.DockerClient(base_url=node_socket(index), version="auto", timeout=30)

    def dockerd_pid(self, index: int) -> int:
        """The PID of node ``index``'s dockerd."""
        return int((RUN / f"n{index}" / "dockerd.pid").read_text())

    def restart_node(self, index: int, deadline_seconds: float = 90) -> None:
        """Start node ``index``'s dockerd again and wait until the swarm sees it ready."""
        script("node-start.sh", str(index))
        deadline = time.monotonic() + deadline_seconds
        manager = self.client(1)
        while time.monotonic() < deadline:
            states = {
                n.attrs["Status"]["Addr"]: n.attrs["Status"]["State"] for n in manager.nodes.list()
            }
            if states.get(node_address(index)) == "ready":
                return
            time.sleep(1)
        raise AssertionError(f"node {index} did not rejoin the swarm")


def script(name: str, *args: str) -> None:
    """Run one of the lab scripts; fail with its output if it fails."""
    result = subprocess.run(
        ["bash", str(SCRIPTS / name), *args], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise AssertionError(f"{name} failed:\n{result.stdout}\n{result.stderr}")


@contextmanager
def running_lab() -> Iterator[Lab]:
    """Bring the lab up (after clearing one a killed run left behind), yield it, tear it down.

    A lock file keeps two test sessions on this machine from sharing the lab's
    fixed names: the second waits for the first.
    """
    if os.geteuid() != 0:
        raise AssertionError("the swarm lab needs root (network namespaces, dockerd)")
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        script("down.sh")
        started = time.monotonic()
        script("up.sh")
        lab = Lab(time.monotonic() - started)
        try:
            yield lab
        finally:
            stopped = time.monotonic()
            script("down.sh")
            lab.down_seconds = time.monotonic() - stopped
            print(f"swarm lab: up in {lab.up_seconds:.1f} s, down in {lab.down_seconds:.1f} s")
