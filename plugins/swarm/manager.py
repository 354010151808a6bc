"""Talking to the swarm manager: services, tasks and nodes, through the docker SDK.

Specs go to the Engine API as JSON (``ServiceSpec``), through the SDK's low-level
client: its high-level ``update`` cannot ask for a rollback, nor take a whole spec.
"""

from __future__ import annotations

from typing import Any

from nap_core.errors import NapError
from nap_docker.engine import docker_client
from nap_docker.labels import LABEL_APP
from nap_swarm.options import SwarmOptions


class Manager:
    """A swarm manager's Engine API."""

    def __init__(self, options: SwarmOptions) -> None:
        self.options = options
        timeout = int(options.engine_timeout)
        self.client = docker_client(options.manager, timeout, "engine_timeout")
        self.api = self.client.api

    def service(self, name: str, app: str) -> dict[str, Any] | None:
        """The service ``name`` as inspected, or None; refuse one that nap did not make."""
        import docker.errors

        try:
            found: dict[str, Any] = self.api.inspect_service(name)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise NapError(f"the swarm manager {self.options.manager}: {_why(exc)}") from exc
        if found["Spec"].get("Labels", {}).get(LABEL_APP) != app:
            raise NapError(
                f"a Swarm service named {name} exists but nap did not create it for {app}; "
                "remove or rename it"
            )
        return found

    def services(self) -> list[dict[str, Any]]:
        """Every service of the swarm."""
        return list(self.api.services())

    def create(self, spec: dict[str, Any]) -> str:
        """Create a service from a spec; return its ID."""
        result = self._post("/services/create", spec, {})
        return str(result["ID"])

    def update(self, service: dict[str, Any], spec: dict[str, Any], rollback: bool = False) -> None:
        """Replace a service's spec (or, with ``rollback``, return to its previous one)."""
        params: dict[str, Any] = {"version": service["Version"]["Index"]}
        if rollback:
            params["rollback"] = "previous"
        self._post(f"/services/{service['ID']}/update", spec, params)

    def remove(self, name: str) -> bool:
        """Remove a service; False if there was none."""
        import docker.errors

        try:
            self.api.remove_service(name)
        except docker.errors.NotFound:
            return False
        return True

    def tasks(self, service_id: str) -> list[dict[str, Any]]:
        """Every task of a service the manager still knows."""
        return list(self.api.tasks(filters={"service": service_id}))

    def nodes(self) -> dict[str, dict[str, Any]]:
        """The swarm's nodes by ID."""
        return {node["ID"]: node for node in self.api.nodes()}

    def _post(self, path: str, spec: dict[str, Any], params: dict[str, Any]) -> Any:
        import docker.errors

        api = self.api
        try:
            response = api._post_json(api._url(path), data=spec, params=params)
            return api._result(response, json=True)
        except docker.errors.APIError as exc:
            raise NapError(f"the swarm manager {self.options.manager}: {_why(exc)}") from exc


def node_address(node: dict[str, Any]) -> str:
    """The address other machines reach a node at (a manager may report 0.0.0.0)."""
    address = str(node.get("Status", {}).get("Addr", ""))
    if address in ("", "0.0.0.0"):  # noqa: S104 - a value read, not a bind
        manager = node.get("ManagerStatus", {}).get("Addr", "")
        address = manager.rpartition(":")[0] or manager
    return address


def _why(exc: Any) -> str:
    return str(getattr(exc, "explanation", None) or exc)
