"""Who may touch which app: keys are admins or users; users reach only the apps
their ACL grants (Dokku's model).

- An admin key may push to every app and run every command nap runs over SSH.
- A user key may push to, clone and run the day-2 commands on the apps
  ``nap acl add APP KEY`` granted it, and list those apps; nothing else.
- ``config show --reveal``, ``apps destroy``, ``acl`` and ``keys`` need an admin.
- An app with no ACL is reachable only by admins.
- Locally, root and the owner of ``NAP_HOME`` are admins: they own the state.

Roles and grants live in ``nap.db`` (tables ``key_roles`` and ``acl``), so they
survive restarts and ``nap apps destroy`` forgets an app's grants with it.
:func:`check` is the one place that decides, for ``nap shell`` (which knows the
key) and the CLI alike. Standard library and sqlite3 only: ``nap shell`` imports it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from nap_core.errors import NapError

ADMIN, USER = "admin", "user"
SCHEMA = """
CREATE TABLE IF NOT EXISTS key_roles (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user'))
);
CREATE TABLE IF NOT EXISTS acl (
    app TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (app, key)
);
"""

#: The key of this process's SSH session (set by ``nap shell``); None: a local
#: user, who owns NAP_HOME and is an admin.
current_key: str | None = None


class Denied(NapError):
    """The key may not do what it asked."""


def connect(home: Path) -> sqlite3.Connection:
    """``NAP_HOME/nap.db`` with the access tables; created mode 0600, owned by the
    owner of ``home`` (root's ``nap keys`` must not take it from the ``nap`` user)."""
    path = home / "nap.db"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if os.geteuid() == 0:
            owner = home.stat()
            os.chown(path, owner.st_uid, owner.st_gid)
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.executescript(SCHEMA)
    return db


def role(home: Path, key: str) -> str:
    """``admin`` or ``user``. A key without a recorded role is a user, except on a
    server where no key has one (keys added before roles existed: they keep
    reaching everything until an admin is named)."""
    if not (home / "nap.db").exists():  # a server nobody configured: read, never create
        return ADMIN
    db = connect(home)
    try:
        found = db.execute("SELECT role FROM key_roles WHERE name = ?", (key,)).fetchone()
        if found is not None:
            return str(found[0])
        anyone = db.execute("SELECT 1 FROM key_roles LIMIT 1").fetchone()
        return USER if anyone else ADMIN
    finally:
        db.close()


def set_role(home: Path, key: str, value: str) -> None:
    """Record ``key``'s role."""
    if value not in (ADMIN, USER):
        raise NapError(f"a role is {ADMIN} or {USER}")
    with _transaction(home) as db:
        db.execute(
            "INSERT INTO key_roles (name, role) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET role = excluded.role",
            (key, value),
        )


def forget_key(home: Path, key: str) -> None:
    """Remove ``key``'s role and grants (``nap keys remove``)."""
    with _transaction(home) as db:
        db.execute("DELETE FROM key_roles WHERE name = ?", (key,))
        db.execute("DELETE FROM acl WHERE key = ?", (key,))


def grant(home: Path, app: str, key: str) -> bool:
    """Let ``key`` reach ``app``; False if it already could."""
    with _transaction(home) as db:
        done = db.execute("INSERT OR IGNORE INTO acl (app, key) VALUES (?, ?)", (app, key))
        return done.rowcount > 0


def revoke(home: Path, app: str, key: str) -> bool:
    """Stop ``key`` reaching ``app``; False if it could not."""
    with _transaction(home) as db:
        done = db.execute("DELETE FROM acl WHERE app = ? AND key = ?", (app, key))
        return done.rowcount > 0


def grants(home: Path, app: str) -> list[str]:
    """The keys the ACL of ``app`` names."""
    if not (home / "nap.db").exists():
        return []
    db = connect(home)
    try:
        rows = db.execute("SELECT key FROM acl WHERE app = ? ORDER BY key", (app,))
        return [str(row[0]) for row in rows]
    finally:
        db.close()


def forget_app(home: Path, app: str) -> None:
    """Remove ``app``'s ACL (``nap apps destroy``)."""
    with _transaction(home) as db:
        db.execute("DELETE FROM acl WHERE app = ?", (app,))


def check(home: Path, key: str | None, app: str | None, admin: bool = False) -> None:
    """Raise :class:`Denied` unless ``key`` may do it: everything if it is an admin
    (or None, a local user); else only on an ``app`` its ACL names, never what
    needs an ``admin``."""
    if key is None or role(home, key) == ADMIN:
        return
    if admin:
        raise Denied(f"key {key} is not an admin: ask an admin of this server to do this")
    if app is None or key not in grants(home, app):
        raise Denied(
            f"key {key} may not access {app or 'this'}: an admin grants it with "
            f"`nap acl add {app or 'APP'} {key}`"
        )


def visible(home: Path, key: str | None, apps: list[str]) -> list[str]:
    """The apps of ``apps`` that ``key`` may see (all for an admin)."""
    if key is None or role(home, key) == ADMIN:
        return apps
    db = connect(home)
    try:
        mine = {str(r[0]) for r in db.execute("SELECT app FROM acl WHERE key = ?", (key,))}
    finally:
        db.close()
    return [app for app in apps if app in mine]


class _transaction:
    def __init__(self, home: Path) -> None:
        self.db = connect(home)

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            self.db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self.db.close()


#: Commands that need an admin, as command paths.
ADMIN_COMMANDS = frozenset(
    {
        ("apps", "destroy"),
        ("acl", "add"),
        ("acl", "remove"),
        ("acl", "list"),
        # A host name is the whole server's: a user key must not claim one for its app.
        ("domains", "add"),
        ("domains", "remove"),
    }
)
#: Commands any key may run: what they show is filtered (``apps``) or not an app's.
OPEN_COMMANDS = frozenset({("apps",), ("plugins", "list"), ("help",)})


def check_command(
    home: Path, key: str | None, path: tuple[str, ...], params: dict[str, object]
) -> None:
    """:func:`check` for the command ``path`` with its parsed ``params``: the app it
    names, and whether it needs an admin (``config show --reveal`` does)."""
    if path in OPEN_COMMANDS:
        return
    admin = path in ADMIN_COMMANDS or (path == ("config", "show") and bool(params.get("reveal")))
    check(home, key, app_of(path, params), admin)


def app_of(path: tuple[str, ...], params: dict[str, object]) -> str | None:
    """The app a command's parsed ``params`` name (``ps`` takes ``APP`` or ``scale APP N``)."""
    if path == ("ps",):
        args = list(params.get("args") or ())  # type: ignore[call-overload]
        words = args[1:] if args[:1] == ["scale"] and len(args) >= 3 else args
        return str(words[0]) if words else None
    app = params.get("app")
    return str(app) if app is not None else None
