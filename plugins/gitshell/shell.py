"""``nap shell --key NAME``: the SSH forced command, the only thing a key may run.

sshd runs it for every connection of a key nap added (``command="nap shell
--key NAME",restrict`` in authorized_keys) and puts what the client asked for
in ``SSH_ORIGINAL_COMMAND``. That string is split like a shell would split it
(:func:`shlex.split`, which expands nothing) and then must be exactly one of:

- ``git-receive-pack 'APP'`` (a push; the repository is created on the first),
- ``git-upload-pack 'APP'`` (a clone or fetch of an existing app),
- ``help``, or one of the nap commands in :data:`REMOTE_COMMANDS`.

Anything else is refused with one ``error:`` line and exit status 1. Nothing
is ever run through a shell: git is exec'd with an argument list, and nap
commands run in this process through the click CLI.

This module runs on every SSH command, so it imports only the standard library
and nap's stdlib-only modules (not even typing) before it hands over to git;
the CLI (click, pluggy, ...) loads only for the admin commands.
"""

from __future__ import annotations

import os
import sys

from nap_core.errors import NapError
from nap_core.quoting import bad_character, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import MutableMapping, Sequence
    from pathlib import Path
    from typing import Any

#: The ``nap`` commands a remote user may run, as full command paths (a group's
#: subcommands are listed one by one). Only these: never ``deploy`` (it reads a
#: path on the server), ``keys``, ``server``, ``shell`` or ``plugins install`` /
#: ``uninstall`` (they change nap's own environment).
REMOTE_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("apps",),
        ("apps", "destroy"),
        ("apps", "set"),
        ("releases",),
        ("rollback",),
        ("config", "set"),
        ("config", "unset"),
        ("config", "show"),
        ("ps",),
        ("run",),
        ("logs",),
        ("restart",),
        ("stop",),
        ("start",),
        ("plugins", "list"),
        ("acl", "add"),
        ("acl", "remove"),
        ("acl", "list"),
        ("domains", "add"),
        ("domains", "remove"),
        ("domains", "list"),
    }
)

#: What git clients run, and what nap runs for them.
GIT_COMMANDS = {"git-receive-pack": "receive", "git-upload-pack": "upload"}

#: Client paths are at most this long before any other check (an app name is 63).
MAX_PATH = 80
#: The longest SSH command nap reads (a config value is at most 32 KiB).
MAX_COMMAND = 40 * 1024

HELP = """\
nap: git push to deploy. Over SSH you can:

  git remote add nap nap@HOST:APP      then: git push nap master
  git clone nap@HOST:APP               fetch an app's pushed history
  ssh nap@HOST apps [--json]           the apps and the release each serves
  ssh nap@HOST apps destroy APP --force [--volumes]
  ssh nap@HOST apps set APP app_type NAME   build APP as NAME ('' to detect)
  ssh nap@HOST releases APP [--json]   an app's releases, newest first
  ssh nap@HOST rollback APP [N]        run release N again (default: the previous)
  ssh nap@HOST config show APP [--reveal] [--json]
  ssh nap@HOST config set APP K=V...   set config vars (a new release, no build)
  ssh nap@HOST config unset APP K...
  ssh nap@HOST ps APP [--json]         where the app's instances run now
  ssh nap@HOST ps scale APP N          run N web instances
  ssh nap@HOST ps scale APP web=2 worker=1
  ssh [-t] nap@HOST run APP -- CMD...   a one-off container of the current release
  ssh nap@HOST logs APP [-f] [-n N]    the app's output
  ssh nap@HOST stop|start|restart APP
  ssh nap@HOST domains add|remove APP DOMAIN, domains list APP [--json]
  ssh nap@HOST plugins list [--json]   the plugins of this server
  ssh nap@HOST acl add|remove APP KEY  let a user key reach APP, or not (admins)
  ssh nap@HOST acl list APP            the user keys that reach APP (admins)
  ssh nap@HOST help                    this text
"""


class Refused(Exception):
    """The request is not one nap shell runs; the message says why."""


class Action:
    """What ``nap shell`` decided to do.

    ``kind`` is ``"receive"`` or ``"upload"`` (with ``app``), ``"help"``, or
    ``"command"`` (with ``argv``, the words of an allowed nap command).
    """

    def __init__(self, kind: str, app: str = "", argv: tuple[str, ...] = ()) -> None:
        self.kind, self.app, self.argv = kind, app, argv


def decide(command: str | None) -> Action:
    """Interpret ``SSH_ORIGINAL_COMMAND``; raise :class:`Refused` for anything not allowed."""
    import shlex

    if command is None or not command.strip():
        raise Refused(
            "nap gives no shell: push with `git push nap master`, or run `ssh nap@HOST help`"
        )
    if len(command) > MAX_COMMAND:
        raise Refused(f"the command is longer than {MAX_COMMAND} characters")
    if bad_character(command, allow_tab=False) is not None:
        raise Refused("the command contains control characters (newline, NUL, U+2028, ...)")
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise Refused(f"cannot split the command: {exc}") from None
    if not words:
        raise Refused("empty command: run `ssh nap@HOST help`")
    verb = words[0]
    if verb in GIT_COMMANDS:
        if len(words) != 2:
            raise Refused(f"{verb} takes exactly one repository, like '{verb} APP'")
        return Action(GIT_COMMANDS[verb], app=app_of_path(words[1]))
    if words == ["help"]:
        return Action("help")
    if any(path[0] == verb for path in REMOTE_COMMANDS):
        # run_command checks the whole command path once click's groups are known.
        return Action("command", argv=tuple(words))
    raise Refused(f"nap does not run {shown(verb)}: run `ssh nap@HOST help` for what it does")


def app_of_path(path: str) -> str:
    """The app a git client's repository path names, or :class:`Refused`.

    git sends ``APP``, ``APP.git``, ``/APP``, ``/APP.git``, ``~/APP`` or
    ``~/APP.git``. What is left after that one prefix and suffix must be a valid
    app name; nothing is cleaned up, so ``../x`` or ``a/b`` is refused whole.
    """
    from nap_core.names import InvalidName, check_app_name

    if len(path) > MAX_PATH:
        raise Refused(f"the repository path is longer than {MAX_PATH} characters")
    name = path
    for prefix in ("~/", "/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    name = name.removesuffix(".git")
    try:
        return check_app_name(name)
    except InvalidName as exc:
        raise Refused(str(exc)) from None


def key_of(argv: Sequence[str]) -> str:
    """The key name of ``nap shell --key NAME`` (the authorized_keys line gives it)."""
    from nap_core.names import InvalidName, check_key_name

    if len(argv) == 2 and argv[0] == "--key":
        name = argv[1]
    elif len(argv) == 1 and argv[0].startswith("--key="):
        name = argv[0].removeprefix("--key=")
    else:
        raise Refused(
            "nap shell is the command sshd runs for nap's keys: "
            'use `nap keys add`, which writes command="nap shell --key NAME"'
        )
    try:
        return check_key_name(name)
    except InvalidName as exc:
        raise Refused(str(exc)) from None


def main(argv: Sequence[str], environ: MutableMapping[str, str] | None = None) -> int:
    """Run ``nap shell`` with the arguments after ``shell``; return the exit status.

    An unexpected exception is logged on the server (:mod:`nap_core.errorlog`)
    and the client sees one line with its reference, never the traceback.
    """
    env = os.environ if environ is None else environ
    try:
        return _main(argv, env)
    except Exception as exc:
        from nap_core.errorlog import log_unexpected

        return refuse(log_unexpected(exc, env))


def _main(argv: Sequence[str], env: MutableMapping[str, str]) -> int:
    try:
        if os.geteuid() == 0:
            # By hand as root: act as NAP_HOME's owner, so pushes can write what this creates.
            from nap_gitshell.server import act_as_home_owner

            try:
                act_as_home_owner(env)
            except NapError as exc:
                raise Refused(str(exc)) from None
        key = key_of(argv)
        action = decide(env.get("SSH_ORIGINAL_COMMAND"))
    except Refused as exc:
        return refuse(str(exc))
    if action.kind == "help":
        sys.stdout.write(HELP)
        return 0
    from nap_core import access
    from nap_core.paths import home_from

    home = home_from(env)
    if action.kind == "command":
        return run_command(action.argv, key, home)
    try:
        access.check(home, key, action.app)  # pushes and clones: the app's ACL
        from nap_gitshell.session import hand_over

        return hand_over(action.kind, action.app, key, env)
    except NapError as exc:  # the app's ACL refused, or a setting is bad
        return refuse(str(exc))
    except OSError as exc:
        # Most likely a NAP_HOME this user does not own; never a traceback to the client.
        return refuse(
            f"cannot use {exc.filename or 'NAP_HOME'} ({exc.strerror}): "
            "the server's operator should run `nap server setup` as root"
        )


def refuse(message: str) -> int:
    """Print the one ``error:`` line of a refusal; return the exit status."""
    from nap_core.errorlog import one_line

    sys.stderr.write(f"error: {one_line(message)}\n")
    sys.stderr.flush()
    return 1


def only_own_flags(group: Any, words: list[str]) -> bool:
    """Whether ``words`` are all flags of the group itself (``apps --json``), so
    that none of them can name a subcommand."""
    flags = {opt for param in group.params for opt in getattr(param, "opts", ())}
    return all(word in flags for word in words)


def run_command(argv: Sequence[str], key: str | None = None, home: Path | None = None) -> int:
    """Run an allowed nap command in this process, through the CLI's own parsing.

    The words were split by :func:`shlex.split`; they reach click as they are, so
    every argument goes through the same validation as a local command. The
    command path must be in :data:`REMOTE_COMMANDS` exactly: words are followed
    through groups only while they name subcommands, and a group followed by
    anything but a subcommand is refused (its options could otherwise select one).
    The key must be allowed the command (:func:`nap_core.access.check_command`),
    decided on the command's own parsed arguments.
    """
    import click

    from nap_core import access
    from nap_core.cli import command_line

    cli, session = command_line()

    command: click.Command = cli
    path: list[str] = []
    rest = list(argv)
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
        path.append(command.name or "")
    if tuple(path) not in REMOTE_COMMANDS or (
        isinstance(command, click.Group) and not only_own_flags(command, rest)
    ):
        return refuse(f"nap does not run {shown(' '.join(argv))} over SSH: run `ssh nap@HOST help`")
    if home is not None:
        try:
            params = command.make_context(path[-1], list(rest), obj=session).params
            access.check_command(home, key, tuple(path), params)
        except click.exceptions.Exit as exc:  # --help: printed, nothing else runs
            return exc.exit_code
        except click.ClickException as exc:
            return refuse(f"{exc.format_message()} (see `nap {' '.join(path)} --help`)")
        except access.Denied as exc:
            return refuse(str(exc))
    access.current_key = key
    try:
        cli.main(args=list(argv), prog_name="nap", standalone_mode=True, obj=session)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
