"""App types from the command line: ``nap apps set APP app_type NAME``, and
``nap plugins install|uninstall``, which manage plugins in nap's own environment.

``plugins install`` and ``uninstall`` run pip with the interpreter nap runs
on (``sys.executable -m pip``), as root only; ``nap shell`` never allows them
over SSH (they are not in its ``REMOTE_COMMANDS``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click

from nap_core.cli.session import Session, pass_session
from nap_core.errors import NapError

#: App settings ``nap apps set`` knows.
APP_SETTINGS = ("app_type",)
#: An app type's name, as plugins name them (``python``, ``dockerfile``).
APP_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: A requirement pip may install by name: a distribution name, optionally ``==VERSION``.
REQUIREMENT = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?(?:==[A-Za-z0-9.+!-]{1,40})?$"
)
#: A distribution name (PEP 508).
DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")


@click.command("set")
@click.argument("app")
@click.argument("key", type=click.Choice(APP_SETTINGS))
@click.argument("value")
@pass_session
def apps_set(session: Session, app: str, key: str, value: str) -> None:
    """Set an app setting: `app_type NAME` builds APP as NAME whatever detect says ('' to detect).

    The Dokku equivalent is `builder:set APP selected NAME`. It applies from the
    next deploy (push, or `nap deploy`), which builds even if the tree is unchanged.
    """
    from nap_core import app_types

    chosen = value.strip() or None
    if chosen is not None and not APP_TYPE.match(chosen):
        raise NapError(f"{value!r} is not an app type name (like python, node, static, dockerfile)")
    with session.operations.app(app, locked=True, create=True) as (state, found):
        app_types.choose(state, found, chosen)
    shown = chosen or "detected from the pushed tree"
    click.echo(f"{app}: app_type is {shown} from its next deploy", err=True)


def _as_root(action: str) -> None:
    if os.geteuid() != 0:
        raise NapError(f"nap plugins {action} changes nap's own environment: run it as root")


def _pip(*args: str) -> None:
    """Run pip in nap's own environment; its output goes to stderr, indented."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in (done.stdout + done.stderr).split("\n"):
        if line.strip() and not line.startswith("WARNING: Running pip as"):
            click.echo(f"       {line}", err=True)
    if done.returncode != 0:
        raise NapError(f"pip {args[0]} failed (exit {done.returncode}); see its output above")


def install_target(target: str) -> str:
    """What pip is given for ``nap plugins install TARGET``: a resolved directory, or a
    requirement by name (validated, never passed through as an option)."""
    if "/" in target or target in (".", "..") or Path(target).is_dir():
        path = Path(target).resolve()
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            raise NapError(f"{target!r} is not a Python project (no pyproject.toml): give its path")
        return str(path)
    if not REQUIREMENT.match(target):
        raise NapError(f"{target!r} is neither a plugin's name (like nap-static) nor a path")
    return target


def nap_plugin_entry_points(name: str) -> list[str]:
    """The ``nap`` entry points of the installed distribution ``name`` (none: not a plugin)."""
    import importlib
    from importlib import metadata

    importlib.invalidate_caches()
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise NapError(f"no distribution named {name} is installed (`nap plugins list`)") from None
    return [ep.name for ep in dist.entry_points if ep.group == "nap"]


@click.command("install")
@click.argument("target", metavar="NAME|PATH")
def plugins_install(target: str) -> None:
    """Install a plugin into nap's environment with pip: a name from the index, or a path."""
    _as_root("install")
    what = install_target(target)
    click.echo(f"-----> Installing {target}", err=True)
    _pip("install", what)
    click.echo(f"installed {target}; `nap plugins list` shows its hooks", err=True)


@click.command("uninstall")
@click.argument("name")
def plugins_uninstall(name: str) -> None:
    """Remove the plugin distribution NAME from nap's environment (pip uninstall).

    Running releases keep serving; pushes of apps of its type fail until it is back.
    """
    _as_root("uninstall")
    if not DIST_NAME.match(name):
        raise NapError(f"{name!r} is not a distribution name (like nap-static)")
    if name.lower() == "nap":
        raise NapError("nap cannot uninstall itself; remove a plugin by its distribution name")
    if not nap_plugin_entry_points(name):
        raise NapError(f"{name} is not a nap plugin (it registers nothing in the nap group)")
    click.echo(f"-----> Uninstalling {name}", err=True)
    _pip("uninstall", "--yes", name)
    click.echo(f"uninstalled {name}", err=True)


def add_to(apps: click.Group, plugins: click.Group) -> None:
    """Wire these commands into nap's ``apps`` and ``plugins`` groups."""
    apps.add_command(apps_set)
    plugins.add_command(plugins_install)
    plugins.add_command(plugins_uninstall)
