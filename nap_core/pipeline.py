"""The deploy, top to bottom: intake, detect, fetch, is_current, build, publish, render_units,
schedule, report. A release becomes current only once it answers (:mod:`nap_core.lifecycle`);
until then, and if anything fails, the previous release keeps serving."""

from __future__ import annotations

import attrs

from nap_core import app_types, appjson, health, lifecycle, phases, recovery, routing
from nap_core.config import Settings
from nap_core.errors import NoBuilder, NoFetcher, NoIntake
from nap_core.lifecycle import Outcome
from nap_core.model import AppConfig, Release, Request, Source, Tree
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.publishing import publishing
from nap_core.state import State


def deploy(request: Request, settings: Settings, pm: PluginManager, output: Output) -> Outcome:
    """Run the whole pipeline for one request; return the release that serves."""
    push = pm.hook.intake(request=request, settings=settings)
    if push is None:
        raise NoIntake(f"no plugin accepts a {request.kind!r} request; check `nap plugins list`")
    app = push.app
    with lifecycle.deploy_lock(settings, app, output), State(settings.home) as state:
        state.ensure_app(app)
        recovery.recover(state, app, settings, pm, output)
        tree = Tree(push.repo, push.new)
        tree.check(settings)  # before anything is checked out
        app_type = app_types.app_type_of(app, tree, state, pm)
        file_checks = health.read(tree, settings)  # CHECKS, the older form
        with lifecycle.workdir(settings, app) as workdir:
            source = pm.hook.fetch(push=push, workdir=workdir)
            if source is None:
                raise NoFetcher(f"no plugin can check out {push.new[:12]} of {app.name}")
            # The Procfile and app.json first: a bad one rejects the push before a build.
            limit = int(settings.number("max_read_size"))
            table, described = appjson.process_table(tree, app_type, limit)
            config = lifecycle.app_config(state, app, settings, processes=table)
            last = state.current(app)
            running = None
            # A release another app type built (the app chose one since) is not current.
            if not app_types.retyped(state, last, app_type):
                running = pm.hook.is_current(
                    app=app, source=source, config=config, settings=settings,
                    last=lifecycle.same_content(last, source, config, settings),
                )  # fmt: skip
            if running is not None:
                running = routing.serve_again(state, running, settings, pm, output)
            else:
                checks = appjson.startup_checks(file_checks, described, output)
                draft = lifecycle.draft(
                    app, source.revision, source.tree, config, settings, checks, processes=table
                )
                release = _new(state, source, draft, app_type, config, last, settings, pm, output)
            outcome = Outcome(running or release, current=running is not None)
    pm.hook.report(release=outcome.release, current=outcome.current, output=output)
    return outcome


def _new(
    state: State,
    source: Source,
    draft: Release,
    app_type: str,
    config: AppConfig,
    previous: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> Release:
    """Build, publish and roll out a new release of ``source``; make it current."""
    app = source.app
    release = lifecycle.begin(state, draft, config)
    with lifecycle.build_log(settings, release, output) as logged, state.failing(release):
        logged.step(
            f"Building {app.name} release {release.number} ({app_type}, {source.revision[:12]})"
        )
        image = pm.hook.build(
            app=app, source=source, app_type=app_type, release=release, settings=settings,
            output=logged,
        )  # fmt: skip
        if image is None:
            raise NoBuilder(app_types.no_builder(app, app_type))
        app_types.record(state, release, app_type)
        state.record_image(attrs.evolve(release, image=image))  # clean-up can find its tag
        # Published first, or (a scheduler that runs the built image) while the release starts.
        with publishing(state, release, image, previous, settings, pm, logged) as published:
            # render_units, then schedule: the same roll-out as every release's
            release = lifecycle.roll_out(
                state, release, published.runnable, config, previous, settings, pm, logged, True
            )
            release = published.pinned(release)  # the switch waits for the digest
    release = lifecycle.conclude(state, release, None, settings, pm, output)
    phases.after_switch(release, config, settings, pm, output)
    return release
