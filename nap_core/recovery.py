"""Cleaning up after deploys that did not end well: killed ones (their process is
gone), failed ones whose scheduler could not remove what they started, and
drains that were killed. Run by the next command that touches the app, under
its deploy lock (:mod:`nap_core.operations`, :mod:`nap_core.pipeline`).
"""

from __future__ import annotations

import shutil

from nap_core import drain, routing, scratch
from nap_core.config import Settings
from nap_core.model import App, Release
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.state import State


def recover(
    state: State,
    app: App,
    settings: Settings,
    pm: PluginManager,
    output: Output,
    dead: list[Release] | None = None,
) -> None:
    """Clean up after deploys of ``app`` that died: mark their releases failed, stop
    what they started, remove their images and work directories; retire what a
    release replaced if its deploy or drain died before doing so, and what a failed
    release left running. Call under the app's deploy lock (then no deploy of the
    app runs).

    :param dead: releases already marked failed as dead, to clean up too.
    """
    dead = [*(dead or []), *state.fail_dead(app, locked=True)]
    for leftover in (settings.home / "tmp").glob(f"{app.name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)
    scratch.sweep(settings.home)  # a killed push's or `nap deploy`'s
    abandoned = drain.abandoned(settings, app)
    if not dead and not abandoned:
        return
    keep = state.current(app)
    if dead:
        output.step(f"Cleaning up after the deploy of release {dead[-1].number}, which died")
    # Else a deploy that failed, or a drain that was killed, owed a retirement: most
    # often nothing is left, and what is says so itself (``stopping ...``).
    pm.hook.retire(app=app, keep=keep, settings=settings, output=output)
    drain.settle(settings, app, only_mine=False)
    routing.update(state, app, settings, pm, output)  # it may have died before the switch
    for release in dead:
        if release.image is not None:
            pm.hook.unpublish(image=release.image, settings=settings, output=output)
            state.mark_pruned(release)
