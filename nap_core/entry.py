"""The ``nap`` command's entry point.

Kept free of imports: the CLI library and the plugins load only for the
commands that need them. ``nap shell``, which sshd runs for every SSH command,
goes straight to :mod:`nap_gitshell.shell` without loading click at all.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``nap`` command line."""
    args = sys.argv[1:]
    if args[:1] == ["shell"]:
        from nap_gitshell.shell import main as shell

        sys.exit(shell(args[1:]))
    if args[:1] not in (["server"], ["keys"]):
        # Root works on NAP_HOME as the user that owns it (the `nap` user after
        # `nap server setup`), so that pushes can still write what root touched.
        # `server` needs root; `keys` reads key files wherever root can and
        # keeps authorized_keys owned as it was.
        from nap_gitshell.server import act_as_home_owner

        act_as_home_owner()
    from nap_core.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
