"""The ``nap`` command line (click): the core's commands, plus every plugin's
through the ``register_commands`` hook.

Every command prints its result on stdout (``--json`` where it lists things),
progress on stderr, and failures as one ``error: ...`` line with a non-zero exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from nap_core import diskfull
from nap_core.cli import apptypes, day2, routes
from nap_core.cli.session import Session, json_option, pass_session, print_json
from nap_core.errorlog import log_unexpected, one_line
from nap_core.errors import AlreadyReported, NapError
from nap_core.plugins import PluginManager


class NapGroup(click.Group):
    """A click group that turns :class:`NapError` into one ``error:`` line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NapError as exc:
            if not isinstance(exc, AlreadyReported):
                click.echo(f"error: {one_line(diskfull.hint(str(exc), os.environ))}", err=True)
            ctx.exit(1)
        except click.UsageError as exc:
            # One line, like every other error; `--help` has the usage.
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug: the details in the server's log, a reference here
            click.echo(
                f"error: {diskfull.explain(exc, os.environ) or log_unexpected(exc)}", err=True
            )
            ctx.exit(1)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Also an error raised while the top-level arguments are parsed is one line."""
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
            sys.exit(2)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            click.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        # Without standalone mode click returns the exit status of ctx.exit().
        sys.exit(code if isinstance(code, int) else 0)


def command_line(environ: Mapping[str, str] | None = None) -> tuple[click.Group, Session]:
    """The ``nap`` group with the core's and every plugin's commands, and its session."""
    from nap_core.plugins import plugin_manager

    pm = plugin_manager(environ)
    group = _core_group()
    pm.hook.register_commands(cli=group)
    return group, Session(pm)


def main() -> None:
    """Run the ``nap`` command line."""
    group, session = command_line()
    group.main(prog_name="nap", obj=session)


#: Commands that do not bring a dead router back first (``router`` reports on it itself).
NO_REVIVE = frozenset({"shell", "router", "drain", "server", "keys"})


def _core_group() -> click.Group:
    @click.group(cls=NapGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="nap", prog_name="nap")
    @click.pass_context
    def nap(ctx: click.Context) -> None:
        """nap: git push to deploy."""
        if ctx.invoked_subcommand not in NO_REVIVE and not ctx.resilient_parsing:
            revive_router(ctx.find_object(Session))

    for command in (plugins, apps, releases, *day2.COMMANDS, *routes.COMMANDS):
        nap.add_command(command)
    return nap


def revive_router(session: Session | None) -> None:
    """Bring back a router that died (killed, or the machine restarted), with every route."""
    from nap_core import routing

    if session is None:
        return
    try:
        if routing.revive(session.settings):
            click.echo("-----> The router was not running: started it with every route", err=True)
    except NapError as exc:
        click.echo(f"warning: the router is down and could not be started: {exc}", err=True)


@click.group()
def plugins() -> None:
    """Installed plugins."""


@plugins.command("list")
@json_option
@pass_session
def plugins_list(session: Session, as_json: bool) -> None:
    """Every plugin, its version, the hooks it implements and whether it is active."""
    from nap_core.listing import describe

    pm: PluginManager = session.registered
    try:
        pm = session.pm
    except NapError as exc:  # an unknown scheduler: list what is installed anyway
        click.echo(f"warning: {exc}", err=True)
    infos = describe(pm)
    if as_json:
        print_json([info.to_dict() for info in infos])
        return
    for info in infos:
        origin = "bundled" if info.builtin else "installed"
        role = f" [{info.role}{'' if info.active else ', inactive'}]" if info.role else ""
        click.echo(f"{info.name} {info.version} ({origin}){role}: {', '.join(info.hooks)}")


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def apps(ctx: click.Context, as_json: bool) -> None:
    """The apps nap knows and the release each one serves."""
    if ctx.invoked_subcommand is not None:
        return
    from nap_core import access

    session: Session = ctx.find_object(Session)  # type: ignore[assignment]
    found = session.operations.apps()
    shown = set(access.visible(session.settings.home, access.current_key, [n for n, _ in found]))
    found = [(name, current) for name, current in found if name in shown]
    if as_json:
        print_json([{"name": name, "release": current} for name, current in found])
        return
    # One write, not one per app: thousands of apps are thousands of lines.
    lines = (
        f"{name}  {f'release {current}' if current else 'not deployed'}\n"
        for name, current in found
    )
    click.echo("".join(lines), nl=False)


apps.add_command(day2.destroy)
apptypes.add_to(apps, plugins)


@click.command()
@click.argument("app")
@json_option
@pass_session
def releases(session: Session, app: str, as_json: bool) -> None:
    """APP's releases, newest first."""
    from datetime import UTC, datetime

    records = []
    for row in session.operations.releases(app):
        release = row.release
        record = {
            **release.to_dict(current=row.status == "current"),
            "status": row.status,
            "config_version": release.config_version,
            "created": datetime.fromtimestamp(release.created, UTC).isoformat(timespec="seconds"),
        }
        if row.live is not None:
            record["instances"] = [instance.to_dict() for instance in row.live]
        records.append(record)
    if as_json:
        print_json(records)
        return
    for r in records:
        where = " ".join(p["url"] for p in r["placements"]) if r["current"] else ""
        if "instances" in r:
            where = " ".join(i["url"] or f"{i['name']}:{i['state']}" for i in r["instances"])
        digest = r["image"].partition("@")[2][:19] or "-"
        line = (
            f"v{r['release']:<4} {r['status']:<9} {r['revision'][:12]}  {digest:<19}"
            f"  config {r['config_version']:<3} {r['created']}"
        )
        click.echo(f"{line}  {where}".rstrip())
