"""The hooks: specs only, in the order a deploy calls them, then the day-2 and
service hooks, and the router's.

Each docstring is the reference: docs/hooks.md is generated from these
(``python scripts/hooks_doc.py``), and a test fails when the two disagree.
Docstring fields: ``:param NAME:``, ``:return:``, ``:none:`` (what ``None``
means), ``:bundled:`` (who answers in nap itself), and an ``Example::`` block.

*First result* hooks stop at the first implementation that returns something
other than ``None``. Scheduler hooks are answered by the one scheduler the core
activated (``scheduler = "..."``); no implementation asks which one is configured.
"""

from __future__ import annotations

from nap_core.hookspecs.day2 import control, destroy, instances, logs, retire, run_once
from nap_core.hookspecs.deploy import (
    build,
    detect,
    fetch,
    intake,
    is_current,
    publish,
    render_units,
    report,
    schedule,
)
from nap_core.hookspecs.router import apply_routes, router_status
from nap_core.hookspecs.services import register_commands, unpublish

#: The hooks of a deploy, in pipeline order.
ORDER = (
    "intake",
    "detect",
    "fetch",
    "is_current",
    "build",
    "publish",
    "render_units",
    "schedule",
    "report",
)

#: The hooks of day-2 operations (``nap ps``, ``logs``, ``stop``, ``nap run``,
#: ``apps destroy``), answered by the active scheduler; a deploy calls ``run_once``
#: too (its release phase, app.json's scripts), and ``retire`` once its release is current.
OPERATIONS = ("instances", "logs", "control", "run_once", "retire", "destroy")

#: Hooks that serve the others: removing published images, contributing commands.
SERVICES = ("unpublish", "register_commands")

#: The hooks of the router (stable addresses, domains, certificates), answered by
#: the active router (``router = "..."``).
ROUTER = ("apply_routes", "router_status")

#: The hooks only the active scheduler answers: ``nap plugins list`` and the core
#: check that a scheduler implements them.
SCHEDULER = ("is_current", "render_units", "schedule", *OPERATIONS)

__all__ = [
    "apply_routes",
    "build",
    "control",
    "destroy",
    "detect",
    "fetch",
    "instances",
    "intake",
    "is_current",
    "logs",
    "publish",
    "register_commands",
    "render_units",
    "report",
    "retire",
    "router_status",
    "run_once",
    "schedule",
    "unpublish",
]
