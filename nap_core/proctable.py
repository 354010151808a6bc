"""A release's process table as values: the process types it runs (from its
``Procfile``, else one ``web`` from the image's CMD), its release command, and
what ``app.json`` adds (the initial formation, predeploy/postdeploy scripts).

:mod:`nap_core.procfile` and :mod:`nap_core.appjson` read them from a push.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

#: The process type that gets ``$PORT``, health checks, published ports and the router.
WEB = "web"


@attrs.frozen
class Process:
    """One process type: its name and the command it runs.

    ``command`` is an argument list that replaces the image's CMD (the image's
    ENTRYPOINT, if any, still runs first: Dokku's rule); empty means the CMD.
    """

    name: str
    command: tuple[str, ...] = ()


@attrs.frozen
class ProcessTable:
    """What a release runs, and what runs once around its roll-out.

    ``formation`` is app.json's initial scale per type; ``release``,
    ``predeploy`` and ``postdeploy`` are argument lists (empty: none).
    """

    processes: tuple[Process, ...] = (Process(WEB),)
    release: tuple[str, ...] = ()
    formation: tuple[tuple[str, int], ...] = ()
    predeploy: tuple[str, ...] = ()
    postdeploy: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The process types, web first."""
        return tuple(p.name for p in self.processes)

    def command(self, name: str) -> tuple[str, ...]:
        """The command of process type ``name`` (empty: the image's CMD)."""
        for process in self.processes:
            if process.name == name:
                return process.command
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, stored with the release."""
        return {
            "processes": [[p.name, list(p.command)] for p in self.processes],
            "release": list(self.release),
            "formation": dict(self.formation),
            "predeploy": list(self.predeploy),
            "postdeploy": list(self.postdeploy),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessTable:
        """The inverse of :meth:`to_dict` (``{}``, a release older than process types: web only)."""
        if not data:
            return cls()
        return cls(
            processes=tuple(Process(n, tuple(c)) for n, c in data.get("processes", ())),
            release=tuple(data.get("release", ())),
            formation=tuple(sorted(dict(data.get("formation", {})).items())),
            predeploy=tuple(data.get("predeploy", ())),
            postdeploy=tuple(data.get("postdeploy", ())),
        )
