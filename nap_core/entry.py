"""The ``nap`` command's entry point.

Kept free of imports: the CLI library and the plugins load only for the
commands that need them.
"""

from __future__ import annotations


def main() -> None:
    """Run the ``nap`` command line."""
    from nap_core.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
