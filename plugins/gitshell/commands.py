"""gitshell's commands: ``deploy``, ``keys``, ``server`` and ``shell``,
contributed to the ``nap`` command line through ``register_commands``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from nap_core.cli.session import Session, json_option, pass_session, print_json


@click.command()
@click.argument("app")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@json_option
@pass_session
def deploy(session: Session, app: str, path: Path, as_json: bool) -> None:
    """Deploy HEAD of the git work tree at PATH as APP, as a push would."""
    from nap_core.names import check_app_name
    from nap_core.output import Output
    from nap_gitshell.worktree import deploy_worktree

    check_app_name(app)
    record = deploy_worktree(app, path, session.settings, dict(os.environ), Output(sys.stderr))
    if as_json:
        print_json(record)


@click.group()
def keys() -> None:
    """The SSH keys that may push (the nap user's authorized_keys)."""


@keys.command("add")
@click.argument("name")
@click.argument("file", default="-", type=click.File("r"))
@click.option("--admin", is_flag=True, help="An admin key: every app, every command.")
@pass_session
def keys_add(session: Session, name: str, file: Any, admin: bool) -> None:
    """Let the public key in FILE (or stdin) push, under NAME.

    A user key reaches only the apps `nap acl add` grants it; the first key
    added is an admin.
    """
    from nap_core import access
    from nap_core.names import check_key_name
    from nap_gitshell.keys import add_key, keys_file, read_keys

    check_key_name(name)
    path = keys_file(session.settings)
    first = not read_keys(path)
    key = add_key(path, name, file.read(64 * 1024))
    role = access.ADMIN if admin or first else access.USER
    access.set_role(session.settings.home, key.name, role)
    click.echo(f"added key {key.name} ({key.type} {key.fingerprint}, {role}) to {path}")


@keys.command("list")
@json_option
@pass_session
def keys_list(session: Session, as_json: bool) -> None:
    """The keys nap added, with their fingerprints."""
    from nap_core import access
    from nap_gitshell.keys import keys_file, read_keys

    home = session.settings.home
    found = [(key, access.role(home, key.name)) for key in read_keys(keys_file(session.settings))]
    if as_json:
        print_json([{**key.to_dict(), "role": role} for key, role in found])
        return
    for key, role in found:
        click.echo(f"{key.name}  {role:<5}  {key.type}  {key.fingerprint}")


@keys.command("remove")
@click.argument("name")
@pass_session
def keys_remove(session: Session, name: str) -> None:
    """Stop the key NAME from pushing."""
    from nap_core import access
    from nap_gitshell.keys import keys_file, remove_key

    path = keys_file(session.settings)
    key = remove_key(path, name)
    access.forget_key(session.settings.home, key.name)
    click.echo(f"removed key {key.name} from {path}")


@click.group()
def server() -> None:
    """Set up this host to receive pushes over SSH."""


@server.command("setup")
@click.option("--user", default="nap", show_default=True, help="The system user pushes run as.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The state directory (default: NAP_HOME, else /var/lib/nap).",
)
@pass_session
def server_setup(session: Session, user: str, home: Path | None) -> None:
    """Create the system user that receives pushes and give it NAP_HOME (as root)."""
    from nap_gitshell.server import setup

    for line in setup(home or session.settings.home, user):
        click.echo(line)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def shell(args: tuple[str, ...]) -> None:
    """The SSH forced command (`command="nap shell --key NAME"`); see docs/push.md."""
    # `nap shell` never gets here: the `nap` launcher hands it to nap_gitshell.shell
    # before click loads. This entry makes it show in `nap --help`.
    from nap_gitshell.shell import main as run_shell

    raise SystemExit(run_shell(list(args)))


@click.group()
def acl() -> None:
    """Which user keys reach which app (admins reach every app)."""


@acl.command("add")
@click.argument("app")
@click.argument("key")
@pass_session
def acl_add(session: Session, app: str, key: str) -> None:
    """Let the user key KEY push to APP and run its day-2 commands."""
    from nap_core import access
    from nap_core.names import check_app_name, check_key_name

    check_app_name(app)
    check_key_name(key)
    added = access.grant(session.settings.home, app, key)
    click.echo(f"key {key} {'may now' if added else 'already may'} access {app}")


@acl.command("remove")
@click.argument("app")
@click.argument("key")
@pass_session
def acl_remove(session: Session, app: str, key: str) -> None:
    """Stop the user key KEY reaching APP."""
    from nap_core import access
    from nap_core.errors import NapError
    from nap_core.names import check_app_name, check_key_name

    check_app_name(app)
    check_key_name(key)
    if not access.revoke(session.settings.home, app, key):
        raise NapError(f"the ACL of {app} does not name key {key}: `nap acl list {app}`")
    click.echo(f"key {key} may no longer access {app}")


@acl.command("list")
@click.argument("app")
@json_option
@pass_session
def acl_list(session: Session, app: str, as_json: bool) -> None:
    """The user keys that reach APP."""
    from nap_core import access
    from nap_core.names import check_app_name

    check_app_name(app)
    found = access.grants(session.settings.home, app)
    if as_json:
        print_json(found)
        return
    for key in found:
        click.echo(key)


COMMANDS = [deploy, keys, server, shell, acl]
