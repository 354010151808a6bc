"""Health checks as values: what an app's ``CHECKS`` file (or app.json) asks of
a new release before it counts as up. :mod:`nap_core.health` parses and runs them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Check:
    """One health check: GET ``path`` must answer 2xx/3xx and contain ``content``."""

    path: str
    content: str = ""


@attrs.frozen
class HealthChecks:
    """An app's health checks (its ``CHECKS`` file), run before a release counts as up.

    ``wait`` seconds pass before the first attempt; each check gets ``attempts``
    tries of at most ``timeout`` seconds each. No checks: answering on every
    port is enough.
    """

    checks: tuple[Check, ...] = ()
    wait: float = 0.0
    timeout: float = 5.0
    attempts: int = 5

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, stored with the release."""
        return {
            "checks": [[c.path, c.content] for c in self.checks],
            "wait": self.wait,
            "timeout": self.timeout,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthChecks:
        """The inverse of :meth:`to_dict`."""
        return cls(
            checks=tuple(Check(path, content) for path, content in data.get("checks", ())),
            wait=float(data.get("wait", 0.0)),
            timeout=float(data.get("timeout", 5.0)),
            attempts=int(data.get("attempts", 5)),
        )
