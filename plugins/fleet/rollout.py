"""Placing a release on fleet: submit, wait until every instance answers, retire the old.

Nothing here blocks without a deadline: fleet has no "wait until started" call
that gives up on an unschedulable unit, so nap polls the registry, the unit
states and the machines until all instances answer or the deploy timeout ends.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable

import attrs

from nap_core import health
from nap_core.errors import DeployFailed, what_serves
from nap_core.model import App, HealthChecks, Placement
from nap_core.output import Output
from nap_core.proctable import WEB
from nap_docker.probe import answers as tcp_answers
from nap_fleet.client import INACTIVE, LAUNCHED, FleetClient, FleetError, FleetUnit, UnitState
from nap_fleet.units import (
    instance_name,
    is_app_unit,
    release_of,
    template_name,
)

#: systemd states that mean an instance crashed rather than is still starting.
FAILED_SUBSTATES = ("failed", "auto-restart")
#: How long an instance must stay up after it first answers.
SETTLE = 1.0
POLL = 0.5


def answers(host: str, port: int) -> bool:
    """True if an app answers at ``host:port``.

    A TCP connect alone is not proof on a published port: docker-proxy accepts
    the connection and, when nothing listens inside the container, closes it at
    once. An app that listens keeps the connection open waiting for a request
    (or sends a banner), so a connection closed within the grace time counts as
    no answer.
    """
    if not tcp_answers(host, port):
        return False
    try:
        with socket.create_connection((host, port), timeout=0.5) as conn:
            conn.settimeout(0.3)
            try:
                return conn.recv(1) != b""
            except TimeoutError:
                return True
    except OSError:
        return False


@attrs.frozen
class Where:
    """One instance as fleet sees it now: unit, machine, IP and systemd's state."""

    unit: str
    machine: str = ""
    ip: str = ""
    state: UnitState | None = None
    desired: str = ""

    @property
    def running(self) -> bool:
        """systemd says active/running."""
        return self.state is not None and (self.state.active, self.state.sub) == (
            "active",
            "running",
        )

    @property
    def failed(self) -> bool:
        """systemd says the unit failed or is waiting to restart after a crash."""
        return self.state is not None and (
            self.state.active == "failed" or self.state.sub in FAILED_SUBSTATES
        )

    @property
    def words(self) -> str:
        """How fleet describes the instance, for messages."""
        if not self.machine:
            return (
                f"{self.unit}: fleet has not scheduled it on any machine "
                f"(desired {self.desired or 'unknown'}); fewer machines than replicas "
                "that match its Conflicts and MachineMetadata?"
            )
        state = self.state.words if self.state else "no state reported yet"
        return f"{self.unit} on {self.ip or self.machine[:8]}: {state}"


def locate(client: FleetClient, names: Iterable[str]) -> list[Where]:
    """Where each named unit is now, read from fleet (units, states, machines)."""
    units = {u.name: u for u in client.units()}
    states = {s.name: s for s in client.states()}
    ips = {m.id: m.ip for m in client.machines()}
    found = []
    for name in names:
        unit = units.get(name, FleetUnit(name, ""))
        state = states.get(name)
        machine = unit.machine or (state.machine if state else "")
        found.append(Where(name, machine, ips.get(machine, ""), state, unit.desired))
    return found


@attrs.frozen
class Rollout:
    """One release's placement on fleet, with its clock and probe injectable for tests."""

    client: FleetClient
    app: App
    number: int
    text: str
    count: int
    ports: tuple[int, ...]
    checks: HealthChecks
    timeout: float
    output: Output
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    probe: Callable[[str, int], bool] = answers
    #: The process type; only web has ports to answer on and health checks.
    process: str = WEB
    #: Destroy the older releases once up (the last process type's rollout does).
    retiring: bool = True

    @property
    def template(self) -> str:
        """The run unit template of this process type of the release."""
        return template_name(self.app, self.number, self.process)

    @property
    def names(self) -> list[str]:
        """The instances of this process type of the release."""
        return [
            instance_name(self.app, self.number, i, self.process) for i in range(1, self.count + 1)
        ]

    def run(self, previous: int | None) -> list[Placement]:
        """Start the instances, wait until all answer, then destroy older releases.

        On any failure the new units are destroyed and :class:`DeployFailed`
        says why in fleet's words, and which release still serves.
        """
        still = what_serves(previous)
        # Names in use are refused before any write: those units are not ours to destroy.
        try:
            held = {u.name for u in self.client.units()}
        except FleetError as exc:
            raise DeployFailed(f"{exc}; {still}") from exc
        taken = held & {self.template, *self.names}
        if taken:
            raise DeployFailed(
                f"fleet already has {', '.join(sorted(taken))}: another nap deploys this app "
                f"to the same cluster, or a unit was left behind (`fleetctl destroy` it); {still}"
            )
        try:
            self.submit()
            placed = self.wait()
        except (DeployFailed, FleetError) as exc:
            self.remove()
            raise DeployFailed(f"{exc}; {still}") from exc
        except BaseException:
            self.remove()
            raise
        if self.retiring:
            self.retire()
        return placed

    def submit(self) -> None:
        """Submit the template (the record in fleet) and launch one instance per replica."""
        self.client.submit(self.template, self.text, INACTIVE)
        for name in self.names:
            self.client.submit(name, self.text, LAUNCHED)
        self.output.line(f"launched {', '.join(self.names)}")

    def wait(self) -> list[Placement]:
        """Poll fleet until every instance runs and answers; then run the health checks."""
        deadline = self.clock() + self.timeout
        while True:
            try:
                now = locate(self.client, self.names)
            except FleetError:
                # One failed poll is not a failed release; the deadline still holds.
                if self.clock() > deadline:
                    raise
                self.sleep(POLL)
                continue
            for where in now:
                if where.failed:
                    raise DeployFailed(f"release {self.number} failed: {where.words}")
            ready = [w for w in now if w.running and w.ip and self._answer(w)]
            if len(ready) == len(now):
                break
            if self.clock() > deadline:
                late = [w.words for w in now if w not in ready]
                raise DeployFailed(
                    f"release {self.number} was not up within {self.timeout:g} s: "
                    + "; ".join(late)
                )
            self.sleep(POLL)
        # The checks share the deadline; health.verify counts in time.monotonic().
        left = time.monotonic() + max(0.0, deadline - self.clock())
        for where in now if self.ports else ():
            health.verify(self.checks, where.ip, self.ports[0], self.number, left)
        # Answering once is not enough: an app that crashes right after binding must not win.
        self.sleep(SETTLE)
        for where in locate(self.client, self.names):
            if not where.running:
                raise DeployFailed(f"release {self.number} stopped after starting: {where.words}")
        return [Placement.http(where.unit, where.ip, port) for where in now for port in self.ports]

    def _answer(self, where: Where) -> bool:
        return all(self.probe(where.ip, port) for port in self.ports)

    def remove(self) -> None:
        """Destroy this release's units (instances first, then the template)."""
        for name in [*self.names, self.template]:
            try:
                self.client.destroy(name)
            except FleetError as exc:
                self.output.line(f"could not destroy {name}: {exc}")

    def retire(self) -> None:
        """Destroy every unit of the app's other releases, instances before templates."""
        old = [
            u.name
            for u in self.client.units()
            if is_app_unit(u.name, self.app)
            and release_of(u.name, self.app) != self.number
            and not u.name.startswith(f"nap-{self.app.name}-r{self.number}-")
        ]
        if not old:
            return
        old.sort(key=lambda name: (name.endswith("@.service"), name))
        self.output.line(f"destroying {', '.join(old)}")
        for name in old:
            try:
                self.client.destroy(name)
            except FleetError as exc:
                self.output.line(f"could not destroy {name}: {exc}")
