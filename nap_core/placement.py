"""Where a release runs: the placements a deploy reports and the instances
``nap ps`` shows, and what ``nap stop``/``start``/``restart`` ask. Values,
re-exported by :mod:`nap_core.model`."""

from __future__ import annotations

import enum
from typing import Any

import attrs


@attrs.frozen
class Placement:
    """Where one instance of a release runs and answers; the router sends requests
    only to ``web`` placements of the ``web`` process (an instance's other ports
    are not its web port)."""

    unit: str
    host: str
    port: int
    url: str
    #: Whether this is the instance's web port (``$PORT``, else its first EXPOSE).
    web: bool = True
    #: The process type; only ``web`` placements are published, reported and routed.
    process: str = "web"

    @classmethod
    def http(cls, unit: str, host: str, port: int, web: bool = True) -> Placement:
        """A placement reached over HTTP at ``host:port``."""
        return cls(unit=unit, host=host, port=port, url=f"http://{host}:{port}", web=web)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the interface contract (``web`` only when false)."""
        found = {
            "host": self.host,
            "port": self.port,
            "url": self.url,
            "unit": self.unit,
            "process": self.process,
        }
        return found if self.web else {**found, "web": False}


class Action(enum.StrEnum):
    """What ``nap stop``, ``nap start`` and ``nap restart`` ask of a scheduler."""

    STOP = "stop"
    START = "start"
    RESTART = "restart"


@attrs.frozen
class Instance:
    """One running (or stopped) instance of an app, as its scheduler sees it now."""

    name: str
    release: int
    state: str
    host: str = ""
    port: int = 0
    #: The process type (``web``, ``worker``, ...).
    process: str = "web"
    #: How often the scheduler restarted it after it exited (its restart policy).
    restarts: int = 0

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` when the instance is published, else ''."""
        return f"http://{self.host}:{self.port}" if self.host and self.port else ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``nap ps --json``."""
        return {
            "name": self.name,
            "release": self.release,
            "state": self.state,
            "host": self.host,
            "port": self.port,
            "url": self.url,
            "process": self.process,
            "restarts": self.restarts,
        }
