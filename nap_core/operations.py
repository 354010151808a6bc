"""Day-2 operations that make a new release without a build: config changes,
rollbacks and scaling; and what follows a deploy or ends an app: image
clean-up and destroy.

A release made here reuses a published image, runs through the same
render_units and schedule hooks as a deploy, and becomes current only once it
answers; if it fails, the release that served keeps serving.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pluggy

from nap_core import images
from nap_core.config import Settings
from nap_core.errors import NapError, NoScheduler
from nap_core.locks import app_lock
from nap_core.model import App, Release
from nap_core.names import check_config_key
from nap_core.output import Output
from nap_core.pipeline import app_config, conclude, image_from_info, roll_out
from nap_core.state import State


@contextmanager
def app_state(
    settings: Settings, name: str, *, locked: bool = False, create: bool = False
) -> Iterator[tuple[State, App]]:
    """The state and the app ``name`` for the duration of the block.

    :param locked: hold the app's deploy lock, as anything that makes a release must.
    :param create: record an app nap has not seen yet, instead of refusing it.
    """
    app = App(name)
    state = State(settings.home)
    try:
        if create:
            state.ensure_app(app)
        elif not state.has_app(app.name):
            raise NapError(f"no app named {app.name}: deploy it first (`nap apps` lists apps)")
        if locked:
            with app_lock(settings.home, app.name):
                yield state, app
        else:
            yield state, app
    finally:
        state.close()


def current_release(state: State, app: App) -> Release:
    """The release serving the app, or an error saying to deploy first."""
    release = state.current(app)
    if release is None:
        raise NapError(f"{app.name} has no release yet: push it first")
    return release


def release_again(
    state: State,
    app: App,
    base: Release,
    settings: Settings,
    pm: pluggy.PluginManager,
    output: Output,
    why: str,
) -> Release:
    """Make a new release of ``base``'s image with the app's config now, and roll it out.

    Call under the app's lock. Raises if ``base``'s image was cleaned up.
    """
    info = state.image_info(app, base.number)
    if info.get("pruned") or not base.image:
        raise NapError(
            f"the image of release {base.number} is gone (image clean-up keeps the last "
            f"{settings.get('keep_releases')} releases): push revision {base.revision[:12]} again"
        )
    config = app_config(state, app, settings)
    previous = state.current(app)
    release = state.new_release(
        Release(
            app=app,
            number=0,
            revision=base.revision,
            tree=base.tree,
            config_digest=config.digest,
            scheduler=settings.scheduler,
            image=base.image,
            checks=base.checks,
        ),
        config,
        info,
    )
    output.step(f"{why}: release {release.number} of {app.name}, image of release {base.number}")
    with state.failing(release):
        release = roll_out(
            app, image_from_info(app, info), release, config, previous, settings, pm, output
        )
    conclude(state, release, settings, pm, output)
    return release


def release_current_again(
    state: State,
    app: App,
    settings: Settings,
    pm: pluggy.PluginManager,
    output: Output,
    why: str,
) -> Release | None:
    """Roll the current release's image out again with the app's config now; None if
    the app has never run (the change then applies from its first deploy)."""
    base = state.current(app)
    if base is None:
        return None
    return release_again(state, app, base, settings, pm, output, why)


def change_config(
    settings: Settings,
    pm: pluggy.PluginManager,
    name: str,
    output: Output,
    set_vars: Mapping[str, str] | None = None,
    unset: list[str] | None = None,
) -> Release | None:
    """Set and unset config vars; roll out a release with them if the app runs."""
    for key in [*(set_vars or {}), *(unset or [])]:
        check_config_key(key)
    # Config may come before the first push (a database URL the app needs to
    # start), so an app nap has not seen yet is created here, as by a push.
    with app_state(settings, name, locked=True, create=True) as (state, app):
        env = state.config(app)
        missing = [key for key in unset or [] if key not in env]
        if missing:
            raise NapError(f"{app.name} has no config var {', '.join(missing)}")
        env.update(set_vars or {})
        for key in unset or []:
            env.pop(key)
        state.replace_config(app, env)
        return release_current_again(state, app, settings, pm, output, "Config changed")


def rollback(
    settings: Settings, pm: pluggy.PluginManager, name: str, number: int | None, output: Output
) -> Release:
    """Run release ``number`` (default: the one before the current) again: its image
    and its config vars, as a new release, without a build."""
    with app_state(settings, name, locked=True) as (state, app):
        current = current_release(state, app)
        if number is None:
            older = [
                r
                for r in state.releases(app)
                if r.number < current.number and r.status == "succeeded"
            ]
            if not older:
                raise NapError(f"{app.name} has no release before {current.number}")
            number = older[0].number
        target = state.release(app, number)
        if target is None or target.status != "succeeded":
            raise NapError(
                f"{app.name} has no release {number} that ran: `nap releases {app.name}`"
            )
        state.replace_config(app, state.release_config(app, number))
        return release_again(state, app, target, settings, pm, output, f"Rolling back to {number}")


def scale(
    settings: Settings, pm: pluggy.PluginManager, name: str, replicas: int, output: Output
) -> Release | None:
    """Set the app's replicas and roll out a release that runs that many."""
    if replicas < 0 or replicas > 100:
        raise NapError(f"replicas must be between 0 and 100, not {replicas}")
    with app_state(settings, name, locked=True) as (state, app):
        state.set_replicas(app, replicas)
        return release_current_again(state, app, settings, pm, output, f"Scaling to {replicas}")


def destroy(
    settings: Settings, pm: pluggy.PluginManager, name: str, volumes: bool, output: Output
) -> None:
    """Remove everything of an app: what runs, its images, its repo, its state."""
    with app_state(settings, name, locked=True) as (state, app):
        output.step(f"Destroying {app.name}")
        done = pm.hook.destroy(app=app, settings=settings, volumes=volumes, output=output)
        if done is None:
            raise NoScheduler(f"the scheduler {settings.scheduler!r} cannot destroy apps")
        for release in state.releases(app):
            info = state.image_info(app, release.number)
            for ref in images.references(info):
                images.remove_local(ref, output)
            if info.get("digest") and not info.get("pruned"):
                images.delete_from_registry(info["repository"], info["digest"], output)
        shutil.rmtree(settings.repo_path(app.name), ignore_errors=True)
        shutil.rmtree(settings.app_dir(app.name), ignore_errors=True)
        state.delete_app(app.name)
        output.done(f"{app.name} is gone")


def control(
    settings: Settings, pm: pluggy.PluginManager, name: str, action: str, output: Output
) -> list[Any]:
    """Stop, start or restart the app's current release."""
    with app_state(settings, name, locked=True) as (state, app):
        release = current_release(state, app)
        found = pm.hook.control(
            app=app, release=release, action=action, settings=settings, output=output
        )
        if found is None:
            raise NoScheduler(f"the scheduler {settings.scheduler!r} cannot {action} apps")
        return list(found)
