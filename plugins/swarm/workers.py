"""The services of process types other than web (``nap-APP-TYPE``): no published
ports, no health checks; a release counts once each one runs its replicas.

Web's service rolls first (it is the one that must answer); then each other
type's. If one of them fails, every service this deploy touched goes back to
its previous spec (or is removed, if this deploy created it).
"""

from __future__ import annotations

import time
from typing import Any

from nap_core.config import Settings
from nap_core.errors import DeployFailed
from nap_core.model import App, AppConfig, Image, Release
from nap_core.output import Output
from nap_docker.labels import LABEL_APP
from nap_swarm import rollout, tasks
from nap_swarm.manager import Manager
from nap_swarm.service import LABEL_PROCESS, ServiceDraft, draft, service_name


def drafts(
    manager: Manager,
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    settings: Settings,
) -> list[ServiceDraft]:
    """The release's services of its types other than web."""
    return [
        draft(app, image, release, config, settings.registry, manager.options, {}, process)
        for process in release.processes.processes[1:]
    ]


def app_services(manager: Manager, app: App) -> list[dict[str, Any]]:
    """Every service nap made for ``app``, web's and the other types', by label."""
    return [s for s in manager.services() if s["Spec"].get("Labels", {}).get(LABEL_APP) == app.name]


def process_of(service: dict[str, Any]) -> str:
    """The process type a service runs (web for services older than process types)."""
    return str(service["Spec"].get("Labels", {}).get(LABEL_PROCESS, "web"))


def roll(
    manager: Manager,
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    settings: Settings,
    output: Output,
) -> list[tuple[ServiceDraft, bool]]:
    """Create or update each other type's service and wait until its replicas run.

    Returns what was rolled, ``(draft, existed)``, for :func:`undo`; on failure
    undoes those itself, then raises :class:`DeployFailed`.
    """
    rolled: list[tuple[ServiceDraft, bool]] = []
    deadline = time.monotonic() + manager.options.deploy_timeout
    try:
        for service in drafts(manager, app, image, release, config, settings):
            existing = manager.service(service.name, app.name)
            output.line(
                f"{'updating' if existing else 'creating'} service {service.name}: "
                f"{service.replicas} replica(s)"
            )
            if existing is None:
                manager.create(service.spec())
            else:
                manager.update(existing, service.spec())
            rolled.append((service, existing is not None))
            _wait_running(manager, service, deadline)
    except BaseException:
        undo(manager, rolled, output)
        raise
    return rolled


def _wait_running(manager: Manager, service: ServiceDraft, deadline: float) -> None:
    while True:
        found = manager.service(service.name, service.app)
        if found is None:
            raise DeployFailed(f"the service {service.name} vanished during the deploy")
        state = (found.get("UpdateStatus") or {}).get("State", "")
        current = tasks.read(manager, found)
        broken = tasks.failed(current, service.release)
        if broken or state in rollout.ROLLING_BACK:
            why = broken[0].error or broken[0].state if broken else state
            raise DeployFailed(f"{service.name} of release {service.release} failed: {why}")
        if len(tasks.serving(current, service.release)) >= service.replicas and state in (
            "",
            "completed",
        ):
            return
        if time.monotonic() > deadline:
            raise DeployFailed(
                f"{service.name} did not run {service.replicas} replica(s) of release "
                f"{service.release} within {manager.options.deploy_timeout:g} s"
            )
        time.sleep(rollout.POLL)


def undo(manager: Manager, rolled: list[tuple[ServiceDraft, bool]], output: Output) -> None:
    """Put the services a deploy rolled back where they were."""
    for service, existed in rolled:
        if existed:
            rollout.roll_back(manager, service.name, service.app, service.release, output)
        else:
            output.line(f"removing service {service.name}")
            manager.remove(service.name)


def retire(manager: Manager, app: App, release: Release, output: Output) -> None:
    """Remove the services of process types the release no longer has."""
    keep = {service_name(app, name) for name in release.processes.names}
    for service in app_services(manager, app):
        if service["Spec"]["Name"] not in keep:
            output.line(f"removing service {service['Spec']['Name']} (not in the Procfile)")
            manager.remove(service["Spec"]["Name"])
