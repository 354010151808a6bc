"""Where a service's tasks run: the manager's tasks joined with its nodes.

A task counts as serving only if the manager wants it running, its node
reports it running and the node itself is up: after a node's daemon dies its
tasks keep their last state, ``running``, until the node comes back.
"""

from __future__ import annotations

from typing import Any

import attrs

from nap_core.model import Instance, Placement
from nap_docker.labels import LABEL_RELEASE
from nap_docker.probe import answers
from nap_swarm.manager import Manager, node_address


@attrs.frozen
class Task:
    """One task of a service, as the manager reports it now."""

    id: str
    name: str
    release: int
    state: str
    desired: str
    node_ready: bool
    address: str
    hostname: str
    ports: tuple[tuple[int, int], ...]  # (target, published)
    error: str = ""

    @property
    def serving(self) -> bool:
        """Wanted running, running, on a node that is up."""
        return self.desired == "running" and self.state == "running" and self.node_ready

    def answers(self) -> bool:
        """Every published port accepts a TCP connection on the task's node."""
        return bool(self.ports) and all(answers(self.address, port) for _, port in self.ports)

    def placements(self, web_port: int | None = None) -> list[Placement]:
        """Where this task answers; the router uses those of ``web_port`` (default: the first)."""
        web = web_port or (self.ports[0][0] if self.ports else 0)
        return [
            Placement.http(self.name, self.address, published, target == web)
            for target, published in self.ports
        ]

    def instance(self, process: str = "web") -> Instance:
        """The day-2 view of this task, one of process type ``process``."""
        port = self.ports[0][1] if self.ports else 0
        state = self.state if self.node_ready else f"{self.state} (node down)"
        return Instance(self.name, self.release, state, self.address, port, process)


def read(manager: Manager, service: dict[str, Any]) -> list[Task]:
    """Every task the manager knows of ``service``, newest first per slot."""
    nodes = manager.nodes()
    endpoint_ports = list(
        dict.fromkeys(
            (int(p["TargetPort"]), int(p["PublishedPort"]))
            for p in service.get("Endpoint", {}).get("Ports", []) or []
            if p.get("PublishedPort")
        )
    )
    found = []
    raw_tasks = manager.tasks(service["ID"])
    raw_tasks.sort(key=lambda t: t.get("UpdatedAt", ""), reverse=True)
    for raw in raw_tasks:
        node = nodes.get(raw.get("NodeID", ""), {})
        status = raw.get("Status", {})
        # dict.fromkeys: the engine lists a host-mode port once per address family
        ports = list(
            dict.fromkeys(
                (int(p["TargetPort"]), int(p["PublishedPort"]))
                for p in (status.get("PortStatus") or {}).get("Ports", []) or []
            )
        )
        labels = raw.get("Spec", {}).get("ContainerSpec", {}).get("Labels", {}) or {}
        release = labels.get(LABEL_RELEASE, "0")
        hostname = node.get("Description", {}).get("Hostname", "")
        found.append(
            Task(
                id=raw["ID"],
                name=f"{service['Spec']['Name']}.{raw.get('Slot', raw['ID'][:12])}@{hostname}",
                release=int(release) if release.isdigit() else 0,
                state=str(status.get("State", "")),
                desired=str(raw.get("DesiredState", "")),
                node_ready=node.get("Status", {}).get("State") == "ready",
                address=node_address(node) if node else "",
                hostname=hostname,
                # Host-mode ports are per task; ingress ports belong to the service.
                ports=tuple(ports or endpoint_ports),
                error=str(status.get("Err", "") or ""),
            )
        )
    return found


def serving(tasks: list[Task], release: int) -> list[Task]:
    """The tasks of ``release`` that serve now, ordered by name."""
    return sorted((t for t in tasks if t.release == release and t.serving), key=lambda t: t.name)


def failed(tasks: list[Task], release: int) -> list[Task]:
    """The tasks of ``release`` that failed or were rejected."""
    return [t for t in tasks if t.release == release and t.state in ("failed", "rejected")]
