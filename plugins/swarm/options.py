"""The ``[swarm]`` settings, read once per hook call.

Every key has an environment override (``swarm.manager`` is ``NAP_SWARM_MANAGER``);
docs/schedulers/swarm.md documents them.
"""

from __future__ import annotations

import attrs

from nap_core.config import Settings
from nap_core.errors import NapError

PUBLISH_MODES = ("ingress", "host")


@attrs.frozen
class SwarmOptions:
    """How nap reaches the swarm and shapes its services."""

    manager: str
    registry: str
    publish_mode: str
    ports: tuple[int, int]
    monitor: float
    stop_grace: float
    deploy_timeout: float
    engine_timeout: float
    engines: tuple[str, ...] = ()

    @property
    def host_mode(self) -> bool:
        """Ports are bound on the node that runs each task (no routing mesh)."""
        return self.publish_mode == "host"

    @property
    def order(self) -> str:
        """The update order: a host-mode port cannot be bound twice on one node, so a
        start-first update would wait forever for a free node; stop-first there."""
        return "stop-first" if self.host_mode else "start-first"

    @property
    def endpoint_mode(self) -> str:
        """``dnsrr`` in host mode (no VIP, which needs IPVS), ``vip`` with the routing mesh."""
        return "dnsrr" if self.host_mode else "vip"


def load(settings: Settings) -> SwarmOptions:
    """The swarm settings in force, checked; raise :class:`NapError` naming the bad key."""
    mode = settings.get("swarm.publish_mode") or "ingress"
    if mode not in PUBLISH_MODES:
        raise NapError(f"swarm.publish_mode must be 'ingress' or 'host', not {mode!r}")
    low, _, high = (settings.get("swarm.ports") or "20000-29999").partition("-")
    try:
        ports = (int(low), int(high or low))
    except ValueError:
        raise NapError("swarm.ports must be a range such as 20000-29999") from None
    if not 0 < ports[0] <= ports[1] < 65536:
        raise NapError("swarm.ports must be a range of TCP ports such as 20000-29999")
    return SwarmOptions(
        manager=settings.require("swarm.manager"),
        registry=settings.get("swarm.registry") or settings.registry,
        publish_mode=mode,
        ports=ports,
        monitor=settings.number("swarm.monitor", 5.0),
        stop_grace=settings.number("stop_timeout"),
        deploy_timeout=settings.number("swarm.deploy_timeout", settings.deploy_timeout),
        engine_timeout=settings.number("engine_timeout"),
        engines=tuple(settings.items("swarm.engines")),
    )
