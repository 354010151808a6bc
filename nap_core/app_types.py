"""Which app type builds an app: the one it chose, else what ``detect`` answers.

An app chooses with ``nap apps set APP app_type NAME`` (Dokku's ``builder:set
APP selected NAME``); the choice lives in ``nap.db`` (``apps.app_type``) and
skips detection, so an app can build as Python although its tree also holds a
Dockerfile. Each release records the type that built it (``releases.app_type``),
so a deploy after the choice changed rebuilds even an unchanged tree.
"""

from __future__ import annotations

from nap_core import diskfull
from nap_core.errors import NoAppType
from nap_core.model import App, Release, Tree
from nap_core.plugins import PluginManager
from nap_core.state import State


def chosen(state: State, app: App) -> str | None:
    """The app type the app chose, or ``None``: let detect decide."""
    row = state.db.execute("SELECT app_type FROM apps WHERE name = ?", (app.name,)).fetchone()
    return str(row[0]) if row and row[0] else None


def choose(state: State, app: App, app_type: str | None) -> None:
    """Make ``app_type`` the app's choice (``None``: back to detection)."""
    with state.transaction() as db:
        db.execute("UPDATE apps SET app_type = ? WHERE name = ?", (app_type, app.name))


def record(state: State, release: Release, app_type: str) -> None:
    """Store which app type built ``release`` (a release being deployed)."""

    def write() -> None:
        with state.transaction() as db:
            db.execute(
                "UPDATE releases SET app_type = ? WHERE app = ? AND number = ?",
                (app_type, release.app.name, release.number),
            )

    # The first write after the build: with no room, its image would go unrecorded.
    diskfull.with_room(state.path.parent, write)


def retyped(state: State, last: Release | None, app_type: str) -> bool:
    """Whether ``last`` was built as another app type than ``app_type``.

    A release from before nap recorded the type ('') counts as the same.
    """
    if last is None:
        return False
    row = state.db.execute(
        "SELECT app_type FROM releases WHERE app = ? AND number = ?",
        (last.app.name, last.number),
    ).fetchone()
    return bool(row and row[0]) and row[0] != app_type


def app_type_of(app: App, tree: Tree, state: State, pm: PluginManager) -> str:
    """The app type to build the pushed ``tree`` as: the app's choice, else ``detect``'s."""
    choice = chosen(state, app)
    if choice is not None:
        return choice
    app_type = pm.hook.detect(app=app, tree=tree)
    if app_type is None:
        raise NoAppType(
            f"cannot tell how to build {app.name} at {tree.revision[:12]}: add a Dockerfile "
            "at the root of the repository, or install the plugin of its app type "
            "(`nap plugins list` shows those installed)"
        )
    return str(app_type)


def no_builder(app: App, app_type: str) -> str:
    """The message of a deploy whose app type no installed plugin builds."""
    return (
        f"cannot tell how to build {app.name}: no installed plugin builds {app_type!r} apps; "
        f"install one (`nap plugins install`) or choose another type "
        f"(`nap apps set {app.name} app_type NAME`)"
    )
