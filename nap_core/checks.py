"""Health checks as values: what an app's ``CHECKS`` file (or app.json) asks of
a new release before it counts as up. :mod:`nap_core.health` parses and runs them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Check:
    """One health check: GET ``path`` must answer 2xx/3xx and contain ``content``.

    The other fields are app.json's per-check settings; ``None`` takes the
    :class:`HealthChecks` value (CHECKS has only those). ``wait`` is the pause
    between attempts, ``initial_delay`` the pause before the first.
    """

    path: str
    content: str = ""
    attempts: int | None = None
    timeout: float | None = None
    wait: float | None = None
    initial_delay: float = 0.0

    def to_list(self) -> list[Any]:
        """The stored form: ``[path, content]``, plus the settings app.json gave."""
        extra = {
            k: v
            for k, v in attrs.asdict(self).items()
            if k not in ("path", "content") and v not in (None, 0.0)
        }
        return [self.path, self.content, extra] if extra else [self.path, self.content]

    @classmethod
    def from_list(cls, data: list[Any]) -> Check:
        """The inverse of :meth:`to_list`."""
        return cls(data[0], data[1], **(data[2] if len(data) > 2 else {}))


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
            "checks": [c.to_list() for c in self.checks],
            "wait": self.wait,
            "timeout": self.timeout,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthChecks:
        """The inverse of :meth:`to_dict`."""
        return cls(
            checks=tuple(Check.from_list(c) for c in data.get("checks", ())),
            wait=float(data.get("wait", 0.0)),
            timeout=float(data.get("timeout", 5.0)),
            attempts=int(data.get("attempts", 5)),
        )
