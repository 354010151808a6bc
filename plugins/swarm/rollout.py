"""Rolling a service to a release and waiting until it serves, or until it is back.

Swarm does the rolling (stop-first or start-first, one task at a time) and rolls
back by itself when a new task fails within the monitor period. nap watches:
the release counts as up once every replica of its spec runs and answers on its
node, the health checks pass, and the update is complete. Otherwise the old spec
must be serving again before the deploy is reported as failed.
"""

from __future__ import annotations

import time
from typing import Any

from nap_core import health
from nap_core.errors import DeployFailed
from nap_core.model import HealthChecks
from nap_core.output import Output
from nap_docker.labels import LABEL_RELEASE
from nap_swarm import tasks
from nap_swarm.manager import Manager
from nap_swarm.service import LABEL_REPLICAS

POLL = 0.5
ROLLING_BACK = ("rollback_started", "rollback_paused", "rollback_completed")


def wait_until_serving(
    manager: Manager,
    name: str,
    app: str,
    release: int,
    replicas: int,
    checks: HealthChecks,
    deadline: float,
    timeout: float,
    created: bool,
    output: Output,
) -> list[tasks.Task]:
    """Return the release's serving tasks once all ``replicas`` answer.

    Raise :class:`DeployFailed` when swarm rolls the update back, when a task of a
    new service fails, or when ``deadline`` passes (then nap asks for the rollback).
    """
    reported: set[str] = set()
    while True:
        service = manager.service(name, app)
        if service is None:
            raise DeployFailed(
                f"the service {name} vanished during the deploy of release {release}"
            )
        state = (service.get("UpdateStatus") or {}).get("State", "")
        found = tasks.read(manager, service)
        for task in tasks.failed(found, release):
            if task.id not in reported:
                reported.add(task.id)
                output.line(f"{task.name}: {task.state}: {task.error or 'no reason given'}")
        # Only a rollback away from this release counts: a status left by an earlier
        # failed deploy must not fail this one.
        ours = service["Spec"].get("Labels", {}).get(LABEL_RELEASE) == str(release)
        if state in ROLLING_BACK and not ours:
            message = (service.get("UpdateStatus") or {}).get("Message", "")
            raise DeployFailed(f"swarm rolled release {release} back ({message or state})")
        broken = tasks.failed(found, release)
        if created and broken:
            raise DeployFailed(
                f"release {release} failed on {broken[0].hostname or 'a node'}: "
                f"{broken[0].error or broken[0].state}"
            )
        up = [t for t in tasks.serving(found, release) if t.answers()]
        if len(up) >= replicas and state in ("", "completed"):
            for task in up:
                for _, port in task.ports:
                    health.verify(checks, task.address, port, release, deadline)
            return up
        if time.monotonic() > deadline:
            why = _why_waiting(found, release)
            raise DeployFailed(
                f"release {release} had {len(up)} of {replicas} replicas answering "
                f"after {timeout:g} s (update state: {state or 'none'}{why})"
            )
        time.sleep(POLL)


def _why_waiting(found: list[tasks.Task], release: int) -> str:
    """What Swarm says about the release's tasks that do not run, e.g. a pending task's
    ``no suitable node (host-mode port already in use on 3 nodes)``."""
    reasons = {t.error for t in found if t.release == release and t.state != "running" and t.error}
    return f"; swarm says: {'; '.join(sorted(reasons))}" if reasons else ""


def roll_back(manager: Manager, name: str, app: str, release: int, output: Output) -> None:
    """Ask swarm to return to the previous spec, unless it is already on its way."""
    service = manager.service(name, app)
    if service is None:
        return
    state = (service.get("UpdateStatus") or {}).get("State", "")
    if state in ROLLING_BACK or service["Spec"]["Labels"].get(LABEL_RELEASE) != str(release):
        return
    output.line(f"rolling {name} back to its previous spec")
    manager.update(service, service["Spec"], rollback=True)


def wait_until_back(
    manager: Manager, name: str, app: str, deadline: float
) -> dict[str, Any] | None:
    """Wait (until ``deadline``) for the previous spec to serve again; return the service."""
    while True:
        service = manager.service(name, app)
        if service is None:
            return None
        state = (service.get("UpdateStatus") or {}).get("State", "")
        labels = service["Spec"]["Labels"]
        number = labels.get(LABEL_RELEASE, "0")
        replicas = int(labels.get(LABEL_REPLICAS, "1"))
        found = tasks.read(manager, service)
        up = [t for t in tasks.serving(found, int(number)) if t.answers()]
        if state in ("rollback_completed", "rollback_paused", "paused") and len(up) >= replicas:
            return service
        if time.monotonic() > deadline:
            return service
        time.sleep(POLL)
