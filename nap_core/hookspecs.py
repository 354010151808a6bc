"""The hooks of a deploy, in the order the pipeline calls them.

Each spec says what it gets, what it returns and what ``None`` means. Hooks
marked *firstresult* stop at the first implementation that returns something
other than ``None``. docs/hooks.md is the reference built from these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import pluggy

from nap_core.config import Settings
from nap_core.model import (
    App,
    AppConfig,
    Image,
    Instance,
    Placement,
    Push,
    Release,
    Request,
    Source,
    Tree,
    Unit,
)
from nap_core.output import Output

hookspec = pluggy.HookspecMarker("nap")

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

#: The hooks of day-2 operations (``nap ps``, ``logs``, ``stop``...), answered
#: by the configured scheduler.
OPERATIONS = ("instances", "logs", "control", "destroy")


@hookspec(firstresult=True)
def intake(request: Request, settings: Settings) -> Push | None:
    """Turn a raw request into the :class:`Push` to deploy.

    :param request: what reached nap (a push seen by the pre-receive hook, or a
        local redeploy of a revision the bare repo already holds).
    :param settings: the configuration in force.
    :return: the push to deploy, or ``None`` if the request is not of a kind
        this plugin handles. Raise :class:`~nap_core.errors.NapError` to refuse
        it (a push to a branch that does not deploy, say).

    Stops at the first non-``None`` result. Bundled: ``gitshell``.
    """


@hookspec(firstresult=True)
def detect(app: App, tree: Tree) -> str | None:
    """Name the app type of the pushed tree.

    :param app: the app being deployed.
    :param tree: the pushed revision, readable straight from git
        (``tree.names()``, ``tree.read(path)``): nothing is checked out yet.
    :return: an app type name (``"dockerfile"``), or ``None`` if this plugin does
        not recognise the tree.

    Stops at the first non-``None`` result. Bundled: ``dockerfile``, ``trylast``
    so that other app types win.
    """


@hookspec(firstresult=True)
def fetch(push: Push, workdir: Path) -> Source | None:
    """Check out exactly the pushed revision into ``workdir``.

    :param push: the accepted push; its ``repo`` is the bare repository.
    :param workdir: an empty directory nap removes after the deploy.
    :return: the :class:`Source` (path, revision and tree hash), or ``None`` if
        this plugin cannot read the push's repository.

    Stops at the first non-``None`` result. Bundled: ``gitshell``.
    """


@hookspec(firstresult=True)
def is_current(
    app: App, source: Source, config: AppConfig, last: Release | None, settings: Settings
) -> Release | None:
    """Say whether the running release already serves this tree with this config.

    :param app: the app being deployed.
    :param source: the pushed tree; compare by ``source.tree``, not by commit.
    :param config: the app's configuration now.
    :param last: the current release, or ``None`` for a first deploy.
    :param settings: the configuration in force (``settings.scheduler`` names the
        scheduler that should answer; others return ``None``).
    :return: the running release (with fresh placements) if it serves this tree
        and config and is healthy; ``None`` means build and deploy.

    Stops at the first non-``None`` result. Bundled: the configured scheduler.
    """


@hookspec(firstresult=True)
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Build the source into an image on this host.

    :param app: the app being deployed.
    :param source: the checked-out tree.
    :param app_type: what :func:`detect` answered.
    :param release: the release being made (its number tags the image).
    :param settings: the configuration in force (``settings.registry`` names the
        image's repository).
    :param output: where build output goes, line by line.
    :return: the built :class:`Image` with the ports it listens on, or ``None``
        if this plugin does not build ``app_type``. Raise
        :class:`~nap_core.errors.BuildFailed` when the build fails.

    Stops at the first non-``None`` result. Bundled: ``dockerfile``.
    """


@hookspec(firstresult=True)
def publish(image: Image, settings: Settings, output: Output) -> Image | None:
    """Push the image to the registry and pin it by digest.

    :param image: the built image.
    :param settings: the configuration in force (``settings.registry``).
    :param output: where progress goes.
    :return: a copy of ``image`` with ``repository`` and ``digest`` set, so that
        ``image.pinned`` is ``REGISTRY/APP@sha256:...``; ``None`` if this plugin
        does not publish. Raise :class:`~nap_core.errors.PublishFailed` on failure.

    Stops at the first non-``None`` result. Bundled: ``registry``.
    """


@hookspec(firstresult=True)
def render_units(
    app: App, image: Image, release: Release, config: AppConfig, settings: Settings
) -> list[Unit] | None:
    """Render what the scheduler will run: systemd/fleet units or a service spec.

    :param app: the app being deployed.
    :param image: the published image (run ``image.pinned``, never a tag).
    :param release: the release being made.
    :param config: the app's configuration.
    :param settings: the configuration in force.
    :return: the units; nap writes them into the release directory as the
        record of what runs. ``None`` if this plugin is not the configured scheduler.

    Stops at the first non-``None`` result. Bundled: the configured scheduler
    (``local``: a systemd template unit; ``fleet``: a build unit and a run unit;
    ``swarm``: a stack file).
    """


@hookspec(firstresult=True)
def schedule(
    units: list[Unit],
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    previous: Release | None,
    settings: Settings,
    output: Output,
) -> list[Placement] | None:
    """Run the release's units and wait until every instance answers.

    :param units: what :func:`render_units` returned.
    :param app: the app being deployed.
    :param image: the published image.
    :param release: the release being made.
    :param config: the app's configuration (environment, replicas).
    :param previous: the release that serves now, to replace once the new one
        answers; ``None`` for a first deploy.
    :param settings: the configuration in force (``deploy_timeout``).
    :param output: where progress goes.
    :return: where each instance runs, once all answer. ``None`` if this plugin
        is not the configured scheduler. Raise
        :class:`~nap_core.errors.DeployFailed` if the release never answers:
        the new instances are removed and ``previous`` keeps serving.

    Stops at the first non-``None`` result. Bundled: the configured scheduler
    (``local``, ``fleet``, ``swarm``).
    """


@hookspec
def report(release: Release, current: bool, output: Output) -> None:
    """Tell the pusher where the release runs.

    :param release: the release now serving, with its placements.
    :param current: ``True`` when nothing was built because the release was
        already current.
    :param output: the pusher's stream.

    Every implementation is called. Bundled: ``core`` (the summary and the
    URLs) and ``gitshell`` (the release record for ``nap deploy --json``).
    """


# Day-2 operations. Each is answered by the configured scheduler; every other
# plugin returns None.


@hookspec(firstresult=True)
def instances(app: App, release: Release, settings: Settings) -> list[Instance] | None:
    """List where the app's instances run now, read from the scheduler (not from nap's state).

    :param app: the app.
    :param release: its current release.
    :param settings: the configuration in force.
    :return: every instance with its host, port and state (``running``,
        ``stopped``, ``failed``...); ``None`` if this plugin is not the
        configured scheduler.

    Stops at the first non-``None`` result. Bundled: the configured scheduler.
    """


@hookspec(firstresult=True)
def logs(
    app: App, release: Release, settings: Settings, follow: bool, lines: int, stream: TextIO
) -> bool | None:
    """Write the app's logs to ``stream``, each line prefixed by its instance when several run.

    :param follow: keep streaming until interrupted.
    :param lines: how many of the last lines to show first (0: all).
    :return: ``True`` once done; ``None`` if this plugin is not the configured scheduler.

    Stops at the first non-``None`` result. Bundled: the configured scheduler.
    """


@hookspec(firstresult=True)
def control(
    app: App, release: Release, action: str, settings: Settings, output: Output
) -> list[Instance] | None:
    """Stop, start or restart the current release's instances.

    :param action: ``"stop"``, ``"start"`` or ``"restart"``.
    :return: the instances afterwards; ``None`` if this plugin is not the
        configured scheduler.

    Stops at the first non-``None`` result. Bundled: the configured scheduler.
    """


@hookspec(firstresult=True)
def destroy(app: App, settings: Settings, volumes: bool, output: Output) -> bool | None:
    """Remove everything the scheduler runs or keeps for the app.

    :param volumes: also remove the app's named volumes.
    :return: ``True`` once done; ``None`` if this plugin is not the configured scheduler.

    Stops at the first non-``None`` result. Bundled: the configured scheduler.
    """
