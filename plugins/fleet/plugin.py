"""The fleet scheduler's hooks: render_units, schedule, is_current and day-2 operations.

Active with ``scheduler = "fleet"``. docs/schedulers/fleet.md is the operator's guide.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

import attrs

from nap_core.config import Settings
from nap_core.errors import DeployFailed, NapError, what_serves
from nap_core.hookimpl import hookimpl
from nap_core.model import (
    Action,
    App,
    AppConfig,
    Image,
    Instance,
    Placement,
    Release,
    Source,
    Unit,
)
from nap_core.output import Output
from nap_fleet import formation, rollout
from nap_fleet import units as fleet_units
from nap_fleet.client import LAUNCHED, LOADED, FleetClient, FleetError, connect
from nap_fleet.oneoff import run_once  # noqa: F401 (a hook: registers with this module)
from nap_fleet.rollout import Where, locate


def client(settings: Settings) -> FleetClient:
    """The client of the configured cluster (a seam tests replace)."""
    return connect(settings)


@hookimpl
def render_units(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    previous: Release | None,
    ports_in_use: frozenset[int],
    settings: Settings,
) -> list[Unit] | None:
    """The build unit and the run unit template of the release.

    Apps share the machines, so a new release takes none of the host ports
    that serving releases hold (its own app's too: old and new run side by
    side until the new one answers), nor any other unit's on fleet.
    """
    try:
        taken = set(ports_in_use) | fleet_ports(client(settings))
    except FleetError as exc:
        raise DeployFailed(f"{exc}; {what_serves(previous.number if previous else None)}") from exc
    return fleet_units.render_release(app, image, release, config, settings, taken=taken)


def fleet_ports(fleet: FleetClient) -> set[int]:
    """Host ports that units on fleet publish: another nap's apps, or units made alike."""
    return fleet.published_ports()


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
    """Launch each process type's instances (web's first), wait until all run and
    web's answer, then destroy the old release."""
    check_settings(settings)
    fleet = client(settings)
    rollouts = formation.per_process(fleet, units, app, release, config, settings, output)
    return formation.run_all(rollouts, previous.number if previous else None)


def check_settings(settings: Settings) -> None:
    """Refuse what this plugin cannot do, before anything is built."""
    settings.require("fleet.endpoint")
    build_mode(settings)


def build_mode(settings: Settings) -> str:
    """``fleet.build``: ``nap`` (nap builds and publishes) or ``cluster`` (a machine does)."""
    mode = settings.get("fleet.build") or "nap"
    if mode not in ("nap", "cluster"):
        raise NapError(f'fleet.build must be "nap" or "cluster", not {mode!r}')
    return mode


@hookimpl(tryfirst=True)
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """With ``fleet.build = "cluster"``, run the build unit on a machine (Dockerfile apps)."""
    if build_mode(settings) != "cluster" or app_type != "dockerfile":
        return None
    from nap_fleet import cluster_build

    return cluster_build.build(client(settings), app, source, release, settings, output)


@hookimpl(tryfirst=True)
def publish(image: Image, settings: Settings, output: Output) -> Image | None:
    """An image the build unit built is in the registry already, pinned by its digest."""
    if build_mode(settings) != "cluster" or not image.digest:
        return None
    output.line(f"digest {image.digest} (pushed by the build unit)")
    return image


@hookimpl
def is_current(
    app: App, source: Source, config: AppConfig, last: Release | None, settings: Settings
) -> Release | None:
    """The release with this content (``last``), if all its instances run and answer."""
    check_settings(settings)  # is_current runs before the build: fail before building
    fleet = client(settings)
    try:
        fleet.machines()
    except FleetError as exc:
        raise DeployFailed(f"{exc}; {what_serves(last.number if last else None)}") from exc
    if last is None:
        return None
    found = []
    for process in last.processes.names:
        count = config.scale(process)
        names = [
            fleet_units.instance_name(app, last.number, i, process) for i in range(1, count + 2)
        ]
        now = locate(fleet, names)
        if now[-1].machine or not all(w.running and w.ip for w in now[:-1]):
            return None  # scaled, or an instance is down: deploy again
        if process != "web":
            continue
        ports = sorted({p.port for p in last.placements})
        if not ports or not all(rollout.answers(w.ip, port) for w in now[:-1] for port in ports):
            return None
        found = [Placement.http(w.unit, w.ip, port) for w in now[:-1] for port in ports]
    return attrs.evolve(last, placements=tuple(found))


@hookimpl
def instances(app: App, release: Release, settings: Settings) -> list[Instance] | None:
    """Every instance of the app fleet knows, with the machine it runs on now."""
    return _instances(client(settings), app, release)


def _instances(fleet: FleetClient, app: App, release: Release) -> list[Instance]:
    names = sorted(
        (u.name for u in fleet.units() if _is_instance(u.name, app)),
        key=_instance_order,
    )
    port = release.placements[0].port if release.placements else 0
    return [
        Instance(
            name=where.unit,
            release=fleet_units.release_of(where.unit, app) or 0,
            state=_state(where),
            host=where.ip,
            port=port if where.ip and fleet_units.process_of(where.unit) == "web" else 0,
            process=fleet_units.process_of(where.unit),
        )
        for where in locate(fleet, names)
    ]


def _is_instance(name: str, app: App) -> bool:
    return fleet_units.release_of(name, app) is not None and not name.endswith("@.service")


def _instance_order(name: str) -> tuple[int, int]:
    match = fleet_units.INSTANCE.match(name)
    assert match is not None
    return int(match["release"]), int(match["index"] or 0)


def _state(where: Where) -> str:
    if not where.machine:
        return "unplaced"
    if where.running:
        return "running"
    if where.failed:
        return "failed"
    if where.state is None:
        return "starting"
    return {"inactive": "stopped", "activating": "starting"}.get(
        where.state.active, where.state.active
    )


@hookimpl
def logs(
    app: App, release: Release, settings: Settings, follow: bool, lines: int, stream: TextIO
) -> None:
    """fleet's API carries no logs; with ``fleet.driver = "etcd"`` fleetctl's journal does."""
    fleet = client(settings)
    journal = getattr(fleet, "journal", None)
    names = [i.name for i in _instances(fleet, app, release) if i.release == release.number]
    if journal is None:
        first = names[0] if names else fleet_units.instance_name(app, release.number, 1)
        raise NapError(
            "fleet's API has no logs: run `fleetctl journal "
            f"{'-f ' if follow else ''}{first}` where fleetctl reaches the machines over SSH, "
            'or set fleet.driver = "etcd" so nap runs it'
        )
    for name in names:
        journal(name, lines, follow and len(names) == 1, stream)


@hookimpl
def control(
    app: App, release: Release, action: Action, settings: Settings, output: Output
) -> list[Instance] | None:
    """Stop (fleet's ``loaded``), start (``launched``) or restart the release's instances."""
    fleet = client(settings)
    names = [i.name for i in _instances(fleet, app, release) if i.release == release.number]
    if not names:
        raise NapError(f"fleet runs no instance of {app.name} release {release.number}")
    deadline = time.monotonic() + settings.deploy_timeout
    if action in (Action.STOP, Action.RESTART):
        for name in names:
            fleet.set_state(name, LOADED)
        _wait(fleet, names, lambda w: not w.running, deadline, "stop")
    if action in (Action.START, Action.RESTART):
        for name in names:
            fleet.set_state(name, LAUNCHED)
        _wait(fleet, names, lambda w: w.running, deadline, "start")
    output.line(f"{action}: {', '.join(names)}")
    return _instances(fleet, app, release)


def _wait(
    fleet: FleetClient, names: list[str], done: Callable[[Where], bool], deadline: float, what: str
) -> None:
    while True:
        now = locate(fleet, names)
        if all(done(w) for w in now):
            return
        if time.monotonic() > deadline:
            raise NapError(
                f"fleet did not {what} every instance in time: " + "; ".join(w.words for w in now)
            )
        time.sleep(0.5)


@hookimpl
def retire(app: App, keep: Release, settings: Settings, output: Output) -> None:
    """Destroy the units of every release of the app but ``keep``'s: the rollout
    destroyed the one it replaced already; these are what a dead deploy left."""
    fleet = client(settings)
    names = sorted(
        u.name
        for u in fleet.units()
        if fleet_units.release_of(u.name, app) not in (None, keep.number)
    )
    for name in names:
        fleet.destroy(name)
    if names:
        output.line(f"destroyed {', '.join(names)}")


@hookimpl
def destroy(app: App, settings: Settings, volumes: bool, output: Output) -> None:
    """Destroy every fleet unit of the app (all releases, build units included)."""
    fleet = client(settings)
    names = sorted(
        (u.name for u in fleet.units() if fleet_units.is_app_unit(u.name, app)),
        key=lambda name: (name.endswith("@.service"), name),
    )
    for name in names:
        fleet.destroy(name)
    if names:
        output.line(f"destroyed {', '.join(names)}")
    if volumes:
        output.line(
            "fleet cannot remove volumes: run `docker volume rm` for "
            f"nap-{app.name}-* on each machine that ran the app"
        )
