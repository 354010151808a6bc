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
@pass_session
def keys_add(session: Session, name: str, file: Any) -> None:
    """Let the public key in FILE (or stdin) push, under NAME."""
    from nap_core.names import check_key_name
    from nap_gitshell.keys import add_key, keys_file

    check_key_name(name)
    path = keys_file(session.settings)
    key = add_key(path, name, file.read(64 * 1024))
    click.echo(f"added key {key.name} ({key.type} {key.fingerprint}) to {path}")


@keys.command("list")
@json_option
@pass_session
def keys_list(session: Session, as_json: bool) -> None:
    """The keys nap added, with their fingerprints."""
    from nap_gitshell.keys import keys_file, read_keys

    found = read_keys(keys_file(session.settings))
    if as_json:
        print_json([key.to_dict() for key in found])
        return
    for key in found:
        click.echo(f"{key.name}  {key.type}  {key.fingerprint}")


@keys.command("remove")
@click.argument("name")
@pass_session
def keys_remove(session: Session, name: str) -> None:
    """Stop the key NAME from pushing."""
    from nap_gitshell.keys import keys_file, remove_key

    path = keys_file(session.settings)
    key = remove_key(path, name)
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


COMMANDS = [deploy, keys, server, shell]
