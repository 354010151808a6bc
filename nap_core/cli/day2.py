"""Day-2 commands: config, rollback, ps, logs, stop/start/restart, apps destroy.

Thin: each parses its arguments and hands over to :class:`~nap_core.operations.Operations`,
which works the same locally and over SSH (through ``nap shell``) and with every
scheduler. Progress goes to stderr, results to stdout. Config values are printed
only by ``nap config show --reveal``.
"""

from __future__ import annotations

import sys

import click

from nap_core.cli.session import Session, json_option, pass_session, print_json
from nap_core.errors import NapError
from nap_core.model import Action

#: The largest release or line number a command takes (SQLite's integers end at 2**63).
MAX_NUMBER = 2**31 - 1


def _parse_assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise NapError(f"{pair[:40]!r} is not KEY=VALUE")
        values[key] = value
    return values


@click.group()
def config() -> None:
    """An app's config vars (its environment)."""


@config.command("set")
@click.argument("app")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_session
def config_set(session: Session, app: str, pairs: tuple[str, ...]) -> None:
    """Set config vars; a running app gets a new release with them (no build)."""
    values = _parse_assignments(pairs)
    if session.operations.change_config(app, set_vars=values) is None:
        click.echo(f"set {', '.join(values)} on {app}; they apply from its first deploy", err=True)


@config.command("unset")
@click.argument("app")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@pass_session
def config_unset(session: Session, app: str, keys: tuple[str, ...]) -> None:
    """Remove config vars; a running app gets a new release without them."""
    session.operations.change_config(app, unset=list(keys))


@config.command("show")
@click.argument("app")
@click.option("--reveal", is_flag=True, help="Print the values, not a mask.")
@json_option
@pass_session
def config_show(session: Session, app: str, reveal: bool, as_json: bool) -> None:
    """The config vars, values masked unless --reveal."""
    values = session.operations.config(app)
    shown = {key: value if reveal else "********" for key, value in sorted(values.items())}
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        click.echo(f"{key}={value}")


@click.command()
@click.argument("app")
@click.argument("number", type=click.IntRange(1, MAX_NUMBER), required=False)
@pass_session
def rollback(session: Session, app: str, number: int | None) -> None:
    """Run release NUMBER again (default: the one before the current), without a build."""
    session.operations.rollback(app, number)


def _parse_scale(words: tuple[str, ...]) -> int | dict[str, int]:
    """``N`` (web's count) or ``TYPE=N...``."""
    if len(words) == 1 and "=" not in words[0]:
        return _count(words[0])
    counts = {}
    for word in words:
        process, sep, count = word.partition("=")
        if not sep:
            raise NapError(f"{word[:40]!r} is not TYPE=N (or give one number, the web count)")
        counts[process] = _count(count)
    return counts


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise NapError(f"N must be a number of instances, not {text[:40]!r}") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, required=True, metavar="APP | scale APP N|TYPE=N...")
@json_option
@pass_session
def ps(session: Session, args: tuple[str, ...], as_json: bool) -> None:
    """Where APP's instances run now, by process type; `nap ps scale APP N` runs
    N web instances, `nap ps scale APP web=2 worker=1` sets each type's count."""
    if len(args) >= 3 and args[0] == "scale":
        session.operations.scale(args[1], _parse_scale(args[2:]))
        return
    if len(args) != 1:
        raise NapError("usage: nap ps APP [--json] | nap ps scale APP N | TYPE=N...")
    found = session.operations.instances(args[0])
    if as_json:
        print_json([instance.to_dict() for instance in found])
        return
    for instance in found:
        where = instance.url or "-"
        state = instance.state
        if instance.restarts:
            state = f"{state} (restarted {instance.restarts}x)"
        click.echo(
            f"{instance.name}  v{instance.release}  {instance.process:<8} {state:<10} {where}"
        )
    for process, count in session.operations.formation(args[0]):
        if count == 0:
            click.echo(f"{process}: scaled to 0 (`nap ps scale {args[0]} {process}=1` starts one)")


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("app")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- COMMAND [ARGS]...")
@click.pass_context
def run(ctx: click.Context, app: str, command: tuple[str, ...]) -> None:
    """Run COMMAND once in a new container of APP's current release, with its
    config; stdin and stdout are attached (a TTY when stdin is one). Exits with
    the command's status."""
    session = ctx.find_object(Session)
    assert session is not None
    # Options end at APP, so click leaves the "--" that separates COMMAND in it.
    ctx.exit(session.operations.run(app, command[1:] if command[:1] == ("--",) else command))


@click.command()
@click.argument("app")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option(
    "-n",
    "--lines",
    default=100,
    show_default=True,
    type=click.IntRange(0, MAX_NUMBER),
    help="Last lines to show (0: all).",
)
@pass_session
def logs(session: Session, app: str, follow: bool, lines: int) -> None:
    """APP's output, from whatever runs it."""
    session.operations.logs(app, follow, lines, sys.stdout)


def _control_command(action: Action, summary: str) -> click.Command:
    @click.command(name=action.value, help=summary)
    @click.argument("app")
    @pass_session
    def command(session: Session, app: str) -> None:
        for instance in session.operations.control(app, action):
            click.echo(f"{instance.name}  {instance.state}  {instance.url or '-'}".rstrip())

    return command


restart = _control_command(Action.RESTART, "Restart APP's instances.")
stop = _control_command(Action.STOP, "Stop APP's instances (they stay stopped until `nap start`).")
start = _control_command(Action.START, "Start APP's stopped instances.")


@click.command()
@click.argument("app")
@click.option("--force", is_flag=True, help="Really destroy: nothing of the app is kept.")
@click.option("--volumes", is_flag=True, help="Also remove the app's volumes (its data).")
@pass_session
def destroy(session: Session, app: str, force: bool, volumes: bool) -> None:
    """Stop APP and remove its containers, images, repository and state."""
    from nap_core.names import check_app_name

    check_app_name(app)
    if not force:
        raise NapError(
            f"this removes {app} for good: run `nap apps destroy {app} --force`"
            " (add --volumes to remove its data too)"
        )
    session.operations.destroy(app, volumes)
    from nap_core import access

    access.forget_app(session.settings.home, app)  # a new app of that name starts closed


COMMANDS = [config, rollback, ps, run, logs, restart, stop, start]
