"""The schema of ``nap.db``, and bringing an older file up to it.

Several nap processes may open the database at the same moment (two pushes,
a push and ``nap ps``): the whole check-and-migrate runs in one ``BEGIN
EXCLUSIVE`` transaction, so exactly one of them migrates and the others see
the result. Every change is additive (new tables, new columns with defaults),
so an older nap reading a newer file keeps working.
"""

from __future__ import annotations

import json
import sqlite3

from nap_core.model import App, HealthChecks, Image, Placement, ProcessTable, Release, Unit

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    name            TEXT PRIMARY KEY,
    created         REAL NOT NULL,
    current         INTEGER,                    -- the release that serves, NULL before the first
    replicas        INTEGER,                    -- set by `nap ps scale`, NULL: as configured
    formation       TEXT NOT NULL DEFAULT '{}', -- other process types' scale set by `nap ps scale`
    config_version  INTEGER NOT NULL DEFAULT 0, -- bumped by every config change
    app_type        TEXT,                       -- chosen with `nap apps set`, NULL: detect
    stopped         INTEGER NOT NULL DEFAULT 0  -- 1 after `nap stop`, until a start or a release
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
    processes     TEXT NOT NULL DEFAULT '{}',  -- Procfile + app.json, as ProcessTable.to_dict()
    app_type      TEXT NOT NULL DEFAULT '',    -- the app type that built it (nap_core.app_types)
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
CREATE TABLE IF NOT EXISTS domains (           -- custom domains (nap_core.domains)
    domain  TEXT PRIMARY KEY,                  -- owned by one app
    app     TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
    added   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS certificates (      -- operator certificates: file references
    app       TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
    cert      TEXT NOT NULL,                   -- the PEM chain under NAP_HOME/router/certs/
    key       TEXT NOT NULL,                   -- the private key, mode 0600
    names     TEXT NOT NULL DEFAULT '[]',      -- the DNS names it covers
    not_after REAL NOT NULL,
    added     REAL NOT NULL
);
"""


#: Columns added after the first schema, so that an existing nap.db keeps working.
ADDED_COLUMNS = [
    ("apps", "replicas", "INTEGER"),
    ("apps", "config_version", "INTEGER NOT NULL DEFAULT 0"),
    ("releases", "config_version", "INTEGER NOT NULL DEFAULT 0"),
    ("releases", "config_env", "TEXT NOT NULL DEFAULT '{}'"),
    ("releases", "checks", "TEXT NOT NULL DEFAULT '{}'"),
    ("apps", "formation", "TEXT NOT NULL DEFAULT '{}'"),
    ("releases", "processes", "TEXT NOT NULL DEFAULT '{}'"),
    ("releases", "deployer", "TEXT NOT NULL DEFAULT ''"),  # processes.identity() of the deploy
    ("apps", "app_type", "TEXT"),
    ("releases", "app_type", "TEXT NOT NULL DEFAULT ''"),
    ("apps", "stopped", "INTEGER NOT NULL DEFAULT 0"),  # the router answers 503 (routing.py)
]


def migrate(db: sqlite3.Connection) -> None:
    """Create what is missing of the schema, in one exclusive transaction.

    ``db`` must be in autocommit mode (``isolation_level=None``). Statements run
    one by one: ``executescript`` would commit the transaction first.
    """
    db.execute("BEGIN EXCLUSIVE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        for table, column, declaration in ADDED_COLUMNS:
            names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def release_of_row(row: sqlite3.Row) -> Release:
    """A ``releases`` row as the value hooks get."""
    app = App(row["app"])
    info = json.loads(row["image_info"])
    return Release(
        app=app,
        number=row["number"],
        revision=row["revision"],
        tree=row["tree"],
        config_digest=row["config_digest"],
        scheduler=row["scheduler"],
        image=Image.from_dict(app, info) if info.get("id") or info.get("tag") else None,
        pruned=bool(info.get("pruned")),
        status=row["status"],
        units=tuple(Unit(*unit) for unit in json.loads(row["units"])),
        placements=tuple(Placement(**p) for p in json.loads(row["placements"])),
        created=row["created"],
        checks=HealthChecks.from_dict(json.loads(row["checks"])),
        config_version=row["config_version"],
        processes=ProcessTable.from_dict(json.loads(row["processes"])),
        deployer=row["deployer"],
    )
