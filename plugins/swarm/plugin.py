"""The swarm scheduler's hooks: one Swarm service per app, rolled to each release.

Active with ``scheduler = "swarm"``. The deploy hooks (render_units, schedule,
is_current) are here; the day-2 ones (instances, logs, control, destroy) are in
:mod:`nap_swarm.operations`.
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from nap_core.config import Settings
from nap_core.errors import DeployFailed, what_serves
from nap_core.hookimpl import hookimpl
from nap_core.model import App, AppConfig, Image, Placement, Release, Source, Unit
from nap_core.output import Output
from nap_core.templates import render
from nap_docker.envfile import env_file, write_env_file
from nap_docker.labels import LABEL_RELEASE
from nap_docker.web import web_port
from nap_swarm import options, rollout, tasks, workers
from nap_swarm.manager import Manager
from nap_swarm.oneoff import run_once
from nap_swarm.operations import control, destroy, instances, logs, retire
from nap_swarm.service import (
    ServiceDraft,
    choose_ports,
    draft,
    node_image,
    service_name,
)

NAME = "swarm"

# pluggy finds hook implementations among a module's attributes, so the day-2
# hooks, imported above, register with this module's entry point.
__all__ = [
    "control",
    "destroy",
    "instances",
    "is_current",
    "logs",
    "render_units",
    "retire",
    "run_once",
    "schedule",
]


def _draft(
    manager: Manager,
    existing: dict[str, Any] | None,
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    settings: Settings,
) -> ServiceDraft:
    """The release's service; its published ports are the ``existing`` service's if any."""
    name = service_name(app)
    mode = manager.options.publish_mode
    current: dict[int, int] = {}
    if existing is not None:
        for port in existing["Spec"].get("EndpointSpec", {}).get("Ports", []) or []:
            if port.get("PublishMode", "ingress") == mode and port.get("PublishedPort"):
                current[int(port["TargetPort"])] = int(port["PublishedPort"])
    taken = [
        int(port["PublishedPort"])
        for service in manager.services()
        if service["Spec"]["Name"] != name
        for port in (service["Spec"].get("EndpointSpec", {}).get("Ports", []) or [])
        + (service.get("Endpoint", {}).get("Ports", []) or [])
        if port.get("PublishedPort")
    ]
    published = choose_ports(app, image.ports, current, taken, manager.options)
    return draft(app, image, release, config, settings.registry, manager.options, published)


@hookimpl
def render_units(
    app: App, image: Image, release: Release, config: AppConfig, settings: Settings
) -> list[Unit] | None:
    """The release's service as a stack file, ``nap-APP.stack.yml``: the record of what runs."""
    manager = Manager(options.load(settings))
    existing = manager.service(service_name(app), app.name)
    web = _draft(manager, existing, app, image, release, config, settings)
    units = []
    for service in [web, *workers.drafts(manager, app, image, release, config, settings)]:
        text = render(
            settings,
            NAME,
            "nap_swarm",
            "stack.yml",
            **service.template_context(str(env_file(settings, release))),
        )
        units.append(Unit(f"{service.name}.stack.yml", text, "spec"))
    return units


@hookimpl
def schedule(
    units: list[Unit],
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    previous: Release | None,
    settings: Settings,
    output: Output,
) -> list[Placement] | None:
    """Create or update the app's service and wait until every replica of the release answers.

    On failure the service is back on its previous spec (or removed, if this
    release created it) before :class:`DeployFailed` is raised.
    """
    opts = options.load(settings)
    manager = Manager(opts)
    existing = manager.service(service_name(app), app.name)
    service = _draft(manager, existing, app, image, release, config, settings)
    write_env_file(env_file(settings, release), dict(service.env))
    deadline = time.monotonic() + opts.deploy_timeout
    verb = "updating" if existing else "creating"
    output.line(
        f"{verb} service {service.name} on {opts.manager}: {service.replicas} replica(s), "
        f"{opts.publish_mode}-mode ports {_ports(service)}, {opts.order}"
    )
    if existing is None:
        manager.create(service.spec())
    else:
        manager.update(existing, service.spec())
    try:
        up = rollout.wait_until_serving(
            manager,
            service.name,
            app.name,
            release.number,
            service.replicas,
            release.checks,
            deadline,
            opts.deploy_timeout,
            created=existing is None,
            output=output,
        )
        workers.roll(manager, app, image, release, config, settings, output)
    except BaseException as exc:
        still = _recover(manager, service, existing is not None, previous, output)
        if isinstance(exc, DeployFailed):
            raise DeployFailed(f"{exc}; {still}") from exc
        raise
    web = web_port(app, image.ports, dict(service.env), settings)
    return [placement for task in up for placement in task.placements(web)]


def _recover(
    manager: Manager,
    service: ServiceDraft,
    existed: bool,
    previous: Release | None,
    output: Output,
) -> str:
    """Put the swarm back as it was before this deploy; say what serves now."""
    if not existed:
        output.line(f"removing service {service.name}")
        manager.remove(service.name)
        return what_serves(None)
    rollout.roll_back(manager, service.name, service.app, service.release, output)
    deadline = time.monotonic() + manager.options.deploy_timeout
    back = rollout.wait_until_back(manager, service.name, service.app, deadline)
    number = (back or {}).get("Spec", {}).get("Labels", {}).get(LABEL_RELEASE, "")
    if previous is not None and number == str(previous.number):
        return what_serves(previous.number)
    return f"the service is back on release {number or '?'}"


def _ports(service: ServiceDraft) -> str:
    return ", ".join(f"{published}->{target}" for target, published in service.ports) or "none"


@hookimpl
def is_current(
    app: App, source: Source, config: AppConfig, last: Release | None, settings: Settings
) -> Release | None:
    """The release with this content (``last``), if the service runs its spec with
    every replica answering."""
    if last is None or last.image is None:
        return None
    opts = options.load(settings)
    manager = Manager(opts)
    found = manager.service(service_name(app), app.name)
    if found is None:
        return None
    spec = found["Spec"]
    state = (found.get("UpdateStatus") or {}).get("State", "")
    if spec.get("Labels", {}).get(LABEL_RELEASE) != str(last.number) or state not in (
        "",
        "completed",
        "rollback_completed",
    ):
        return None
    image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
    if image != node_image(last.image.pinned, settings.registry, opts.registry):
        return None
    up = [t for t in tasks.serving(tasks.read(manager, found), last.number) if t.answers()]
    if len(up) < config.replicas:
        return None
    for process in last.processes.names[1:]:
        other = manager.service(service_name(app, process), app.name)
        labels = (other or {}).get("Spec", {}).get("Labels", {})
        if other is None or labels.get(LABEL_RELEASE) != str(last.number):
            return None
        if len(tasks.serving(tasks.read(manager, other), last.number)) < config.scale(process):
            return None
    targets = tuple(target for target, _ in up[0].ports) if up else ()
    web = web_port(app, targets, config.environment, settings)
    return attrs.evolve(last, placements=tuple(p for t in up for p in t.placements(web)))
