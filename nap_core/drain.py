"""Retiring a replaced release: at once without a router; with one, only after
``router.drain`` seconds, so that requests it is still serving finish.

The delayed retirement runs in a ``nap drain APP N`` process of its own session
(``setsid``): it outlives the push's SSH session, and its output goes to
``NAP_HOME/apps/APP/drain.log``. When the time is up it takes the app's deploy
lock and retires only if release N is still the current one; if another
release became current meanwhile, that release's own drain retires N later,
``router.drain`` seconds after the router switched away from it. The current
release is never stopped.

Who owes the app that retirement is written down (``NAP_HOME/apps/APP/retiring``,
a process identity): the deploy from just before its switch, then the ``nap
drain`` process it hands over to. If that process is gone and the file is
still there (SIGKILL, a lost machine), the retirement was :func:`abandoned`;
the next command that touches the app retires at once (:mod:`nap_core.lifecycle`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from nap_core import processes
from nap_core.config import Settings
from nap_core.locks import app_lock
from nap_core.model import App, Release
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.state import State


def _owed(settings: Settings, app: App) -> Path:
    return settings.app_dir(app.name) / "retiring"


def owe(settings: Settings, app: App, pid: int | None = None) -> None:
    """Record that process ``pid`` (default: this one) owes ``app`` a retirement."""
    path = _owed(settings, app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(processes.identity(pid))


def owe_unless_owed(settings: Settings, app: App) -> None:
    """Record that this process owes ``app`` a retirement, unless a live process (a
    ``nap drain`` still waiting) already does: its retirement will cover this one's,
    and taking it over would let the next command cut that drain short."""
    try:
        owner = _owed(settings, app).read_text()
    except FileNotFoundError:
        owner = ""
    if not owner or not processes.alive(owner):
        owe(settings, app)


def settle(settings: Settings, app: App, only_mine: bool = True) -> None:
    """The retirement is done: forget who owed it (if this process did, unless told)."""
    path = _owed(settings, app)
    try:
        if not only_mine or path.read_text() == processes.identity():
            path.unlink()
    except FileNotFoundError:
        pass


def abandoned(settings: Settings, app: App) -> bool:
    """Whether the process that owed ``app`` a retirement died before it was done."""
    try:
        owner = _owed(settings, app).read_text()
    except FileNotFoundError:
        return False
    return not owner or not processes.alive(owner)


def retire(
    release: Release,
    replaced: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> None:
    """Retire what ``release`` (now current) replaced: now, or later behind a router."""
    if settings.router == "none" or replaced is None:
        # Nothing served before: nothing to drain (dead deploys' leftovers: recover).
        if settings.router == "none":
            pm.hook.retire(app=release.app, keep=release, settings=settings, output=output)
        settle(settings, release.app)
        return
    later(settings, release)
    output.line(
        f"the previous release drains for {settings.number('router.drain'):g} s, then stops"
    )


def later(settings: Settings, release: Release) -> None:
    """Start ``nap drain APP N`` in the background, detached from this session."""
    app = release.app.name
    log_path = settings.app_dir(app) / "drain.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        drain = subprocess.Popen(
            [sys.executable, "-m", "nap", "drain", app, str(release.number)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, **settings.environ},
            start_new_session=True,  # setsid: the push's SSH session may end first
        )
    owe(settings, release.app, drain.pid)


def run(settings: Settings, pm: PluginManager, app: App, number: int, output: Output) -> bool:
    """Wait ``router.drain`` seconds, then retire what release ``number`` replaced if it
    is still current. Return whether it retired anything."""
    time.sleep(max(settings.number("router.drain"), 0.0))
    if not (settings.home / "nap.db").is_file():
        # NAP_HOME went meanwhile (a test's or a bench's, removed as it ended): taking
        # the lock and opening the state would make an empty one again.
        output.line(f"{settings.home} has no nap.db any more: nothing to retire")
        return False
    with app_lock(settings.home, app.name), State(settings.home) as state:
        current = state.current(app) if state.has_app(app.name) else None
        if current is None or current.number != number:
            output.line(f"release {number} is no longer current: its successor's drain retires")
            return False
        pm.hook.retire(app=app, keep=current, settings=settings, output=output)
        settle(settings, app)
        return True
