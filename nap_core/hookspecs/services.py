"""Hooks that serve the others: removing published images, contributing commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from nap_core.config import Settings
from nap_core.model import (
    Image,
)
from nap_core.output import Output

if TYPE_CHECKING:
    import click

hookspec = pluggy.HookspecMarker("nap")


@hookspec(firstresult=True)
def unpublish(image: Image, settings: Settings, output: Output) -> bool | None:
    """Remove a published image: its manifest in the registry and the names the
    publish gave it on this host. Called by image clean-up (``keep_releases``)
    and ``nap apps destroy``.

    :param image: a release's image, as ``publish`` returned it.
    :param settings: the configuration in force.
    :param output: where to say what was kept and why.
    :return: ``True`` when the image is gone, ``False`` when part of it was kept
        (say why on ``output``: a registry with deletion disabled, say).
    :none: this plugin did not publish the image; it is left alone.
    :bundled: ``registry``.

    Example::

        @hookimpl
        def unpublish(image, settings, output):
            return delete_manifest(image.repository, image.digest)
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add the plugin's own commands to the ``nap`` command line. Every
    implementation is called, once per ``nap`` invocation, before the command line is read.

    :param cli: the ``nap`` click group; call ``cli.add_command(...)``. Import
        what a command needs inside it: every ``nap`` command pays for what this hook imports.
    :return: nothing.
    :bundled: ``gitshell`` adds ``deploy``, ``shell``, ``keys`` and ``server``.

    Example::

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello")
    """
