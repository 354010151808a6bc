"""The plugin manager factory: every plugin of the ``nap`` group, plus exactly
one plugin of each role (the scheduler, the router), chosen by configuration.

Each call makes a fresh manager (tests get their own; nothing loads at import).
Plugins that are always on (app types, the intake, the publisher, commands)
register under the entry-point group ``nap``. A plugin that fills a role
registers under its role's group instead (``nap.schedulers``, ``nap.routers``),
and only the one the configuration names is loaded: no hook implementation
ever asks which scheduler is configured. Bundled and pip-installed plugins are
found, chosen and listed exactly alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib import metadata

import attrs
import pluggy

from nap_core import hookspecs, reporting
from nap_core.config import Settings
from nap_core.errors import NapError, NoScheduler

#: The entry-point group of the plugins that are always on.
GROUP = "nap"
#: The distribution whose plugins count as bundled.
DISTRIBUTION = "nap"


@attrs.frozen
class Role:
    """A part exactly one plugin plays: which setting names it, where candidates register."""

    name: str
    setting: str
    group: str
    #: The hooks the chosen plugin must implement.
    required: tuple[str, ...] = ()
    #: The setting's value that means "no plugin in this role".
    off: str | None = None


SCHEDULER = Role("scheduler", "scheduler", "nap.schedulers", hookspecs.SCHEDULER)
ROUTER = Role("router", "router", "nap.routers", hookspecs.ROUTER, off="none")
ROLES = (SCHEDULER, ROUTER)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, knowing which plugin fills each role."""

    def __init__(self) -> None:
        super().__init__(GROUP)
        #: role name -> the name of the active plugin in it
        self.active: dict[str, str] = {}


def disabled_from(environ: Mapping[str, str]) -> list[str]:
    """Plugin names listed in ``NAP_DISABLE_PLUGINS`` (comma-separated)."""
    value = environ.get("NAP_DISABLE_PLUGINS", "")
    return [name.strip() for name in value.split(",") if name.strip()]


def plugin_manager(
    environ: Mapping[str, str] | None = None,
    extra: Iterable[tuple[str, object]] = (),
    *,
    settings: Settings | None = None,
    candidates: Mapping[str, Mapping[str, object]] | None = None,
) -> PluginManager:
    """Make a plugin manager with nap's hooks, the always-on plugins and, when
    ``settings`` is given, the scheduler and router they name.

    :param environ: where ``NAP_DISABLE_PLUGINS`` is read (default ``os.environ``).
    :param extra: ``(name, plugin)`` pairs registered after the entry points
        (tests use this for throwaway plugins).
    :param settings: activate the roles these settings choose (see :func:`activate`).
    :param candidates: per role name, plugins offered beside the installed ones.
    """
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    for name in disabled_from(os.environ if environ is None else environ):
        pm.set_blocked(name)
    if not pm.is_blocked("core"):
        pm.register(reporting, name="core")
    pm.load_setuptools_entrypoints(GROUP)
    for name, plugin in extra:
        pm.register(plugin, name=name)
    if settings is not None:
        activate(pm, settings, candidates)
    pm.check_pending()
    return pm


def activate(
    pm: PluginManager,
    settings: Settings,
    candidates: Mapping[str, Mapping[str, object]] | None = None,
    roles: tuple[Role, ...] = ROLES,
) -> None:
    """Register the one plugin of each role that ``settings`` names.

    Raises a one-line error listing the installed ones when the name is unknown
    or its plugin is disabled, before anything is built.
    """
    for role in roles:
        if role.name in pm.active:
            continue
        chosen = settings.get(role.setting) or ""
        if role.off is not None and chosen in (role.off, ""):
            continue
        offered = dict((candidates or {}).get(role.name, {}))
        found = offered.get(chosen) or _load(role, chosen)
        if found is None or pm.is_blocked(chosen):
            names = sorted({*offered, *(ep.name for ep in entry_points(role))})
            error = NoScheduler if role is SCHEDULER else NapError
            raise error(
                f"{role.setting} = {chosen!r} is not an installed {role.name}: "
                f"choose one of {', '.join(names) or 'none installed'}"
                + (f" (or {role.off!r})" if role.off else "")
            )
        pm.register(found, name=chosen)
        missing = [hook for hook in role.required if not _implements(pm, found, hook)]
        if missing:
            pm.unregister(found)
            raise NoScheduler(f"the {role.name} {chosen!r} does not implement {', '.join(missing)}")
        pm.active[role.name] = chosen


def router_manager(settings: Settings) -> PluginManager:
    """A manager with the active router alone: enough to ask it whether it runs
    before every command, at a fraction of the cost of loading every plugin."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    activate(pm, settings, roles=(ROUTER,))
    return pm


def _implements(pm: PluginManager, plugin: object, hook: str) -> bool:
    return any(impl.plugin is plugin for impl in getattr(pm.hook, hook).get_hookimpls())


def entry_points(role: Role) -> list[metadata.EntryPoint]:
    """The installed candidates of ``role``."""
    return list(metadata.entry_points(group=role.group))


def _load(role: Role, name: str) -> object | None:
    for entry_point in entry_points(role):
        if entry_point.name == name:
            plugin: object = entry_point.load()
            return plugin
    return None
