"""The hooks of day-2 operations, answered by the active scheduler and called
only from :mod:`nap_core.operations`, and ``run_once``, which the release
lifecycle calls too (a release phase)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import pluggy

from nap_core.config import Settings
from nap_core.model import (
    Action,
    App,
    AppConfig,
    Image,
    Instance,
    Release,
)
from nap_core.output import Output

if TYPE_CHECKING:
    pass

hookspec = pluggy.HookspecMarker("nap")


@hookspec(firstresult=True)
def instances(app: App, release: Release, settings: Settings) -> list[Instance] | None:
    """Where the app's instances run now, read from the scheduler (not from nap's
    state), for ``nap ps`` and ``nap releases``.

    :param app: the app.
    :param release: its current release.
    :param settings: the configuration in force.
    :return: an ``Instance`` (name, release, state, host, port) per instance.
    :none: never, from a scheduler; the core refuses a scheduler without it.
    :bundled: ``local``, ``fleet``, ``swarm``.

    Example::

        @hookimpl
        def instances(app, release, settings):
            return [Instance("web.1", release.number, "running", host="10.0.0.5", port=8080)]
    """


@hookspec(firstresult=True)
def logs(
    app: App, release: Release, settings: Settings, follow: bool, lines: int, stream: TextIO
) -> None:
    """Write the app's logs to ``stream``, for ``nap logs``.

    :param app: the app.
    :param release: its current release.
    :param settings: the configuration in force.
    :param follow: keep streaming until interrupted.
    :param lines: how many of the last lines to show first (0: all).
    :param stream: where the lines go; prefix each with its instance when several run.
    :return: nothing, once done. Raise ``NapError`` when the logs cannot be read.
    :bundled: ``local`` and ``swarm`` (the engine's logs), ``fleet`` (the journal).

    Example::

        @hookimpl
        def logs(app, release, settings, follow, lines, stream):
            for line in tail(app.name, lines):
                stream.write(line)
    """


@hookspec(firstresult=True)
def control(
    app: App, release: Release, action: Action, settings: Settings, output: Output
) -> list[Instance] | None:
    """Stop, start or restart the current release, for ``nap stop``, ``nap start``
    and ``nap restart``.

    :param app: the app.
    :param release: its current release.
    :param action: ``Action.STOP``, ``Action.START`` or ``Action.RESTART``
        (validated by the core).
    :param settings: the configuration in force.
    :param output: where progress goes.
    :return: the instances afterwards.
    :none: never, from a scheduler; the core refuses a scheduler without it.
    :bundled: ``local``, ``fleet``, ``swarm``.

    Example::

        @hookimpl
        def control(app, release, action, settings, output):
            for name in instance_names(app, release):
                set_state(name, running=action is not Action.STOP)
            return current_instances(app, release)
    """


@hookspec(firstresult=True)
def retire(app: App, keep: Release | None, settings: Settings, output: Output) -> None:
    """Stop and remove every instance of the app that is not of release ``keep``:
    the release ``keep`` replaced, and any that a deploy which died left behind.

    Called once ``keep`` is current (so clients are already served by it), and
    by the next command that holds the app's locks after a deploy died.

    :param app: the app.
    :param keep: the current release, whose instances stay; ``None`` when the app
        has none (a first deploy died): then every instance goes.
    :param settings: the configuration in force (``stop_timeout``).
    :param output: where progress goes.
    :return: nothing, once done.
    :bundled: ``local`` (stops the other releases' containers), ``fleet``
        (destroys their units), ``swarm`` (nothing: a service update replaces
        tasks in place).

    Example::

        @hookimpl
        def retire(app, keep, settings, output):
            for name in instances_of(app):
                if release_of(name) != keep.number:
                    remove(name)
    """


@hookspec(firstresult=True)
def destroy(app: App, settings: Settings, volumes: bool, output: Output) -> None:
    """Remove everything the scheduler runs or keeps for the app, for
    ``nap apps destroy APP --force``.

    :param app: the app.
    :param settings: the configuration in force.
    :param volumes: also remove the app's named volumes.
    :param output: where progress goes.
    :return: nothing, once done.
    :bundled: ``local``, ``fleet``, ``swarm``.

    Example::

        @hookimpl
        def destroy(app, settings, volumes, output):
            for name in units_of(app):
                remove(name)
    """


@hookspec(firstresult=True)
def run_once(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    command: tuple[str, ...],
    settings: Settings,
    output: Output | None,
) -> int | None:
    """Run ``command`` once in a new container of ``image`` with the app's config,
    wait for it to end, remove it: a release phase, app.json's predeploy and
    postdeploy scripts, ``nap run``.

    :param app: the app.
    :param image: the image to run: the new release's for a deploy (before any of
        its processes start), the current release's for ``nap run``.
    :param release: the release it belongs to (its process table, its number).
    :param config: the config vars and scale the release runs with.
    :param command: the argument list; it replaces the image's CMD, and the
        image's ENTRYPOINT, if any, runs first.
    :param settings: ``settings.number("release_timeout")`` is a deploy's deadline.
    :param output: for a deploy: every line the command writes goes to
        ``output.line``, stdin is empty, and a command past the deadline is
        killed and ``DeployFailed`` raised. ``None`` for ``nap run``: this
        process's stdin and stdout are the command's, with a TTY when stdin is one.
    :return: the command's exit status.
    :none: never, from a scheduler; raise ``NapError`` if it cannot run one-off
        commands, saying so.
    :bundled: ``local`` (a container on this host's engine), ``swarm`` (a
        container on the manager's engine), ``fleet`` (refuses: not supported).

    Example::

        @hookimpl
        def run_once(app, image, release, config, command, settings, output):
            return start_and_wait(image.pinned, command, config.environment, output)
    """
