"""How many instances of each process type an app runs, and with which config
vars: :func:`app_config`, for deploys and every release made again."""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import App, AppConfig, ProcessTable
from nap_core.state import Change, State


def app_config(
    state: State,
    app: App,
    settings: Settings,
    change: Change | None = None,
    processes: ProcessTable | None = None,
) -> AppConfig:
    """The app's configuration: its config vars and how many instances of each
    process type run, with ``change`` applied.

    Web: what ``nap ps scale`` set, else app.json's ``formation``, else
    ``[apps.APP] replicas`` in nap.toml (``NAP_APPS_APP_REPLICAS``), else
    ``replicas`` (``NAP_REPLICAS``), else 1. Every other type of ``processes``:
    what ``nap ps scale`` set, else app.json's ``formation``, else
    ``[apps.APP.formation] TYPE`` (``NAP_APPS_APP_FORMATION_TYPE``), else 0.
    """
    table = processes or ProcessTable()
    declared = dict(table.formation)
    env = state.config(app) if change is None or change.env is None else dict(change.env)
    replicas = change.replicas if change is not None else None
    if replicas is None:
        replicas = state.replicas(app)
    if replicas is None:
        replicas = declared.get("web")
    if replicas is None:
        value = settings.get(f"apps.{app.name}.replicas") or settings.get("replicas") or "1"
        replicas = _count(value, "replicas")
        if replicas < 1:
            raise NapError(f"replicas must be at least 1, not {replicas}")
    scaled = {**state.formation(app), **dict((change and change.formation) or {})}
    formation = {}
    for name in table.names[1:]:
        if name in scaled:
            formation[name] = scaled[name]
        elif name in declared:
            formation[name] = declared[name]
        else:
            key = f"apps.{app.name}.formation.{name}"
            formation[name] = _count(settings.get(key) or "0", key)
    return AppConfig.from_mapping(env, replicas, formation)


def _count(value: str, key: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise NapError(f"{key} must be a whole number, not {value!r}") from None
