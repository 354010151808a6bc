"""The hooks of a deploy, in the order :mod:`nap_core.pipeline` calls them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from nap_core.config import Settings
from nap_core.model import (
    App,
    AppConfig,
    Image,
    Placement,
    Push,
    Release,
    Request,
    Source,
    Tree,
    Unit,
)
from nap_core.output import Output

if TYPE_CHECKING:
    pass

hookspec = pluggy.HookspecMarker("nap")


@hookspec(firstresult=True)
def intake(request: Request, settings: Settings) -> Push | None:
    """Turn a raw request into the push to deploy.

    :param request: what reached nap. ``kind`` is ``"pre-receive"`` for a push
        (the bare repo's hook: ``repo`` and ``updates``, the ``(old, new, ref)``
        lines git gave the hook) or ``"redeploy"`` for ``nap deploy`` of a
        revision the repository already holds (``repo``, ``revision``). ``key``
        names the SSH key that pushed, when there is one.
    :param settings: the configuration in force.
    :return: a ``Push`` (app, ref, old and new revision, repo path).
    :none: the request is not of a kind this plugin handles. Raise a
        ``NapError`` to refuse it, e.g. a push to a branch that does not deploy.
    :bundled: ``gitshell`` accepts pushes to the deploy branches (``branches``,
        default ``master,main``) and refuses other refs and branch deletion.

    Example::

        @hookimpl
        def intake(request, settings):
            if request.kind != "webhook":
                return None
            ...
    """


@hookspec(firstresult=True)
def detect(app: App, tree: Tree) -> str | None:
    """Name the app type of the pushed tree, before anything is checked out.

    :param app: the app being deployed.
    :param tree: the pushed revision read straight from git: ``tree.names()``
        lists the root, ``tree.read("Procfile")`` returns a file's bytes or ``None`` (a
        symlink or a file over ``max_read_size`` is refused, never followed).
    :return: an app type name such as ``"dockerfile"``.
    :none: this plugin does not recognise the tree. If no plugin answers, the
        deploy fails with ``NoAppType`` ("cannot tell how to build APP: add a
        Dockerfile ... or install the plugin of its app type"). Return ``None``
        when the tree has a ``Dockerfile``, so that the Dockerfile wins. An app
        that chose its type (``nap apps set APP app_type NAME``) skips detect:
        the core hands that name to ``build`` (docs/plugins.md).
    :bundled: ``dockerfile``, marked ``trylast`` so that more specific app types win;
        the contrib app types ``python``, ``node`` (``tryfirst``) and ``static``
        (``trylast``) follow Heroku's rules.

    Example::

        @hookimpl
        def detect(app, tree):
            return "dockerfile" if "Dockerfile" in tree.names() else None
    """


@hookspec(firstresult=True)
def fetch(push: Push, workdir: Path) -> Source | None:
    """Check out exactly the pushed revision.

    :param push: the accepted push; ``push.repo`` is the bare repository,
        ``push.new`` the revision.
    :param workdir: an empty directory that nap removes after the deploy.
    :return: a ``Source``: the checked-out ``path``, the ``revision`` and its
        git ``tree`` hash (what "is it current?" compares).
    :none: this plugin cannot read the push's repository (``NoFetcher``).
    :bundled: ``gitshell`` checks the revision out of the bare repository
        through a throwaway index, never from a client's working directory.

    Example::

        @hookimpl
        def fetch(push, workdir):
            ...  # materialise push.new under workdir
            return Source(app=push.app, revision=push.new, tree=tree_hash, path=workdir / "src")
    """


@hookspec(firstresult=True)
def is_current(
    app: App, source: Source, config: AppConfig, last: Release | None, settings: Settings
) -> Release | None:
    """Say whether the running release still serves, so that nothing is built.

    The core compares content first: ``last`` is the current release only when
    it ran on this scheduler with the pushed tree (``source.tree``, not the
    commit) and this config (``config.digest``); otherwise it is ``None``.

    :param app: the app being deployed.
    :param source: the checked-out push.
    :param config: the app's configuration now.
    :param last: the current release if it has this content, else ``None``.
    :param settings: the configuration in force. A scheduler that needs
        settings checks them here: this hook runs before the build, so a bad
        setting fails before anything is built.
    :return: ``last``, with placements read fresh from the scheduler, when all
        its instances run and answer. nap then reports it with ``"current": true``.
    :none: build and deploy.
    :bundled: the active scheduler (``local`` checks that the release's
        containers are running).

    Example::

        @hookimpl
        def is_current(app, source, config, last, settings):
            if last is None or not all_running(app, last):
                return None
            return attrs.evolve(last, placements=fresh_placements(app, last))
    """


@hookspec(firstresult=True)
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Build the source into an image on this host.

    :param app: the app being deployed.
    :param source: its checked-out tree.
    :param app_type: what ``detect`` answered, or the type the app chose.
    :param release: the release being made; its ``number`` tags the image
        ``REGISTRY/APP:NUMBER``.
    :param settings: ``settings.registry`` names the image's repository;
        ``settings.default_port`` is the ``$PORT`` of apps without EXPOSE.
    :param output: ``output.line(text)`` streams build output, indented.
    :return: the built ``Image``: its id, tag, the TCP ``ports`` the app listens
        on (EXPOSE, or ``$PORT``), ``env`` nap sets (``PORT``) and ``volumes`` (VOLUME).
    :none: this plugin does not build ``app_type`` (``NoBuilder``: "cannot tell
        how to build APP: no installed plugin builds 'TYPE' apps"). Raise
        ``BuildFailed`` when the build itself fails.
    :bundled: ``dockerfile``, through the docker SDK and the engine's classic
        builder (its ``build_image``, which the contrib app types call with a
        generated Dockerfile's text); ``fleet`` with ``fleet.build = "cluster"``
        (a build unit on a machine).

    Example::

        @hookimpl
        def build(app, source, app_type, release, settings, output):
            if app_type != "procfile":
                return None
            ...
    """


@hookspec(firstresult=True)
def publish(image: Image, settings: Settings, output: Output) -> Image | None:
    """Push the image to the registry and pin it by digest.

    :param image: the built image.
    :param settings: ``settings.registry``.
    :param output: where progress goes.
    :return: a copy of the image with ``repository`` and ``digest`` set:
        ``image.pinned`` is ``REGISTRY/APP@sha256:...``, what every unit runs.
    :none: this plugin does not publish (``NoPublisher``). Raise
        ``PublishFailed`` when the push fails; say whether the registry is unreachable.
    :bundled: ``registry``.

    Example::

        @hookimpl
        def publish(image, settings, output):
            digest = push_somewhere(image.tag)
            return attrs.evolve(image, repository=..., digest=digest)
    """


@hookspec(firstresult=True)
def render_units(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    previous: Release | None,
    ports_in_use: frozenset[int],
    settings: Settings,
) -> list[Unit] | None:
    """Render what the scheduler will run: systemd/fleet units or a service spec.

    :param app: the app.
    :param image: the image to run; units run ``image.pinned``, never a tag: its
        registry digest, or its image id while the publish still runs (a
        scheduler that declares ``RUNS_BUILT_IMAGE``, such as ``local``).
    :param release: the release being made.
    :param config: environment and replicas.
    :param previous: the release serving now (``None`` for a first deploy), for
        messages that say what still serves.
    :param ports_in_use: the host ports the serving releases of every app
        publish, from nap's state: a scheduler that chooses host ports takes none of them.
        Read from nap.db only when an implementation takes this argument (else empty).
    :param settings: the configuration in force.
    :return: the ``Unit``s (name, text, kind ``build``/``run``/``spec``). nap
        writes each into ``NAP_HOME/apps/APP/releases/N/``, the record of what runs.
    :none: this scheduler renders nothing to write down; ``schedule`` still runs.
    :bundled: the active scheduler: ``local`` (a systemd template unit
        ``nap-APP-rN@.service``), ``fleet`` (a build unit and a run unit),
        ``swarm`` (a stack file).

    Example::

        @hookimpl
        def render_units(app, image, release, config, previous, ports_in_use, settings):
            return [Unit(f"{app.name}-{release.number}.yml", render_spec(image.pinned), "spec")]
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
    """Run the release and wait until every instance answers.

    :param units: what ``render_units`` returned.
    :param app: the app.
    :param image: the image to run (``image.pinned``, as for ``render_units``).
    :param release: the release being made; ``release.checks`` are the health
        checks to pass before the release counts as up.
    :param config: the app's environment and replicas.
    :param previous: the release serving now, to replace once the new one
        answers; ``None`` for a first deploy.
    :param settings: ``settings.deploy_timeout`` is the deadline.
    :param output: where progress goes.
    :return: a ``Placement`` (unit, host, port, url) per instance and port, once
        all answer. nap then makes the release current.
    :none: the scheduler placed nothing; the deploy fails with ``NoScheduler``.
        Raise ``DeployFailed`` when the release never answers: remove what was
        started, leave ``previous`` serving, and end the message with
        ``what_serves(previous)`` ("release N still serves").
    :bundled: the active scheduler: ``local`` (containers on this host's
        engine), ``fleet`` (unit instances placed by fleet), ``swarm`` (a service).

    Example::

        @hookimpl
        def schedule(units, app, image, release, config, previous, settings, output):
            ...
            return [Placement.http(unit="web.1", host="10.0.0.5", port=8080)]
    """


@hookspec
def report(release: Release, current: bool, output: Output) -> None:
    """Tell the pusher where the release runs. Every implementation is called.

    :param release: the release now serving, with its ``placements``.
    :param current: ``True`` when nothing was built because the release was
        already current.
    :param output: the pusher's stream (``remote:`` lines over git).
    :return: nothing.
    :bundled: ``core`` prints the summary line and then one URL per line, last;
        ``gitshell`` hands the release record back to a local ``nap deploy --json``.

    Example::

        @hookimpl
        def report(release, current, output):
            notify_chat(f"{release.app.name} v{release.number}: {release.placements[0].url}")
    """
