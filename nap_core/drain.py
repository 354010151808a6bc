"""Retiring a replaced release: at once without a router; with one, only after
``router.drain`` seconds, so that requests it is still serving finish.

The delayed retirement runs in a ``nap drain APP N`` process of its own session
(``setsid``): it outlives the push's SSH session, and its output goes to
``NAP_HOME/apps/APP/drain.log``. When the time is up it takes the app's deploy
lock and retires only if release N is still the current one; if another
release became current meanwhile, that release's own drain retires N later,
``router.drain`` seconds after the router switched away from it. The current
release is never stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from nap_core.config import Settings
from nap_core.locks import app_lock
from nap_core.model import App, Release
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.state import State


def retire(
    release: Release,
    replaced: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> None:
    """Retire what ``release`` (now current) replaced: now, or later behind a router."""
    if settings.router == "none":
        pm.hook.retire(app=release.app, keep=release, settings=settings, output=output)
        return
    if replaced is None:
        return  # nothing served before: nothing to drain (dead deploys' leftovers: recover)
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
        subprocess.Popen(
            [sys.executable, "-m", "nap", "drain", app, str(release.number)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, **settings.environ},
            start_new_session=True,  # setsid: the push's SSH session may end first
        )


def run(settings: Settings, pm: PluginManager, app: App, number: int, output: Output) -> bool:
    """Wait ``router.drain`` seconds, then retire what release ``number`` replaced if it
    is still current. Return whether it retired anything."""
    time.sleep(max(settings.number("router.drain"), 0.0))
    with app_lock(settings.home, app.name), State(settings.home) as state:
        current = state.current(app) if state.has_app(app.name) else None
        if current is None or current.number != number:
            output.line(f"release {number} is no longer current: its successor's drain retires")
            return False
        pm.hook.retire(app=app, keep=current, settings=settings, output=output)
        return True
