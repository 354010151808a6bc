"""The ``nap`` command line (click).

Every command prints its result on stdout (``--json`` where it lists things),
progress on stderr, and failures as one ``error: ...`` line with a non-zero exit.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from nap_core.config import Settings
from nap_core.errors import NapError

F = TypeVar("F", bound=Callable[..., Any])


class NapGroup(click.Group):
    """A click group that turns :class:`NapError` into one ``error:`` line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NapError as exc:
            from nap_gitshell.worktree import PushRejected

            if not isinstance(exc, PushRejected):  # its error line is already out
                click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except click.UsageError as exc:
            # One line, like every other error; `--help` has the usage.
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            ctx.exit(2)


def json_option(func: F) -> F:
    """The ``--json`` flag of listing commands."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def print_json(value: Any) -> None:
    """Print a JSON document on stdout."""
    click.echo(json.dumps(value, indent=2))


def settings() -> Settings:
    """The configuration in force."""
    return Settings.load()


@click.group(cls=NapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nap", prog_name="nap")
def main() -> None:
    """nap: git push to deploy."""


@main.group()
def plugins() -> None:
    """Installed plugins."""


@plugins.command("list")
@json_option
def plugins_list(as_json: bool) -> None:
    """Every plugin, its version and the hooks it implements."""
    from nap_core.plugins import describe, plugin_manager

    infos = describe(plugin_manager())
    if as_json:
        print_json([info.to_dict() for info in infos])
        return
    for info in infos:
        origin = "bundled" if info.builtin else "installed"
        click.echo(f"{info.name} {info.version} ({origin}): {', '.join(info.hooks)}")


@main.command()
@click.argument("app")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@json_option
def deploy(app: str, path: Path, as_json: bool) -> None:
    """Deploy HEAD of the git work tree at PATH as APP, as a push would."""
    from nap_core.names import check_app_name
    from nap_core.output import Output
    from nap_gitshell.worktree import deploy_worktree

    check_app_name(app)
    record = deploy_worktree(app, path, settings(), dict(os.environ), Output(sys.stderr))
    if as_json:
        print_json(record)


@main.group(invoke_without_command=True)
@json_option
@click.pass_context
def apps(ctx: click.Context, as_json: bool) -> None:
    """The apps nap knows and the release each one serves."""
    if ctx.invoked_subcommand is not None:
        return
    from nap_core.state import State

    state = State(settings().home)
    rows = state.apps()
    if as_json:
        print_json([{"name": r["name"], "release": r["current"]} for r in rows])
        return
    for row in rows:
        release = f"release {row['current']}" if row["current"] else "not deployed"
        click.echo(f"{row['name']}  {release}")


@main.command()
@click.argument("app")
@json_option
def releases(app: str, as_json: bool) -> None:
    """APP's releases, newest first."""
    from nap_core.operations import app_state

    with app_state(settings(), app) as (state, found_app):
        serving = state.current(found_app)
        found = state.releases(found_app)
    current = serving.number if serving else None
    records = [
        {
            **release.to_dict(current=release.number == current),
            "status": release_status(release.status, release.number, current),
            "config_version": release.config_version,
            "created": datetime.fromtimestamp(release.created, UTC).isoformat(timespec="seconds"),
        }
        for release in found
    ]
    # Where the current release runs now, from its scheduler: a cluster moves instances.
    for record, release in zip(records, found, strict=True):
        if record["current"]:
            live = live_instances(release)
            if live is not None:
                record["instances"] = [instance.to_dict() for instance in live]
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


def live_instances(release: Any) -> list[Any] | None:
    """The release's instances as its scheduler sees them now; None if it cannot say."""
    from nap_core.plugins import plugin_manager

    config = settings()
    if release.scheduler != config.scheduler:
        return None
    try:
        found = plugin_manager().hook.instances(app=release.app, release=release, settings=config)
    except NapError as exc:
        click.echo(f"warning: cannot ask {config.scheduler} where instances run: {exc}", err=True)
        return None
    return list(found) if found is not None else None


def release_status(stored: str, number: int, current: int | None) -> str:
    """current, previous (it served once) or failed, for display."""
    if number == current:
        return "current"
    if stored == "succeeded":
        return "previous"
    return "failed" if stored == "failed" else stored


@main.group()
def keys() -> None:
    """The SSH keys that may push (the nap user's authorized_keys)."""


@keys.command("add")
@click.argument("name")
@click.argument("file", default="-", type=click.File("r"))
def keys_add(name: str, file: Any) -> None:
    """Let the public key in FILE (or stdin) push, under NAME."""
    from nap_core.names import check_key_name
    from nap_gitshell.keys import add_key, keys_file

    check_key_name(name)
    path = keys_file(settings())
    key = add_key(path, name, file.read(64 * 1024))
    click.echo(f"added key {key.name} ({key.type} {key.fingerprint}) to {path}")


@keys.command("list")
@json_option
def keys_list(as_json: bool) -> None:
    """The keys nap added, with their fingerprints."""
    from nap_gitshell.keys import keys_file, read_keys

    found = read_keys(keys_file(settings()))
    if as_json:
        print_json([key.to_dict() for key in found])
        return
    for key in found:
        click.echo(f"{key.name}  {key.type}  {key.fingerprint}")


@keys.command("remove")
@click.argument("name")
def keys_remove(name: str) -> None:
    """Stop the key NAME from pushing."""
    from nap_gitshell.keys import keys_file, remove_key

    path = keys_file(settings())
    key = remove_key(path, name)
    click.echo(f"removed key {key.name} from {path}")


@main.group()
def server() -> None:
    """Set up this host to receive pushes over SSH."""


@server.command("setup")
@click.option("--user", default="nap", show_default=True, help="The system user pushes run as.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The state directory (default: NAP_HOME, else /var/lib/nap).",
)
def server_setup(user: str, home: Path | None) -> None:
    """Create the system user that receives pushes and give it NAP_HOME (as root)."""
    from nap_gitshell.server import setup

    for line in setup(home or settings().home, user):
        click.echo(line)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def shell(args: tuple[str, ...]) -> None:
    """The SSH forced command (`command="nap shell --key NAME"`); see docs/push.md."""
    # `nap shell` never gets here: nap_core.entry hands it to nap_gitshell.shell
    # before click loads. This entry makes it show in `nap --help`.
    from nap_gitshell.shell import main as run_shell

    raise SystemExit(run_shell(list(args)))


def _add_operations() -> None:
    from nap_core import cli_operations

    for command in cli_operations.COMMANDS:
        main.add_command(command)
    apps.add_command(cli_operations.destroy)


_add_operations()
