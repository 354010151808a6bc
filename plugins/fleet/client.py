"""Talking to fleet: a small client interface and its HTTP API implementation.

The rollout only needs six calls (list units, unit states and machines; create,
change and destroy a unit), so that is the whole interface. :class:`ApiClient`
speaks fleet's v1 JSON API; :mod:`nap_fleet.fleetctl` drives ``fleetctl`` for
``--driver=etcd``. Tests record the calls with a fake of the same shape.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

import attrs

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_fleet.units import PUBLISH, options

#: fleet's desired states: submitted, loaded on a machine, running.
INACTIVE, LOADED, LAUNCHED = "inactive", "loaded", "launched"


class FleetError(NapError):
    """fleet refused a call or could not be reached; the message is fleet's own words."""


@attrs.frozen
class FleetUnit:
    """A unit as fleet's registry holds it: what is wanted and where it is scheduled."""

    name: str
    desired: str
    current: str = ""
    machine: str = ""


@attrs.frozen
class UnitState:
    """What systemd on the unit's machine reports, as fleet relays it."""

    name: str
    machine: str
    load: str
    active: str
    sub: str

    @property
    def words(self) -> str:
        """systemd's three states as ``fleetctl list-units`` prints them."""
        return f"{self.load}/{self.active}/{self.sub}"


@attrs.frozen
class Machine:
    """A machine of the cluster: its id, the IP units publish on, its metadata."""

    id: str
    ip: str
    metadata: tuple[tuple[str, str], ...] = ()


class FleetClient(Protocol):
    """What nap asks of fleet."""

    def units(self) -> list[FleetUnit]:
        """Every unit fleet knows."""

    def states(self) -> list[UnitState]:
        """The systemd state of every unit that has been placed."""

    def machines(self) -> list[Machine]:
        """Every machine in the cluster."""

    def published_ports(self) -> set[int]:
        """Host ports that loaded or launched units publish on their machine's public IP."""

    def submit(self, name: str, text: str, desired: str) -> None:
        """Create unit ``name`` from unit file ``text`` in state ``desired``."""

    def set_state(self, name: str, desired: str) -> None:
        """Change the desired state of an existing unit."""

    def destroy(self, name: str) -> None:
        """Remove a unit from fleet (stopping it); a unit already gone is fine."""


class ApiClient:
    """fleet's v1 HTTP API at ``endpoint`` (``http://HOST:PORT``)."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.base = endpoint.rstrip("/") + "/fleet/v1"
        self.endpoint = endpoint
        self.timeout = timeout

    def units(self) -> list[FleetUnit]:
        """``GET /units``, every page."""
        return [
            FleetUnit(
                name=item["name"],
                desired=item.get("desiredState", ""),
                current=item.get("currentState", ""),
                machine=item.get("machineID", ""),
            )
            for item in self._pages("/units", "units")
        ]

    def states(self) -> list[UnitState]:
        """``GET /state``, every page."""
        return [
            UnitState(
                name=item["name"],
                machine=item.get("machineID", ""),
                load=item.get("systemdLoadState", ""),
                active=item.get("systemdActiveState", ""),
                sub=item.get("systemdSubState", ""),
            )
            for item in self._pages("/state", "states")
        ]

    def machines(self) -> list[Machine]:
        """``GET /machines``, every page."""
        return [
            Machine(
                id=item["id"],
                ip=item.get("primaryIP", ""),
                metadata=tuple(sorted((item.get("metadata") or {}).items())),
            )
            for item in self._pages("/machines", "machines")
        ]

    def published_ports(self) -> set[int]:
        """From the options ``GET /units`` returns with every unit."""
        return {
            port
            for item in self._pages("/units", "units")
            if item.get("desiredState") != INACTIVE
            for port in exec_start_ports(item.get("options") or [])
        }

    def submit(self, name: str, text: str, desired: str) -> None:
        """``PUT /units/NAME`` with the unit's options and desired state."""
        body = {"desiredState": desired, "options": [o.to_dict() for o in options(text)]}
        self._call("PUT", f"/units/{_quote(name)}", body)

    def set_state(self, name: str, desired: str) -> None:
        """``PUT /units/NAME`` with only the desired state."""
        self._call("PUT", f"/units/{_quote(name)}", {"desiredState": desired})

    def destroy(self, name: str) -> None:
        """``DELETE /units/NAME``; 404 means it is gone already."""
        with contextlib.suppress(_NotFound):
            self._call("DELETE", f"/units/{_quote(name)}")

    def _pages(self, path: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = f"?nextPageToken={urllib.parse.quote(token)}" if token else ""
            page = self._call("GET", path + query) or {}
            items.extend(page.get(key) or [])
            token = page.get("nextPageToken") or ""
            if not token:
                return items

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the operator's configured endpoint
            self.base + path, data=data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            words = _error_words(exc)
            if exc.code == 404:
                raise _NotFound(words) from None
            raise FleetError(f"fleet answered {method} {path}: {words}") from None
        except OSError as exc:
            raise FleetError(
                f"cannot reach fleet at {self.endpoint} ({exc}); check fleet.endpoint"
            ) from None
        return json.loads(raw) if raw.strip() else None


class _NotFound(FleetError):
    pass


def exec_start_ports(options: list[dict[str, str]]) -> set[int]:
    """Host ports a unit's ExecStart publishes as ``--publish ${COREOS_PUBLIC_IPV4}:HOST:...``."""
    return {
        int(host)
        for option in options
        if option.get("name") == "ExecStart"
        for host, _ in PUBLISH.findall(option.get("value", ""))
    }


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="@.-_")


def _error_words(exc: urllib.error.HTTPError) -> str:
    """fleet's error entity ``{"error": {"code", "message"}}``, else the status line."""
    try:
        body = json.loads(exc.read() or b"{}")
        return f"{exc.code} {body['error']['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{exc.code} {exc.reason}"


def connect(settings: Settings) -> FleetClient:
    """The client for the configured cluster: ``fleet.driver`` ``api`` (default) or ``etcd``."""
    endpoint = settings.require("fleet.endpoint")
    driver = settings.get("fleet.driver") or "api"
    timeout = settings.number("fleet.request_timeout", 10.0)
    if driver == "api":
        return ApiClient(endpoint, timeout)
    if driver == "etcd":
        from nap_fleet.fleetctl import FleetctlClient

        return FleetctlClient(endpoint, settings.get("fleet.fleetctl") or "fleetctl", timeout)
    raise NapError(f'fleet.driver must be "api" or "etcd", not {driver!r}')
