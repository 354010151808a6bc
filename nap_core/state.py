"""nap's state: apps, releases and config vars in SQLite (``NAP_HOME/nap.db``).

The database is the one source of truth. Every write is a transaction, so a
deploy that dies half-way leaves the last good release current. The file holds
config values (secrets) and is created with mode 0600.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nap_core.model import App, AppConfig, HealthChecks, Placement, Release, Unit

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    name            TEXT PRIMARY KEY,
    created         REAL NOT NULL,
    current         INTEGER,                    -- the release that serves, NULL before the first
    replicas        INTEGER,                    -- set by `nap ps scale`; NULL: as configured
    config_version  INTEGER NOT NULL DEFAULT 0  -- bumped by every config change
);
CREATE TABLE IF NOT EXISTS releases (
    app           TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    revision      TEXT NOT NULL,
    tree          TEXT NOT NULL,
    image         TEXT NOT NULL DEFAULT '',
    image_info    TEXT NOT NULL DEFAULT '{}',  -- ports, env, volumes: enough to run it again
    config_digest TEXT NOT NULL,
    config_version INTEGER NOT NULL DEFAULT 0,
    config_env    TEXT NOT NULL DEFAULT '{}',  -- the config vars it runs with (secrets: 0600 file)
    scheduler     TEXT NOT NULL,
    status        TEXT NOT NULL,               -- deploying | succeeded | failed
    units         TEXT NOT NULL DEFAULT '[]',
    placements    TEXT NOT NULL DEFAULT '[]',
    checks        TEXT NOT NULL DEFAULT '{}',  -- the release's CHECKS, as HealthChecks.to_dict()
    error         TEXT NOT NULL DEFAULT '',
    created       REAL NOT NULL,
    PRIMARY KEY (app, number)
);
CREATE TABLE IF NOT EXISTS config (
    app    TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (app, key)
);
"""


#: Columns added after the first schema, so that an existing nap.db keeps working.
ADDED_COLUMNS = [
    ("apps", "replicas", "INTEGER"),
    ("apps", "config_version", "INTEGER NOT NULL DEFAULT 0"),
    ("releases", "config_version", "INTEGER NOT NULL DEFAULT 0"),
    ("releases", "config_env", "TEXT NOT NULL DEFAULT '{}'"),
    ("releases", "checks", "TEXT NOT NULL DEFAULT '{}'"),
]


class State:
    """The SQLite database under ``NAP_HOME``."""

    def __init__(self, home: Path) -> None:
        self.path = home / "nap.db"
        home.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Create it private before SQLite writes a byte into it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        for table, column, declaration in ADDED_COLUMNS:
            names = {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all or nothing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # Apps

    def ensure_app(self, app: App) -> None:
        """Record the app if it is new."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO apps (name, created) VALUES (?, ?)", (app.name, time.time())
            )

    def apps(self) -> list[dict[str, Any]]:
        """Every app with its current release number."""
        rows = self.db.execute("SELECT name, created, current FROM apps ORDER BY name")
        return [dict(row) for row in rows]

    def has_app(self, name: str) -> bool:
        """Whether nap knows the app."""
        row = self.db.execute("SELECT 1 FROM apps WHERE name = ?", (name,)).fetchone()
        return row is not None

    def delete_app(self, name: str) -> None:
        """Forget the app, its releases and its config."""
        with self.transaction() as db:
            db.execute("DELETE FROM apps WHERE name = ?", (name,))

    # Releases

    def new_release(
        self,
        release: Release,
        config: AppConfig,
        image_info: dict[str, Any] | None = None,
    ) -> Release:
        """Record a release being deployed, numbered after the app's last one.

        The config vars it runs with are stored with it, so a rollback can run
        the same code with the same config.
        """
        with self.transaction() as db:
            row = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE app = ?",
                (release.app.name,),
            ).fetchone()
            number = int(row[0])
            created = time.time()
            version = db.execute(
                "SELECT config_version FROM apps WHERE name = ?", (release.app.name,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO releases (app, number, revision, tree, image, image_info,"
                " config_digest, config_version, config_env, scheduler, status, checks, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'deploying', ?, ?)",
                (
                    release.app.name,
                    number,
                    release.revision,
                    release.tree,
                    release.image,
                    json.dumps(image_info or {}),
                    release.config_digest,
                    version,
                    json.dumps(config.environment),
                    release.scheduler,
                    json.dumps(release.checks.to_dict()),
                    created,
                ),
            )
        return _evolve(
            release, number=number, status="deploying", created=created, config_version=version
        )

    def record_image(self, release: Release, image_info: dict[str, Any]) -> None:
        """Store the published image of a release being deployed."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET image = ?, image_info = ? WHERE app = ? AND number = ?",
                (release.image, json.dumps(image_info), release.app.name, release.number),
            )

    def make_current(self, release: Release) -> None:
        """Mark the release deployed and serving, in one transaction."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET status = 'succeeded', image = ?, units = ?, placements = ?"
                " WHERE app = ? AND number = ?",
                (
                    release.image,
                    json.dumps([[u.name, u.text, u.kind] for u in release.units]),
                    json.dumps([p.to_dict() for p in release.placements]),
                    release.app.name,
                    release.number,
                ),
            )
            db.execute(
                "UPDATE apps SET current = ? WHERE name = ?", (release.number, release.app.name)
            )

    def update_placements(self, release: Release) -> None:
        """Store where a release's instances run now."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET placements = ? WHERE app = ? AND number = ?",
                (
                    json.dumps([p.to_dict() for p in release.placements]),
                    release.app.name,
                    release.number,
                ),
            )

    def fail(self, app: App, number: int, error: str) -> None:
        """Mark a release failed (it never served)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET status = 'failed', error = ? WHERE app = ? AND number = ?",
                (error, app.name, number),
            )

    @contextmanager
    def failing(self, release: Release) -> Iterator[None]:
        """Mark ``release`` failed if the block raises (then re-raise)."""
        try:
            yield
        except BaseException as exc:
            self.fail(release.app, release.number, str(exc) or type(exc).__name__)
            raise

    def fail_abandoned(self, app: App) -> None:
        """Mark failed the releases a dead deploy left 'deploying' (call under the app lock)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET status = 'failed', error = 'the deploy was interrupted'"
                " WHERE app = ? AND status = 'deploying'",
                (app.name,),
            )

    def current(self, app: App) -> Release | None:
        """The release that serves the app, or ``None``."""
        row = self.db.execute(
            "SELECT r.* FROM releases r JOIN apps a ON a.name = r.app AND a.current = r.number"
            " WHERE a.name = ?",
            (app.name,),
        ).fetchone()
        return _release(row) if row else None

    def release(self, app: App, number: int) -> Release | None:
        """One release by number."""
        row = self.db.execute(
            "SELECT * FROM releases WHERE app = ? AND number = ?", (app.name, number)
        ).fetchone()
        return _release(row) if row else None

    def image_info(self, app: App, number: int) -> dict[str, Any]:
        """What is known of a release's image: ports, env, volumes."""
        row = self.db.execute(
            "SELECT image_info FROM releases WHERE app = ? AND number = ?", (app.name, number)
        ).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def releases(self, app: App) -> list[Release]:
        """Every release of the app, newest first."""
        rows = self.db.execute(
            "SELECT * FROM releases WHERE app = ? ORDER BY number DESC", (app.name,)
        )
        return [_release(row) for row in rows]

    def release_config(self, app: App, number: int) -> dict[str, str]:
        """The config vars a release ran with."""
        row = self.db.execute(
            "SELECT config_env FROM releases WHERE app = ? AND number = ?", (app.name, number)
        ).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def set_image_info(self, app: App, number: int, info: dict[str, Any]) -> None:
        """Replace what is known of a release's image (e.g. that it was pruned)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET image_info = ? WHERE app = ? AND number = ?",
                (json.dumps(info), app.name, number),
            )

    # Config vars and scale

    def config(self, app: App) -> dict[str, str]:
        """The app's config vars."""
        rows = self.db.execute("SELECT key, value FROM config WHERE app = ?", (app.name,))
        return {row["key"]: row["value"] for row in rows}

    def replicas(self, app: App) -> int | None:
        """The replicas ``nap ps scale`` set for the app, or None if it never did."""
        row = self.db.execute("SELECT replicas FROM apps WHERE name = ?", (app.name,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def replace_config(self, app: App, env: dict[str, str]) -> None:
        """Make ``env`` the app's config vars, and bump its config version."""
        with self.transaction() as db:
            db.execute("DELETE FROM config WHERE app = ?", (app.name,))
            db.executemany(
                "INSERT INTO config (app, key, value) VALUES (?, ?, ?)",
                [(app.name, key, value) for key, value in env.items()],
            )
            db.execute(
                "UPDATE apps SET config_version = config_version + 1 WHERE name = ?", (app.name,)
            )

    def set_replicas(self, app: App, replicas: int) -> None:
        """Set how many instances of the app run."""
        with self.transaction() as db:
            db.execute("UPDATE apps SET replicas = ? WHERE name = ?", (replicas, app.name))


def _evolve(release: Release, **changes: Any) -> Release:
    import attrs

    return attrs.evolve(release, **changes)


def _release(row: sqlite3.Row) -> Release:
    return Release(
        app=App(row["app"]),
        number=row["number"],
        revision=row["revision"],
        tree=row["tree"],
        config_digest=row["config_digest"],
        scheduler=row["scheduler"],
        image=row["image"],
        status=row["status"],
        units=tuple(Unit(*unit) for unit in json.loads(row["units"])),
        placements=tuple(Placement(**p) for p in json.loads(row["placements"])),
        created=row["created"],
        checks=HealthChecks.from_dict(json.loads(row["checks"])),
        config_version=row["config_version"],
    )
