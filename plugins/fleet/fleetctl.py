"""The ``fleetctl`` driver: the same client interface, through ``fleetctl --driver=etcd``.

For clusters whose fleet API is not exposed: fleetctl talks to fleet's registry
in etcd directly. Only non-blocking commands are used (``--no-block``); the
rollout polls with its own deadline, because ``fleetctl start`` waits forever
for a unit that cannot be scheduled.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import TextIO

from nap_fleet.client import (
    INACTIVE,
    LAUNCHED,
    LOADED,
    FleetError,
    FleetUnit,
    Machine,
    UnitState,
    exec_start_ports,
)
from nap_fleet.units import INSTANCE, options

#: fleetctl's command for each desired state of an existing unit.
STATE_COMMANDS = {LAUNCHED: "start", LOADED: "stop", INACTIVE: "unload"}


class FleetctlClient:
    """fleetctl with ``--driver=etcd --endpoint=ENDPOINT``."""

    def __init__(self, endpoint: str, fleetctl: str = "fleetctl", timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.base = [
            fleetctl,
            "--driver=etcd",
            f"--endpoint={endpoint}",
            f"--request-timeout={timeout:g}",
        ]

    def units(self) -> list[FleetUnit]:
        """``list-unit-files``: name, desired and current state, target machine."""
        rows = self._table("list-unit-files", "unit,dstate,state,target")
        return [FleetUnit(r[0], r[1], r[2], _machine(r[3])) for r in rows if len(r) == 4]

    def states(self) -> list[UnitState]:
        """``list-units``: systemd's states of each placed unit."""
        rows = self._table("list-units", "unit,machine,load,active,sub")
        return [UnitState(r[0], _machine(r[1]), r[2], r[3], r[4]) for r in rows if len(r) == 5]

    def machines(self) -> list[Machine]:
        """``list-machines``: id, IP and metadata."""
        rows = self._table("list-machines", "machine,ip,metadata")
        return [Machine(r[0], r[1], _metadata(r[2])) for r in rows if len(r) == 3]

    def published_ports(self) -> set[int]:
        """``cat`` of every loaded or launched unit: fleetctl's listings carry no options."""
        ports: set[int] = set()
        for unit in self.units():
            if unit.desired != INACTIVE:
                text = self._run("cat", unit.name)
                ports |= exec_start_ports([o.to_dict() for o in options(text)])
        return ports

    def submit(self, name: str, text: str, desired: str) -> None:
        """``submit`` (inactive), ``load --no-block`` or ``start --no-block`` a unit file.

        An instance is started from its template's file, which fleetctl reads
        from the same directory when fleet does not hold the template yet.
        """
        match = INSTANCE.match(name)
        filename = f"{name.split('@', 1)[0]}@.service" if match and match["index"] else name
        command = {INACTIVE: ["submit"], LOADED: ["load", "--no-block"]}.get(
            desired, ["start", "--no-block"]
        )
        with tempfile.TemporaryDirectory(prefix="nap-fleet-") as tmp:
            (Path(tmp) / filename).write_text(text)
            self._run(*command, str(Path(tmp) / name))

    def set_state(self, name: str, desired: str) -> None:
        """``start``, ``stop`` or ``unload`` an existing unit, without blocking."""
        self._run(STATE_COMMANDS[desired], "--no-block", name)

    def destroy(self, name: str) -> None:
        """``destroy``; fleetctl says nothing worse than "not found" for a unit already gone."""
        self._run("destroy", name)

    def journal(self, name: str, lines: int, follow: bool, stream: TextIO) -> None:
        """``journal``: fleetctl reads it over SSH from the unit's machine."""
        args = ["journal", f"--lines={lines or 1000}", *(["--follow"] if follow else []), name]
        try:
            process = subprocess.Popen(
                [*self.base, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        except FileNotFoundError:
            raise FleetError(self._missing()) from None
        assert process.stdout is not None
        for line in process.stdout:
            stream.write(f"{name}: {line}")
        if process.wait() != 0:
            raise FleetError(f"fleetctl journal {name} failed (exit {process.returncode})")

    def _missing(self) -> str:
        return f"{self.base[0]} not found; install fleetctl or set fleet.fleetctl to its path"

    def _table(self, command: str, fields: str) -> list[list[str]]:
        out = self._run(command, "--full", "--no-legend", f"--fields={fields}")
        return [line.split() for line in out.split("\n") if line.strip()]

    def _run(self, *args: str) -> str:
        try:
            result = subprocess.run(
                [*self.base, *args],
                capture_output=True,
                text=True,
                timeout=self.timeout + 5,
                check=False,
            )
        except FileNotFoundError:
            raise FleetError(self._missing()) from None
        except subprocess.TimeoutExpired:
            raise FleetError(
                f"fleetctl {args[0]} did not answer within {self.timeout:g} s"
            ) from None
        if result.returncode != 0:
            words = [line for line in (result.stderr or result.stdout).split("\n") if line.strip()]
            raise FleetError(
                f"fleetctl {args[0]}: {words[-1].strip() if words else result.returncode}"
            )
        return result.stdout


def _machine(field: str) -> str:
    """``ID/IP`` or ``-`` as list-units prints it, to the machine id."""
    return "" if field in ("", "-") else field.split("/", 1)[0]


def _metadata(field: str) -> tuple[tuple[str, str], ...]:
    if field in ("", "-"):
        return ()
    pairs = (item.partition("=") for item in field.split(","))
    return tuple(sorted((key, value) for key, _, value in pairs))
