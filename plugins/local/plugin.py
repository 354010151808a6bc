"""The local scheduler's hooks: is_current, render_units, schedule.

Each release runs as new containers beside the old ones; only once every new
instance answers are the previous release's containers stopped. If the new
ones never answer they are removed and the old ones keep serving.

With a router, instances publish no host port (unless ``local.publish_ports``):
the router reaches them at their container address, on the web port.
"""

from __future__ import annotations

import time

import attrs

from nap_core.config import Settings
from nap_core.errors import DeployFailed, what_serves
from nap_core.hookimpl import hookimpl
from nap_core.model import App, AppConfig, Image, Placement, Release, Source, Unit
from nap_core.output import Output
from nap_core.templates import render
from nap_docker.engine import docker_client
from nap_docker.envfile import env_file, write_env_file
from nap_docker.volumes import volume_name
from nap_docker.web import web_port
from nap_local import containers
from nap_local.operations import control, destroy, instances, logs

NAME = "local"

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
    """A systemd template unit, one instance per replica: the record of what runs."""
    env = {**dict(image.env), **(config.environment if config else {})}
    web = web_port(app, image.ports, env, settings)
    image = _with_web_port(image, web)
    text = render(
        settings,
        NAME,
        "nap_local",
        "run.service",
        app=app.name,
        release=release.number,
        revision=release.revision,
        container=containers.container_prefix(app, release.number),
        image=image.pinned,
        ports=image.ports if publishes(settings) else (),
        host=settings.host,
        env_file=str(env_file(settings, release)),
        volumes=[(volume_name(app.name, path), path) for path in image.volumes],
    )
    return [Unit(containers.unit_name(app, release.number), text, "run")]


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
    """Start the release's containers beside the old ones and wait until they answer.

    The old ones keep serving until the release is current; then ``retire`` stops them.
    """
    client = docker_client()
    env = {**dict(image.env), **config.environment}
    web = web_port(app, image.ports, env, settings)
    image = _with_web_port(image, web)
    publish = publishes(settings)
    write_env_file(env_file(settings, release), env)
    timeout = settings.deploy_timeout
    deadline = time.monotonic() + timeout
    started = []
    try:
        for index in range(1, config.replicas + 1):
            started.append(
                containers.start(client, app, image, release, index, env, settings.host, publish)
            )
        containers.wait_until_answering(started, image, release, deadline, timeout, web)
    except DeployFailed as exc:
        for container in started:
            for line in containers.last_log_lines(container):
                output.line(f"{container.name}: {line}")
        containers.remove(started, output)
        still = what_serves(previous.number if previous else None)
        raise DeployFailed(f"{exc}; {still}") from exc
    except BaseException:
        containers.remove(started, output)
        raise
    found = [
        placement
        for index, container in enumerate(started, start=1)
        for placement in containers.placements(
            container, settings.host, image, containers.unit_name(app, release.number, index), web
        )
    ]
    return found


@hookimpl
def retire(app: App, keep: Release, settings: Settings, output: Output) -> None:
    """Stop and remove every container of the app that is not of release ``keep``."""
    old = [
        container
        for container in containers.release_containers(docker_client(), app)
        if container.labels.get(containers.LABEL_RELEASE) != str(keep.number)
    ]
    if old:
        output.line(f"stopping {', '.join(sorted(c.name for c in old))}")
        containers.remove(old, output, stop_timeout=int(settings.number("stop_timeout")))


@hookimpl
def is_current(
    app: App, source: Source, config: AppConfig, last: Release | None, settings: Settings
) -> Release | None:
    """The release with this content (``last``), if all its containers run."""
    if last is None:
        return None
    running = [
        c
        for c in containers.release_containers(docker_client(), app, last.number)
        if c.status == "running"
    ]
    if len(running) < config.replicas:
        return None
    ports = tuple(sorted({p.port for p in last.placements}))
    found: list[Placement] = []
    for container in running:
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
