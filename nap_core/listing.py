"""What ``nap plugins list`` shows: every plugin, its version, its hooks, and
whether it is active (a scheduler or router that is installed but not chosen
is listed, inactive)."""

from __future__ import annotations

from typing import Any

import attrs
import pluggy

from nap_core import hookspecs
from nap_core.plugins import DISTRIBUTION, ROLES, PluginManager, entry_points


@attrs.frozen
class PluginInfo:
    """One line of ``nap plugins list``."""

    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool
    #: "scheduler" or "router" for a plugin that fills a role, else "".
    role: str = ""
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the interface contract."""
        return {
            "name": self.name,
            "version": self.version,
            "hooks": list(self.hooks),
            "builtin": self.builtin,
            "role": self.role,
            "active": self.active,
        }


_ORDER = {name: i for i, name in enumerate(hookspecs.ORDER + hookspecs.OPERATIONS)}


def _sorted_hooks(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda hook: (_ORDER.get(hook, len(_ORDER)), hook)))


def describe(pm: PluginManager) -> list[PluginInfo]:
    """Every registered plugin, and every installed role plugin that is not active."""
    from nap_core import __version__

    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    roles = {name: role for role, name in pm.active.items()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = {caller.name for caller in pm.get_hookcallers(plugin) or ()}
        dist = dists.get(id(plugin))
        if dist is not None:
            version, builtin = dist.version, dist.metadata["name"] == DISTRIBUTION
        else:  # registered by nap itself (core), by activate() or by a caller (tests)
            version, builtin = __version__, name == "core"
        role_name = roles.get(name, "")
        if role_name:
            version, builtin = _role_dist(role_name, name, version, builtin)
        infos.append(PluginInfo(name, version, _sorted_hooks(hooks), builtin, role_name))
    listed = {info.name for info in infos}
    for role in ROLES:
        for entry_point in entry_points(role):
            if entry_point.name in listed or pm.is_blocked(entry_point.name):
                continue
            module = entry_point.load()
            found = entry_point.dist
            infos.append(
                PluginInfo(
                    entry_point.name,
                    found.version if found else "",
                    _sorted_hooks(_hooks_of(pm, module)),
                    bool(found and found.metadata["name"] == DISTRIBUTION),
                    role.name,
                    active=False,
                )
            )
    return sorted(infos, key=lambda info: (not info.builtin, info.name))


def _role_dist(role: str, name: str, version: str, builtin: bool) -> tuple[str, bool]:
    """The distribution of an active role plugin (activate() registers it without one)."""
    for found in ROLES:
        if found.name != role:
            continue
        for entry_point in entry_points(found):
            if entry_point.name == name and entry_point.dist is not None:
                dist = entry_point.dist
                return dist.version, dist.metadata["name"] == DISTRIBUTION
    return version, builtin


def _hooks_of(pm: pluggy.PluginManager, module: object) -> set[str]:
    """The hooks a plugin implements, read without registering it."""
    return {
        name
        for name in dir(module)
        if pm.parse_hookimpl_opts(module, name) is not None and hasattr(pm.hook, name)
    }
