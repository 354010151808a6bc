"""The deploy, top to bottom: intake, detect, fetch, is_current, build, publish,
render_units, schedule, report.

Each step is a hook; a *firstresult* hook that nobody answers raises a named
error that tells the user what to do. A release becomes current only once its
instances answer; until then, and if anything fails, the previous release
keeps serving and stays current.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pluggy

from nap_core import health
from nap_core.cleanup import prune
from nap_core.config import Settings
from nap_core.errors import (
    NapError,
    NoAppType,
    NoBuilder,
    NoFetcher,
    NoIntake,
    NoPublisher,
    NoScheduler,
)
from nap_core.locks import app_lock
from nap_core.model import App, AppConfig, HealthChecks, Image, Release, Request, Source, Tree, Unit
from nap_core.output import Output, TeeOutput
from nap_core.state import State


@attrs.frozen
class Outcome:
    """What a deploy ended with: the serving release, and whether it was already current."""

    release: Release
    current: bool

    def to_dict(self) -> dict[str, Any]:
        """The release record of ``nap deploy --json``."""
        return self.release.to_dict(current=self.current)


def deploy(
    request: Request, settings: Settings, pm: pluggy.PluginManager, output: Output
) -> Outcome:
    """Run the whole pipeline for one request; return the release that serves."""
    push = pm.hook.intake(request=request, settings=settings)
    if push is None:
        raise NoIntake(f"no plugin accepts a {request.kind!r} request; check `nap plugins list`")
    app = push.app
    waiting = f"Waiting for another deploy of {app.name} to finish"
    with app_lock(settings.home, app.name, lambda: output.step(waiting)):
        state = State(settings.home)
        try:
            state.ensure_app(app)
            state.fail_abandoned(app)
            app_type = pm.hook.detect(app=app, tree=Tree(push.repo, push.new))
            if app_type is None:
                raise NoAppType(
                    f"cannot tell how to build {app.name} at {push.new[:12]}: "
                    "add a Dockerfile at the root of the repository"
                )
            with tempfile.TemporaryDirectory(prefix=f"nap-{app.name}-") as workdir:
                source = pm.hook.fetch(push=push, workdir=Path(workdir))
                if source is None:
                    raise NoFetcher(f"no plugin can check out {push.new[:12]} of {app.name}")
                return _deploy_source(app, source, app_type, settings, pm, state, output)
        finally:
            state.close()


def _deploy_source(
    app: App,
    source: Source,
    app_type: str,
    settings: Settings,
    pm: pluggy.PluginManager,
    state: State,
    output: Output,
) -> Outcome:
    config = app_config(state, app, settings)
    last = state.current(app)
    running = pm.hook.is_current(
        app=app, source=source, config=config, last=last, settings=settings
    )
    if running is not None:
        state.update_placements(running)
        pm.hook.report(release=running, current=True, output=output)
        return Outcome(running, current=True)

    release = state.new_release(
        Release(
            app=app,
            number=0,
            revision=source.revision,
            tree=source.tree,
            config_digest=config.digest,
            scheduler=settings.scheduler,
            checks=read_checks(source),
        ),
        config,
    )
    release_dir = settings.release_dir(app.name, release.number)
    release_dir.mkdir(parents=True, exist_ok=True)
    with (release_dir / "build.log").open("w") as log, state.failing(release):
        logged = TeeOutput(output, log)
        logged.step(
            f"Building {app.name} release {release.number} ({app_type}, {source.revision[:12]})"
        )
        image = pm.hook.build(
            app=app,
            source=source,
            app_type=app_type,
            release=release,
            settings=settings,
            output=logged,
        )
        if image is None:
            raise NoBuilder(f"no plugin builds {app_type!r} apps; check `nap plugins list`")
        logged.step(f"Publishing to {settings.registry}")
        published = pm.hook.publish(image=image, settings=settings, output=logged)
        if published is None:
            raise NoPublisher("no plugin publishes images; check `nap plugins list`")
        release = attrs.evolve(release, image=published.pinned)
        state.record_image(release, image_info(published))
        logged.line(f"pinned {published.pinned}")
        release = roll_out(app, published, release, config, last, settings, pm, logged)
    conclude(state, release, settings, pm, output)
    return Outcome(release, current=False)


def conclude(
    state: State, release: Release, settings: Settings, pm: pluggy.PluginManager, output: Output
) -> None:
    """End a release that answers: make it current, clean up old images, report it."""
    state.make_current(release)
    prune(state, release.app, settings, output)
    pm.hook.report(release=release, current=False, output=output)


def roll_out(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    previous: Release | None,
    settings: Settings,
    pm: pluggy.PluginManager,
    output: Output,
) -> Release:
    """Render the release's units, write them down and have the scheduler run them.

    Returns the release with its units and placements. Used by deploys, and by
    config changes and rollbacks, which reuse a published image.
    """
    units = pm.hook.render_units(
        app=app, image=image, release=release, config=config, settings=settings
    )
    if units is None:
        raise NoScheduler(
            f"the scheduler {settings.scheduler!r} is not installed or not enabled: "
            "set NAP_SCHEDULER (or `scheduler` in nap.toml) to one `nap plugins list` shows"
        )
    write_units(settings, release, units)
    output.step(f"Starting release {release.number} ({settings.scheduler})")
    placements = pm.hook.schedule(
        units=units,
        app=app,
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
        release, units=tuple(units), placements=tuple(placements), status="succeeded"
    )


def read_checks(source: Source) -> HealthChecks:
    """The health checks of the pushed tree (its ``CHECKS`` file), if it has one."""
    path = source.path / health.FILENAME
    return health.parse(path.read_text()) if path.is_file() else HealthChecks()


def app_config(state: State, app: App, settings: Settings) -> AppConfig:
    """The app's configuration now: its config vars and how many instances run.

    Replicas: what ``nap ps scale`` set, else ``[apps.APP] replicas`` in nap.toml
    (``NAP_APPS_APP_REPLICAS``), else ``replicas`` (``NAP_REPLICAS``), else 1.
    """
    replicas = state.replicas(app)
    if replicas is None:
        value = settings.get(f"apps.{app.name}.replicas") or settings.get("replicas") or "1"
        try:
            replicas = int(value)
        except ValueError:
            raise NapError(f"replicas must be a whole number, not {value!r}") from None
        if replicas < 1:
            raise NapError(f"replicas must be at least 1, not {replicas}")
    return AppConfig.from_mapping(state.config(app), replicas)


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


def image_info(image: Image) -> dict[str, Any]:
    """What is stored of an image to run it again without a build."""
    return {
        "id": image.id,
        "tag": image.tag,
        "ports": list(image.ports),
        "env": [list(pair) for pair in image.env],
        "repository": image.repository,
        "digest": image.digest,
        "volumes": list(image.volumes),
    }


def image_from_info(app: App, info: dict[str, Any]) -> Image:
    """The inverse of :func:`image_info`."""
    return Image(
        app=app,
        id=info.get("id", ""),
        tag=info.get("tag", ""),
        ports=tuple(info.get("ports", ())),
        env=tuple((k, v) for k, v in info.get("env", ())),
        repository=info.get("repository", ""),
        digest=info.get("digest", ""),
        volumes=tuple(info.get("volumes", ())),
    )
