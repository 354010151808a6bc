"""A release's life, the same for a deploy, a config change, a rollback and a
scale: recorded as *deploying*, rolled out (``render_units``, then
``schedule``), made current together with the change it carries or marked
failed, old images cleaned up, reported.

A deploy (:mod:`nap_core.pipeline`) builds and publishes between
:func:`begin` and :func:`roll_out`; the others reuse a published image
through :func:`release_again`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from nap_core import diskfull, drain, routing
from nap_core.cleanup import prune
from nap_core.config import Settings
from nap_core.errors import NapError, NoScheduler
from nap_core.locks import app_lock
from nap_core.model import App, AppConfig, HealthChecks, Image, ProcessTable, Release, Source, Unit
from nap_core.output import Output, TeeOutput
from nap_core.phases import after_switch, before_start
from nap_core.plugins import PluginManager
from nap_core.scale import app_config as app_config
from nap_core.state import Change, State


@attrs.frozen
class Outcome:
    """What a deploy ended with: the serving release, and whether it was already current."""

    release: Release
    current: bool

    def to_dict(self) -> dict[str, Any]:
        """The release record of ``nap deploy --json``."""
        return self.release.to_dict(current=self.current)


@contextmanager
def deploy_lock(settings: Settings, app: App, output: Output) -> Iterator[None]:
    """Hold the app's deploy lock for a deploy, saying so while another holds it."""
    waiting = f"Waiting for another deploy of {app.name} to finish"
    with app_lock(
        settings.home,
        app.name,
        lambda who: output.step(f"{waiting} ({who})"),
        settings.number("lock_timeout"),
        f"deploy of {app.name}",
    ):
        yield


def draft(
    app: App,
    revision: str,
    tree: str,
    config: AppConfig,
    settings: Settings,
    checks: HealthChecks,
    image: Image | None = None,
    processes: ProcessTable | None = None,
) -> Release:
    """The release to make of this content, before the state numbers it."""
    return Release(
        app=app,
        number=0,
        revision=revision,
        tree=tree,
        config_digest=config.digest,
        scheduler=settings.scheduler,
        image=image,
        checks=checks,
        processes=processes or ProcessTable(),
    )


@contextmanager
def build_log(settings: Settings, release: Release, output: Output) -> Iterator[Output]:
    """``output``, also written to the release's ``build.log``."""
    release_dir = settings.release_dir(release.app.name, release.number)
    release_dir.mkdir(parents=True, exist_ok=True)
    with (release_dir / "build.log").open("w") as log:
        yield TeeOutput(output, log)


def same_content(
    last: Release | None, source: Source, config: AppConfig, settings: Settings
) -> Release | None:
    """``last`` if it ran on the active scheduler with this tree and config, else ``None``:
    content, not commits, decides whether anything needs building."""
    if last is None:
        return None
    ran = (last.scheduler, last.tree, last.config_digest)
    return last if ran == (settings.scheduler, source.tree, config.digest) else None


def begin(state: State, draft: Release, config: AppConfig, change: Change | None = None) -> Release:
    """Record ``draft`` as the app's next release, *deploying*, numbered by the state."""
    return state.new_release(draft, config, change)


def roll_out(
    state: State,
    release: Release,
    image: Image,
    config: AppConfig,
    previous: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
    phases: bool = False,
) -> Release:
    """Render the release's units, write them down and have the scheduler run them.

    With ``phases``, app.json's predeploy script and then the Procfile's release
    command run first, each once in a one-off container of the new image: before
    any new process starts, and a failure fails the release.

    Returns the release with its image, units and placements, *succeeded*.
    """
    if phases:
        before_start(release, image, config, previous, settings, pm, output)
    units = pm.hook.render_units(
        app=release.app,
        image=image,
        release=release,
        config=config,
        previous=previous,
        ports_in_use=_ports_in_use(state, settings, pm),
        settings=settings,
    )
    write_units(settings, release, list(units or ()))
    # From its first process on, a release that fails owes the app a retirement: the
    # scheduler removes what it started, but not if the engine stopped answering (or
    # the deploy was killed); then the next command that touches the app does it.
    drain.owe_unless_owed(settings, release.app)
    output.step(f"Starting release {release.number} ({settings.scheduler})")
    placements = pm.hook.schedule(
        units=list(units or ()),
        app=release.app,
        image=image,
        release=release,
        config=config,
        previous=previous,
        settings=settings,
        output=output,
    )
    if placements is None:
        raise NoScheduler(
            f"the scheduler {settings.scheduler!r} did not place release {release.number}"
        )
    return attrs.evolve(
        release,
        image=image,
        units=tuple(units or ()),
        placements=tuple(placements),
        status="succeeded",
    )


def _ports_in_use(state: State, settings: Settings, pm: PluginManager) -> frozenset[int]:
    """The host ports the serving releases hold, read only for a ``render_units`` that
    takes them (fleet's, which chooses host ports): the query reads every app's
    placements, 30 ms at 10,000 apps, on every deploy."""
    impls = pm.hook.render_units.get_hookimpls()
    if not any("ports_in_use" in impl.argnames for impl in impls):
        return frozenset()
    return state.ports_in_use(settings.scheduler)


def conclude(
    state: State,
    release: Release,
    change: Change | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> Release:
    """Make a release that answers current, with the change it carries; route to it;
    then retire the release it replaced and clean up old images. Return the release
    with its stable URLs.

    Retiring comes after the switch, never before: a deploy that dies in between
    leaves two releases running, not none.
    """
    replaced = state.current(release.app)
    drain.owe(settings, release.app)  # dying from here on, it leaves the retiring to recovery
    state.make_current(release, change)
    release = routing.serve(state, release, settings, pm, output)
    drain.retire(release, replaced, settings, pm, output)
    prune(state, release.app, settings, pm, output)
    return release


@contextmanager
def workdir(settings: Settings, app: App) -> Iterator[Path]:
    """An empty directory for one deploy, under ``NAP_HOME/tmp`` (never the system's:
    what a push checks out counts against NAP_HOME's space), removed afterwards,
    or by :func:`nap_core.recovery.recover` if the deploy dies.

    While it lasts it is the process's temp directory (:mod:`tempfile`), so what
    nap or a plugin makes there for the deploy (a generated Dockerfile) goes with it.
    """
    top = settings.home / "tmp"
    top.mkdir(parents=True, exist_ok=True)
    diskfull.keep_reserve(settings.home)  # room to record a failure if the disk fills
    path = Path(tempfile.mkdtemp(prefix=f"{app.name}.", dir=top))
    system_temp, tempfile.tempdir = tempfile.tempdir, str(path)
    try:
        yield path
    finally:
        tempfile.tempdir = system_temp
        shutil.rmtree(path, ignore_errors=True)


def release_again(
    state: State,
    base: Release,
    change: Change,
    settings: Settings,
    pm: PluginManager,
    output: Output,
    why: str,
    phases: bool = False,
) -> Release:
    """Make a new release of ``base``'s image with the app's config and ``change``,
    roll it out, and report it. Call under the app's locks. With ``phases`` (a
    config change, as on Heroku), the release command and app.json's scripts run
    as in a deploy; a rollback or a scale runs none of them.

    If it fails, the release that served keeps serving and ``change`` is not made.
    """
    app = base.app
    if base.pruned or base.image is None:
        raise NapError(
            f"the image of release {base.number} is gone (image clean-up keeps the last "
            f"{settings.get('keep_releases')} releases): push revision {base.revision[:12]} again"
        )
    config = app_config(state, app, settings, change, base.processes)
    previous = state.current(app)
    again = draft(
        app, base.revision, base.tree, config, settings, base.checks, base.image, base.processes
    )
    release = begin(state, again, config, change)
    output.step(f"{why}: release {release.number} of {app.name}, image of release {base.number}")
    with state.failing(release):
        release = roll_out(
            state, release, base.image, config, previous, settings, pm, output, phases
        )
    release = conclude(state, release, change, settings, pm, output)
    if phases:
        after_switch(release, config, settings, pm, output)
    pm.hook.report(release=release, current=False, output=output)
    return release


def write_units(settings: Settings, release: Release, units: list[Unit]) -> None:
    """Write each unit into the release directory, the record of what runs.

    Mode 0600: a unit may carry the app's config values (fleet's do).
    """
    release_dir = settings.release_dir(release.app.name, release.number)
    release_dir.mkdir(parents=True, exist_ok=True)
    for unit in units:
        if "/" in unit.name or unit.name.startswith("."):
            raise NapError(f"a plugin rendered a unit with an unsafe name: {unit.name!r}")
        path = release_dir / unit.name
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when the file was there before
        with os.fdopen(fd, "w") as file:
            file.write(unit.text)
