"""nap's state: apps, releases and config vars in SQLite (``NAP_HOME/nap.db``).

The one source of truth. Every write is a transaction, so a deploy that dies
half-way leaves the last good release current. Mode 0600: it holds secrets.
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

import attrs

from nap_core import diskfull, processes
from nap_core.change import Change as Change
from nap_core.model import App, AppConfig, Release
from nap_core.schema import migrate, release_of_row


class State:
    """The SQLite database under ``NAP_HOME``."""

    def __init__(self, home: Path) -> None:
        self.path = home / "nap.db"
        home.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Create it private before SQLite writes a byte into it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = diskfull.connect(self.path)  # on a full disk, with the reserve's room
        migrate(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        self, release: Release, config: AppConfig, pending: Change | None = None
    ) -> Release:
        """Record a release being deployed, numbered after the app's last one.

        The config vars it runs with are stored with it, so a rollback can run
        the same code with the same config. ``pending`` is a config change the
        release carries: it becomes the app's only with :meth:`make_current`.
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
            ).fetchone()[0] + (1 if pending and pending.env is not None else 0)
            db.execute(
                "INSERT INTO releases (app, number, revision, tree, image, image_info,"
                " config_digest, config_version, config_env, scheduler, status, checks, processes,"
                " created, deployer)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'deploying', ?, ?, ?, ?)",
                (
                    release.app.name,
                    number,
                    release.revision,
                    release.tree,
                    release.image.pinned if release.image else "",
                    json.dumps(release.image.to_dict() if release.image else {}),
                    release.config_digest,
                    version,
                    json.dumps(config.environment),
                    release.scheduler,
                    json.dumps(release.checks.to_dict()),
                    json.dumps(release.processes.to_dict()),
                    created,
                    processes.identity(),
                ),
            )
        return attrs.evolve(
            release, number=number, status="deploying", created=created, config_version=version
        )

    def record_image(self, release: Release) -> None:
        """Store the image of a release being deployed (built, then published)."""
        assert release.image is not None
        row = (release.image.pinned, json.dumps(release.image.to_dict()))

        def write() -> None:
            with self.transaction() as db:
                db.execute(
                    "UPDATE releases SET image = ?, image_info = ? WHERE app = ? AND number = ?",
                    (*row, release.app.name, release.number),
                )

        diskfull.with_room(self.path.parent, write, stop=True)  # else its tags stay forever

    def make_current(self, release: Release, pending: Change | None = None) -> None:
        """Mark the release deployed and serving, and commit the config change or
        scale it carries, in one transaction: all of it happens, or none."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET status = 'succeeded', units = ?, placements = ?"
                " WHERE app = ? AND number = ?",
                (
                    json.dumps([[u.name, u.text, u.kind] for u in release.units]),
                    json.dumps([p.to_dict() for p in release.placements]),
                    release.app.name,
                    release.number,
                ),
            )
            at = (release.number, release.app.name)
            db.execute("UPDATE apps SET current = ?, stopped = 0 WHERE name = ?", at)
            if pending is not None:
                self._commit(db, release.app, pending)

    def commit(self, app: App, pending: Change) -> None:
        """Commit a config change or scale on its own (an app that does not run yet)."""
        with self.transaction() as db:
            self._commit(db, app, pending)

    def _commit(self, db: sqlite3.Connection, app: App, pending: Change) -> None:
        if pending.env is not None:
            db.execute("DELETE FROM config WHERE app = ?", (app.name,))
            db.executemany(
                "INSERT INTO config (app, key, value) VALUES (?, ?, ?)",
                [(app.name, key, value) for key, value in pending.env.items()],
            )
            db.execute(
                "UPDATE apps SET config_version = config_version + 1 WHERE name = ?", (app.name,)
            )
        if pending.replicas is not None:
            db.execute("UPDATE apps SET replicas = ? WHERE name = ?", (pending.replicas, app.name))
        if pending.formation:
            formation = json.dumps({**self.formation(app), **pending.formation})
            db.execute("UPDATE apps SET formation = ? WHERE name = ?", (formation, app.name))

    def update_placements(self, release: Release) -> None:
        """Store where a release's instances run now."""
        placements = json.dumps([p.to_dict() for p in release.placements])
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET placements = ? WHERE app = ? AND number = ?",
                (placements, release.app.name, release.number),
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
            diskfull.spend_reserve(self.path.parent, exc)  # room to write the failure
            self.fail(release.app, release.number, str(exc) or type(exc).__name__)
            raise

    def fail_dead(self, app: App, locked: bool = False) -> list[Release]:
        """Mark failed the releases whose deploy died; return them.

        :param locked: the caller holds the app's deploy lock, so no deploy of the
            app runs and every release still *deploying* is dead. Without it, only
            those whose deploying process is gone are.
        """
        rows = self.db.execute(
            "SELECT * FROM releases WHERE app = ? AND status = 'deploying'", (app.name,)
        )
        found = [
            release
            for release in map(release_of_row, rows)
            if locked or not processes.alive(release.deployer)
        ]
        with self.transaction() as db:
            db.executemany(
                "UPDATE releases SET status = 'failed', error = 'the deploy died'"
                " WHERE app = ? AND number = ? AND status = 'deploying'",
                [(app.name, release.number) for release in found],
            )
        return found

    def current(self, app: App) -> Release | None:
        """The release that serves the app, or ``None``."""
        row = self.db.execute(
            "SELECT r.* FROM releases r JOIN apps a ON a.name = r.app AND a.current = r.number"
            " WHERE a.name = ?",
            (app.name,),
        ).fetchone()
        return release_of_row(row) if row else None

    def release(self, app: App, number: int) -> Release | None:
        """One release by number."""
        row = self.db.execute(
            "SELECT * FROM releases WHERE app = ? AND number = ?", (app.name, number)
        ).fetchone()
        return release_of_row(row) if row else None

    def releases(self, app: App) -> list[Release]:
        """Every release of the app, newest first."""
        rows = self.db.execute(
            "SELECT * FROM releases WHERE app = ? ORDER BY number DESC", (app.name,)
        )
        return [release_of_row(row) for row in rows]

    def release_config(self, app: App, number: int) -> dict[str, str]:
        """The config vars a release ran with."""
        row = self.db.execute(
            "SELECT config_env FROM releases WHERE app = ? AND number = ?", (app.name, number)
        ).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def mark_pruned(self, release: Release) -> None:
        """Record that image clean-up removed the release's image."""
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET image_info = json_set(image_info, '$.pruned', json('true'))"
                " WHERE app = ? AND number = ?",
                (release.app.name, release.number),
            )

    def ports_in_use(self, scheduler: str) -> frozenset[int]:
        """The host ports that the serving release of every app on ``scheduler`` holds."""
        rows = self.db.execute(
            "SELECT DISTINCT json_extract(p.value, '$.port') FROM releases r JOIN apps a ON a.name"
            " = r.app AND a.current = r.number, json_each(r.placements) p WHERE r.scheduler = ?",
            (scheduler,),
        )
        return frozenset(int(row[0]) for row in rows)

    # Config vars and scale

    def config(self, app: App) -> dict[str, str]:
        """The app's config vars."""
        rows = self.db.execute("SELECT key, value FROM config WHERE app = ?", (app.name,))
        return {row["key"]: row["value"] for row in rows}

    def replicas(self, app: App) -> int | None:
        """The replicas ``nap ps scale`` set for the app, or None if it never did."""
        row = self.db.execute("SELECT replicas FROM apps WHERE name = ?", (app.name,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def formation(self, app: App) -> dict[str, int]:
        """The scale ``nap ps scale`` set for process types other than web."""
        row = self.db.execute("SELECT formation FROM apps WHERE name = ?", (app.name,)).fetchone()
        return {str(k): int(v) for k, v in json.loads(row[0]).items()} if row else {}
