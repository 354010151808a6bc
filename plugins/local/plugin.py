"""The local scheduler's hooks: is_current, render_units, schedule.

Each release runs as new containers beside the old ones; only once every new
instance answers are the previous release's containers stopped. If the new
ones never answer they are removed and the old ones keep serving.

With a router, instances publish no host port (unless ``local.publish_ports``):
the router reaches them at their container address, on the web port.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import attrs

from nap_core.config import Settings
from nap_core.errors import DeployFailed, what_serves
from nap_core.hookimpl import hookimpl
from nap_core.model import App, AppConfig, Image, Placement, Release, Source, Unit
from nap_core.output import Output
from nap_core.proctable import WEB
from nap_core.templates import render
from nap_docker import oneoff
from nap_docker.engine import engine_client
from nap_docker.envfile import env_file, process_env, write_env_file
from nap_docker.labels import LABEL_RELEASE
from nap_docker.volumes import volume_name
from nap_docker.web import web_port
from nap_local import containers, volumes
from nap_local.oneoff import run_once
from nap_local.operations import control, destroy, instances, logs

NAME = "local"
#: Releases run on the engine that built their image: one may start from the image
#: id while its publish runs (nap_core.publishing). Swarm and fleet nodes pull
#: from the registry, so they declare nothing and publish first.
RUNS_BUILT_IMAGE = True

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


def publishes(settings: Settings) -> bool:
    """Whether instances publish host ports: without a router, or if ``local.publish_ports``."""
    return settings.router == "none" or settings.flag("local.publish_ports")


def _with_web_port(image: Image, port: int) -> Image:
    # An overridden web port that the image does not EXPOSE is still probed and published.
    return image if port in image.ports else attrs.evolve(image, ports=(*image.ports, port))


@hookimpl
def render_units(
    app: App, image: Image, release: Release, settings: Settings, config: AppConfig | None = None
) -> list[Unit] | None:
    """A systemd template unit per process type, one instance per replica: the
    record of what runs."""
    env = {**dict(image.env), **(config.environment if config else {})}
    image = _with_web_port(image, web_port(app, image.ports, env, settings))
    units = []
    for process in release.processes.processes:
        text = render(
            settings,
            NAME,
            "nap_local",
            "run.service",
            app=app.name,
            release=release.number,
            revision=release.revision,
            process=process.name,
            command=list(process.command),
            container=containers.container_prefix(app, release.number, process.name),
            image=image.pinned,
            ports=image.ports if process.name == WEB and publishes(settings) else (),
            host=settings.host,
            env_file=str(env_file(settings, release)),
            volumes=[(volume_name(app.name, path), path) for path in image.volumes],
        )
        name = containers.unit_name(app, release.number, process=process.name)
        units.append(Unit(name, text, "run"))
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
    """Start every process type's containers beside the old ones; wait until web
    answers and the others run.

    The old ones keep serving until the release is current; then ``retire`` stops them.
    """
    client = engine_client(settings)
    env = {**dict(image.env), **config.environment}
    web = web_port(app, image.ports, env, settings)
    image = _with_web_port(image, web)
    publish = publishes(settings)
    write_env_file(env_file(settings, release), env)
    timeout = settings.deploy_timeout
    deadline = time.monotonic() + timeout
    started: dict[str, list[Any]] = {}
    try:
        for process in release.processes.processes:
            count = config.scale(process.name)
            output.line(f"{process.name}: {count} instance(s)")
            env = process_env(image, config, process.name)
            started[process.name] = [
                containers.start(
                    client, app, image, release, i, env, settings.host, publish, process
                )
                for i in range(1, count + 1)
            ]
        webs = started.get(WEB, [])
        containers.wait_until_answering(webs, image, release, deadline, timeout, web)
        containers.check_started([c for n, cs in started.items() if n != WEB for c in cs], release)
    except DeployFailed as exc:
        every = [c for cs in started.values() for c in cs]
        for container in every:
            for line in containers.last_log_lines(container):
                output.line(f"{container.name}: {line}")
        containers.remove(every, output)
        still = what_serves(previous.number if previous else None)
        raise DeployFailed(f"{exc}; {still}") from exc
    except BaseException:
        containers.remove([c for cs in started.values() for c in cs], output)
        raise
    found = [
        placement
        for index, container in enumerate(started.get(WEB, []), start=1)
        for placement in containers.placements(
            container, settings.host, image, containers.unit_name(app, release.number, index), web
        )
    ]
    return found


@hookimpl
def retire(app: App, keep: Release | None, settings: Settings, output: Output) -> None:
    """Stop and remove every container of the app that is not of release ``keep``,
    and the one-offs whose nap process was killed (a release phase, a postdeploy),
    and the volumes only a release after ``keep`` made (it failed or died)."""
    import docker.errors

    client = engine_client(settings)
    old = [
        container
        for container in containers.release_containers(client, app)
        if keep is None or container.labels.get(LABEL_RELEASE) != str(keep.number)
    ]
    if old:
        output.line(f"stopping {', '.join(sorted(c.name for c in old))}")
        containers.remove(old, output, stop_timeout=int(settings.number("stop_timeout")))
    oneoff.remove_orphans(client, app.name, output)
    for volume in volumes.orphans(client, app, keep.number if keep else 0):
        output.line(f"removing volume {volume.name}, made by a release that never served")
        with contextlib.suppress(docker.errors.APIError):  # in use after all: it stays
            volume.remove()


@hookimpl
def is_current(
    app: App, source: Source, config: AppConfig, last: Release | None, settings: Settings
) -> Release | None:
    """The release with this content (``last``), if all its containers run."""
    if last is None:
        return None
    running = [
        c
        for c in containers.release_containers(engine_client(settings), app, last.number)
        if c.status == "running"
    ]
    for process in last.processes.names:
        if sum(containers.process_of(c) == process for c in running) < config.scale(process):
            return None
    ports = tuple(sorted({p.port for p in last.placements}))
    found: list[Placement] = []
    for container in running:
        if containers.process_of(container) != WEB:
            continue
        index = container.name.rsplit(".", 1)[-1]
        unit = containers.unit_name(app, last.number, int(index) if index.isdigit() else None)
        image = Image(app=app, id="", tag="", ports=_container_ports(container))
        web = web_port(app, image.ports, _container_env(container), settings)
        found.extend(containers.placements(container, settings.host, image, unit, web))
    if not found and ports:
        return None
    return attrs.evolve(last, placements=tuple(found))


def _container_env(container: object) -> dict[str, str]:
    env = container.attrs["Config"].get("Env") or []  # type: ignore[attr-defined]
    return dict(item.split("=", 1) for item in env if "=" in item)


def _container_ports(container: object) -> tuple[int, ...]:
    ports = container.attrs["NetworkSettings"]["Ports"] or {}  # type: ignore[attr-defined]
    return tuple(sorted(int(spec.split("/")[0]) for spec in ports))
