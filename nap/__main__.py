"""The ``nap`` command's entry point (``python -m nap``).

Kept free of imports: the CLI library and the plugins load only for the
commands that need them. ``nap shell`` goes straight to gitshell's forced
command without loading click or any plugin.
"""

from __future__ import annotations

import sys

#: Commands that run as root: `server` creates the nap user; `keys` reads key
#: files wherever root can and keeps authorized_keys owned as it was;
#: `plugins install|uninstall` run pip on nap's own environment.
AS_ROOT = (["server"], ["keys"])
AS_ROOT_SUBCOMMANDS = (["plugins", "install"], ["plugins", "uninstall"])


def main() -> None:
    """Run the ``nap`` command line."""
    args = sys.argv[1:]
    if args[:1] == ["shell"]:
        from nap_gitshell.shell import main as shell

        sys.exit(shell(args[1:]))
    if args[:1] not in AS_ROOT and args[:2] not in AS_ROOT_SUBCOMMANDS:
        # Root works on NAP_HOME as the user that owns it (the `nap` user after
        # `nap server setup`), so that pushes can still write what root touched.
        from nap_core.errors import NapError
        from nap_gitshell.server import act_as_home_owner

        try:
            act_as_home_owner()
        except NapError as exc:
            sys.stderr.write(f"error: {exc}\n")
            sys.exit(1)
    from nap_core.cli import main as cli
    from nap_core.processes import exit_now

    try:
        cli()
    except SystemExit as done:  # the CLI always ends so
        exit_now(done.code)


if __name__ == "__main__":
    main()
