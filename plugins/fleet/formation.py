"""A release's process types on fleet: one :class:`~nap_fleet.rollout.Rollout`
per type that runs instances, web's first, and what to undo when one fails."""

from __future__ import annotations

import attrs

from nap_core.config import Settings
from nap_core.model import App, AppConfig, Placement, Release, Unit
from nap_core.output import Output
from nap_core.proctable import WEB
from nap_fleet import rollout
from nap_fleet.client import FleetClient
from nap_fleet.rollout import Rollout
from nap_fleet.units import process_of, published_ports


def per_process(
    client: FleetClient,
    units: list[Unit],
    app: App,
    release: Release,
    config: AppConfig,
    settings: Settings,
    output: Output,
) -> list[Rollout]:
    """A rollout per process type that runs instances (web first), from its run unit."""
    runs, found = {process_of(u.name): u for u in units if u.kind == "run"}, []
    for process in release.processes.names:
        unit, count = runs[process], config.scale(process)
        if count == 0:
            continue
        ports = published_ports(unit.text) if process == WEB else ()
        output.line(
            f"{count} instance(s) of {unit.name} on fleet at {settings.get('fleet.endpoint')}"
        )
        found.append(
            Rollout(
                client=client,
                app=app,
                number=release.number,
                text=unit.text,
                count=count,
                ports=ports,
                checks=release.checks,
                timeout=settings.deploy_timeout,
                output=output,
                probe=rollout.answers,  # looked up now: tests replace it
                process=process,
            )
        )
    return found


def run_all(rollouts: list[Rollout], previous: int | None) -> list[Placement]:
    """Each type's rollout in turn, the last retiring old releases; one fails: all go."""
    placed: list[Placement] = []
    done: list[Rollout] = []
    try:
        for index, each in enumerate(rollouts):
            last = index == len(rollouts) - 1
            placed += attrs.evolve(each, retiring=last).run(previous)
            done.append(each)
    except BaseException:
        for each in done:
            each.remove()
        raise
    return placed
