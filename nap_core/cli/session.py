"""What one ``nap`` invocation works with: the settings, the plugins, and the
front door to day-2 operations. Made lazily, so that a command that needs none
of them (``nap --help``) pays for none."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nap_core.config import Settings
from nap_core.output import Output
from nap_core.plugins import PluginManager, activate

if TYPE_CHECKING:
    from nap_core.operations import Operations

F = TypeVar("F", bound=Callable[..., Any])


class Session:
    """The plugin manager of this invocation (commands already registered), and
    the settings and active roles, loaded on first use."""

    def __init__(self, pm: PluginManager) -> None:
        self._pm = pm

    @functools.cached_property
    def settings(self) -> Settings:
        """The configuration in force."""
        return Settings.load()

    @functools.cached_property
    def pm(self) -> PluginManager:
        """The plugins, with the configured scheduler and router active."""
        activate(self._pm, self.settings)
        return self._pm

    @property
    def registered(self) -> PluginManager:
        """The plugins without activating any role (for ``nap plugins list``)."""
        return self._pm

    @functools.cached_property
    def operations(self) -> Operations:
        """Day-2 operations; progress goes to stderr."""
        # Imported here: it brings the whole release lifecycle (~40 ms), which
        # `nap deploy` (its pipeline runs in the hook), `nap keys` and `--help` never use.
        from nap_core.operations import Operations

        return Operations(self.settings, self.pm, Output(sys.stderr))


pass_session = click.make_pass_decorator(Session)


def json_option(func: F) -> F:
    """The ``--json`` flag of listing commands."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def print_json(value: Any) -> None:
    """Print a JSON document on stdout."""
    click.echo(json.dumps(value, indent=2))
