"""The plugin manager factory, and what ``nap plugins list`` shows.

Each call makes a fresh manager (tests get their own; nothing loads at import).
Bundled plugins are entry points of the ``nap`` distribution in the ``nap``
group, so they are found, named and listed exactly like third-party plugins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from nap_core import hookspecs, reporting

#: The entry-point group plugins register under.
GROUP = "nap"
#: The distribution whose plugins count as bundled.
DISTRIBUTION = "nap"


def disabled_from(environ: Mapping[str, str]) -> list[str]:
    """Plugin names listed in ``NAP_DISABLE_PLUGINS`` (comma-separated)."""
    value = environ.get("NAP_DISABLE_PLUGINS", "")
    return [name.strip() for name in value.split(",") if name.strip()]


def plugin_manager(
    environ: Mapping[str, str] | None = None, extra: Iterable[tuple[str, object]] = ()
) -> pluggy.PluginManager:
    """Make a plugin manager with nap's hooks and every installed plugin.

    :param environ: where ``NAP_DISABLE_PLUGINS`` is read (default ``os.environ``).
    :param extra: ``(name, plugin)`` pairs registered after the entry points
        (tests use this for throwaway plugins).
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name in disabled_from(os.environ if environ is None else environ):
        pm.set_blocked(name)
    if not pm.is_blocked("core"):
        pm.register(reporting, name="core")
    pm.load_setuptools_entrypoints(GROUP)
    for name, plugin in extra:
        pm.register(plugin, name=name)
    pm.check_pending()
    return pm


@attrs.frozen
class PluginInfo:
    """One line of ``nap plugins list``."""

    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the interface contract."""
        return {
            "name": self.name,
            "version": self.version,
            "hooks": list(self.hooks),
            "builtin": self.builtin,
        }


def describe(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin with its version and the hooks it implements."""
    from nap_core import __version__

    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    order = {name: i for i, name in enumerate(hookspecs.ORDER + hookspecs.OPERATIONS)}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = sorted(
            (caller.name for caller in pm.get_hookcallers(plugin) or ()),
            key=lambda hook: order.get(hook, len(order)),
        )
        dist = dists.get(id(plugin))
        if dist is not None:
            version, builtin = dist.version, dist.metadata["name"] == DISTRIBUTION
        else:  # registered by nap itself (core) or by a caller (tests)
            version, builtin = __version__, name == "core"
        infos.append(PluginInfo(name, version, tuple(hooks), builtin))
    return sorted(infos, key=lambda info: (not info.builtin, info.name))
