"""Day-2 commands: config, rollback, ps, logs, stop/start/restart, apps destroy.

Each works the same locally and over SSH (through ``nap shell``), and with
every scheduler: the work is done by hooks the configured scheduler answers.
Progress goes to stderr, results to stdout. Config values are printed only by
``nap config show --reveal``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from nap_core.errors import NapError
from nap_core.output import Output


def _context() -> tuple[Any, Any]:
    from nap_core.config import Settings
    from nap_core.plugins import plugin_manager

    return Settings.load(), plugin_manager()


def _current(name: str) -> tuple[Any, Any, Any, Any]:
    """Settings, plugins, the app ``name`` and its current release, for a read-only command."""
    from nap_core.operations import app_state, current_release

    settings, pm = _context()
    with app_state(settings, name) as (state, app):
        return settings, pm, app, current_release(state, app)


def _print_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, indent=2))


def _parse_assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise NapError(f"{pair!r} is not KEY=VALUE")
        values[key] = value
    return values


@click.group()
def config() -> None:
    """An app's config vars (its environment)."""


@config.command("set")
@click.argument("app")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
def config_set(app: str, pairs: tuple[str, ...]) -> None:
    """Set config vars; a running app gets a new release with them (no build)."""
    from nap_core.operations import change_config

    settings, pm = _context()
    values = _parse_assignments(pairs)
    release = change_config(settings, pm, app, Output(sys.stderr), set_vars=values)
    if release is None:
        click.echo(f"set {', '.join(values)} on {app}; they apply from its first deploy", err=True)


@config.command("unset")
@click.argument("app")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
def config_unset(app: str, keys: tuple[str, ...]) -> None:
    """Remove config vars; a running app gets a new release without them."""
    from nap_core.operations import change_config

    settings, pm = _context()
    change_config(settings, pm, app, Output(sys.stderr), unset=list(keys))


@config.command("show")
@click.argument("app")
@click.option("--reveal", is_flag=True, help="Print the values, not a mask.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def config_show(app: str, reveal: bool, as_json: bool) -> None:
    """The config vars, values masked unless --reveal."""
    from nap_core.operations import app_state

    settings, _ = _context()
    with app_state(settings, app) as (state, found):
        values = state.config(found)
    shown = {key: value if reveal else "********" for key, value in sorted(values.items())}
    if as_json:
        _print_json(shown)
        return
    for key, value in shown.items():
        click.echo(f"{key}={value}")


@click.command()
@click.argument("app")
@click.argument("number", type=int, required=False)
def rollback(app: str, number: int | None) -> None:
    """Run release NUMBER again (default: the one before the current), without a build."""
    from nap_core.operations import rollback as roll_back

    settings, pm = _context()
    roll_back(settings, pm, app, number, Output(sys.stderr))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, required=True, metavar="APP | scale APP N")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def ps(args: tuple[str, ...], as_json: bool) -> None:
    """Where APP's instances run now; `nap ps scale APP N` runs N of them."""
    if len(args) == 3 and args[0] == "scale":
        from nap_core.operations import scale

        try:
            replicas = int(args[2])
        except ValueError:
            raise NapError(f"N must be a number of instances, not {args[2]!r}") from None
        settings, pm = _context()
        scale(settings, pm, args[1], replicas, Output(sys.stderr))
        return
    if len(args) != 1:
        raise NapError("usage: nap ps APP [--json] | nap ps scale APP N")
    show_instances(args[0], as_json)


def show_instances(name: str, as_json: bool) -> None:
    """Print the instances of an app's current release, read from its scheduler."""
    from nap_core.errors import NoScheduler

    settings, pm, app, release = _current(name)
    found = pm.hook.instances(app=app, release=release, settings=settings)
    if found is None:
        raise NoScheduler(f"the scheduler {settings.scheduler!r} cannot list instances")
    if as_json:
        _print_json([instance.to_dict() for instance in found])
        return
    for instance in found:
        where = instance.url or "-"
        click.echo(f"{instance.name}  v{instance.release}  {instance.state:<10} {where}")


@click.command()
@click.argument("app")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", default=100, show_default=True, help="Last lines to show (0: all).")
def logs(app: str, follow: bool, lines: int) -> None:
    """APP's output, from whatever runs it."""
    from nap_core.errors import NoScheduler

    settings, pm, found, release = _current(app)
    done = pm.hook.logs(
        app=found, release=release, settings=settings, follow=follow, lines=lines, stream=sys.stdout
    )
    if done is None:
        raise NoScheduler(f"the scheduler {settings.scheduler!r} cannot show logs")


def _control_command(action: str, summary: str) -> click.Command:
    @click.command(name=action, help=summary)
    @click.argument("app")
    def command(app: str) -> None:
        from nap_core.operations import control

        settings, pm = _context()
        for instance in control(settings, pm, app, action, Output(sys.stderr)):
            click.echo(f"{instance.name}  {instance.state}  {instance.url or '-'}".rstrip())

    return command


restart = _control_command("restart", "Restart APP's instances.")
stop = _control_command("stop", "Stop APP's instances (they stay stopped until `nap start`).")
start = _control_command("start", "Start APP's stopped instances.")


@click.command()
@click.argument("app")
@click.option("--force", is_flag=True, help="Really destroy: nothing of the app is kept.")
@click.option("--volumes", is_flag=True, help="Also remove the app's volumes (its data).")
def destroy(app: str, force: bool, volumes: bool) -> None:
    """Stop APP and remove its containers, images, repository and state."""
    from nap_core.names import check_app_name
    from nap_core.operations import destroy as destroy_app

    check_app_name(app)
    if not force:
        raise NapError(
            f"this removes {app} for good: run `nap apps destroy {app} --force`"
            " (add --volumes to remove its data too)"
        )
    settings, pm = _context()
    destroy_app(settings, pm, app, volumes, Output(sys.stderr))


COMMANDS = [config, rollback, ps, logs, restart, stop, start]
