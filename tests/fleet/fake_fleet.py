"""A recording fake of nap_fleet's client interface, for call-sequence unit tests.

It schedules like fleet does for nap's units: a launched unit goes to the first
machine that runs nothing matching its ``Conflicts=`` glob, or stays unscheduled.
Claims that nap works against fleet are made by the integration suite, not here.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import attrs

from nap_fleet.client import (
    INACTIVE,
    LAUNCHED,
    FleetUnit,
    Machine,
    UnitState,
    exec_start_ports,
)
from nap_fleet.units import options

READS = ("units", "states", "machines", "published_ports")


class FakeFleet:
    """Machines ``m1``... at ``10.0.0.1``...; ``failing`` lists unit-name prefixes that crash."""

    def __init__(self, machines: int = 3, failing: tuple[str, ...] = ()) -> None:
        self.machine_list = [Machine(f"m{i}", f"10.0.0.{i}") for i in range(1, machines + 1)]
        self.failing = failing
        self.registry: dict[str, FleetUnit] = {}
        self.texts: dict[str, str] = {}
        self.calls: list[tuple[Any, ...]] = []

    @property
    def writes(self) -> list[tuple[Any, ...]]:
        """The calls that change the cluster, in order."""
        return [call for call in self.calls if call[0] not in READS]

    def units(self) -> list[FleetUnit]:
        self.calls.append(("units",))
        return list(self.registry.values())

    def states(self) -> list[UnitState]:
        self.calls.append(("states",))
        found = []
        for unit in self.registry.values():
            if not unit.machine:
                continue
            if unit.current != LAUNCHED:
                found.append(UnitState(unit.name, unit.machine, "loaded", "inactive", "dead"))
            elif unit.name.startswith(self.failing):
                found.append(UnitState(unit.name, unit.machine, "loaded", "failed", "failed"))
            elif unit.name.endswith("-build.service"):  # a oneshot that has finished
                found.append(UnitState(unit.name, unit.machine, "loaded", "active", "exited"))
            else:
                found.append(UnitState(unit.name, unit.machine, "loaded", "active", "running"))
        return found

    def machines(self) -> list[Machine]:
        self.calls.append(("machines",))
        return list(self.machine_list)

    def published_ports(self) -> set[int]:
        self.calls.append(("published_ports",))
        return {
            port
            for unit in self.registry.values()
            if unit.desired != INACTIVE
            for port in exec_start_ports([o.to_dict() for o in options(self.texts[unit.name])])
        }

    def submit(self, name: str, text: str, desired: str) -> None:
        self.calls.append(("submit", name, desired))
        assert name not in self.registry, f"{name} submitted twice"
        self.texts[name] = text
        self.registry[name] = FleetUnit(name, desired, INACTIVE, "")
        if desired != INACTIVE:
            self._place(name, desired)

    def set_state(self, name: str, desired: str) -> None:
        self.calls.append(("set_state", name, desired))
        unit = self.registry[name]
        self.registry[name] = attrs.evolve(unit, desired=desired, current=desired)

    def destroy(self, name: str) -> None:
        self.calls.append(("destroy", name))
        self.registry.pop(name, None)

    def _place(self, name: str, desired: str) -> None:
        conflicts = [o.value for o in options(self.texts[name]) if o.name == "Conflicts"]
        for machine in self.machine_list:
            there = [u.name for u in self.registry.values() if u.machine == machine.id]
            if not any(fnmatch.fnmatch(other, glob) for other in there for glob in conflicts):
                self.registry[name] = attrs.evolve(
                    self.registry[name], current=desired, machine=machine.id
                )
                return
