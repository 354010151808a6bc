"""Day-2 operations, the one front door for the CLI and SSH (config, rollback, scale,
instances, logs, stop/start/restart, destroy); the only caller of day-2 scheduler hooks.
Config, rollback and scale go through :mod:`nap_core.lifecycle` as a deploy does: their
change becomes the app's only once the new release serves, so a failed one changes nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

import attrs

from nap_core import drain, lifecycle, recovery, routing
from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.locks import app_lock, if_free, push_lock
from nap_core.model import Action, App, Instance, Release
from nap_core.names import check_config_key
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.procfile import check_type_name
from nap_core.proctable import WEB
from nap_core.state import Change, State
from nap_core.values import check_config_value

#: The most instances ``nap ps scale`` runs of an app.
MAX_REPLICAS = 100


@attrs.frozen
class ReleaseRow:
    """One line of ``nap releases``: a release, what it is now, and where the
    current one runs (``None`` when its scheduler could not say)."""

    release: Release
    status: str
    live: tuple[Instance, ...] | None = None


@attrs.frozen
class Operations:
    """Day-2 work on the apps of one NAP_HOME, with the active plugins."""

    settings: Settings
    pm: PluginManager
    output: Output

    @contextmanager
    def app(
        self, name: str, *, locked: bool = False, create: bool = False
    ) -> Iterator[tuple[State, App]]:
        """The state and the app ``name`` for the duration of the block.

        :param locked: hold the app's push and deploy locks, as anything that
            makes a release or removes the app must (in a push's order).
        :param create: record an app nap has not seen yet, instead of refusing it.
        """
        app = App(name)
        state = State(self.settings.home)
        try:
            if create:
                state.ensure_app(app)
            elif not state.has_app(app.name):
                raise NapError(f"no app named {app.name}: deploy it first (`nap apps` lists apps)")
            if locked:
                timeout = self.settings.number("lock_timeout")

                def waiting(who: str) -> None:
                    self.output.step(f"Waiting for {app.name}'s lock, held by {who}")

                with (
                    push_lock(self.settings.home, app.name, waiting, timeout),
                    app_lock(self.settings.home, app.name, waiting, timeout),
                ):
                    recovery.recover(state, app, self.settings, self.pm, self.output)
                    yield state, app
            else:
                self._clean_up_after_the_dead(state, app)
                yield state, app
        finally:
            state.close()

    def _clean_up_after_the_dead(self, state: State, app: App) -> None:
        """A deploy that died shows as failed at once; what it left running goes
        now if no deploy of the app holds its locks (else that deploy cleans up),
        and so does a release whose drain died."""
        dead = state.fail_dead(app)
        if not dead and not drain.abandoned(self.settings, app):
            return
        with if_free(self.settings.home, app.name) as free:
            if free:
                recovery.recover(state, app, self.settings, self.pm, self.output, dead)

    # Reading

    def apps(self) -> list[tuple[str, int | None]]:
        """Every app with the number of the release it serves (``None``: not deployed)."""
        state = State(self.settings.home)
        try:
            rows = state.db.execute("SELECT name, current FROM apps ORDER BY name")
            return [(name, current) for name, current in rows]
        finally:
            state.close()

    def releases(self, name: str) -> list[ReleaseRow]:
        """The app's releases, newest first; the current one with its live instances."""
        with self.app(name) as (state, app):
            serving = state.current(app)
            found = state.releases(app)
        current = serving.number if serving else None
        rows = []
        for release in found:
            live = None
            if release.number == current and release.scheduler == self.settings.scheduler:
                try:
                    live = tuple(self.instances(name))
                except NapError as exc:
                    self.output.line(f"warning: cannot ask where instances run: {exc}")
            rows.append(ReleaseRow(release, _status(release, current), live))
        return rows

    def config(self, name: str) -> dict[str, str]:
        """The app's config vars (the CLI masks them unless asked)."""
        with self.app(name) as (state, app):
            return state.config(app)

    def instances(self, name: str) -> list[Instance]:
        """Where the app's instances run now, read from its scheduler."""
        with self.app(name) as (state, app):
            release = _current(state, app)
        found = self.pm.hook.instances(app=app, release=release, settings=self.settings)
        return list(found or ())

    def logs(self, name: str, follow: bool, lines: int, stream: TextIO) -> None:
        """Write the app's logs to ``stream``."""
        with self.app(name) as (state, app):
            release = _current(state, app)
        self.pm.hook.logs(
            app=app, release=release, settings=self.settings, follow=follow, lines=lines,
            stream=stream,
        )  # fmt: skip

    # Changing

    def change_config(
        self, name: str, set_vars: Mapping[str, str] | None = None, unset: list[str] | None = None
    ) -> Release | None:
        """Set and unset config vars; roll out a release with them if the app runs."""
        for key in [*(set_vars or {}), *(unset or [])]:
            check_config_key(key)
        for key, value in (set_vars or {}).items():
            check_config_value(value, f"the value of config var {key}")
        # Config may come before the first push (a database URL the app needs to
        # start), so an app nap has not seen yet is created here, as by a push.
        with self.app(name, locked=True, create=True) as (state, app):
            env = state.config(app)
            missing = [key for key in unset or [] if key not in env]
            if missing:
                raise NapError(f"{app.name} has no config var {', '.join(missing)}")
            env.update(set_vars or {})
            for key in unset or []:
                env.pop(key)
            return self._again(state, app, Change(env=env), "Config changed", phases=True)

    def rollback(self, name: str, number: int | None) -> Release:
        """Run release ``number`` (default: the one before the current) again: its
        image and its config vars, as a new release, without a build."""
        with self.app(name, locked=True) as (state, app):
            current = _current(state, app)
            if number is None:
                older = [
                    r
                    for r in state.releases(app)
                    if r.number < current.number and r.status == "succeeded"
                ]
                if not older:
                    raise NapError(f"{app.name} has no release before {current.number}")
                number = older[0].number
            target = state.release(app, number) if 0 < number < 2**63 else None
            if target is None or target.status != "succeeded":
                raise NapError(
                    f"{app.name} has no release {number} that ran: `nap releases {app.name}`"
                )
            change = Change(env=state.release_config(app, number))
            return lifecycle.release_again(
                state, target, change, self.settings, self.pm, self.output,
                f"Rolling back to {number}",
            )  # fmt: skip

    def scale(self, name: str, counts: int | Mapping[str, int]) -> Release | None:
        """Set how many instances of each process type run (a number: web's) and
        roll out a release that runs that many. Types not named keep their scale."""
        wanted = {WEB: counts} if isinstance(counts, int) else dict(counts)
        for process, count in wanted.items():
            check_type_name(process)
            if not 0 <= count <= MAX_REPLICAS:
                raise NapError(
                    f"{process} must be scaled to between 0 and {MAX_REPLICAS}, not {count}"
                )
        with self.app(name, locked=True) as (state, app):
            current = state.current(app)
            known = current.processes.names if current else tuple(wanted)
            unknown = [process for process in wanted if process not in known]
            if unknown:
                raise NapError(
                    f"{app.name} has no process type {unknown[0]}: its Procfile has "
                    f"{', '.join(known)}"
                )
            others = {k: v for k, v in wanted.items() if k != WEB}
            change = Change(replicas=wanted.get(WEB), formation=others or None)
            why = "Scaling " + " ".join(f"{k}={v}" for k, v in wanted.items())
            return self._again(state, app, change, why)

    def formation(self, name: str) -> list[tuple[str, int]]:
        """Each process type of the current release with how many instances it runs."""
        with self.app(name) as (state, app):
            release = _current(state, app)
            config = lifecycle.app_config(state, app, self.settings, processes=release.processes)
        return [(process, config.scale(process)) for process in release.processes.names]

    def run(self, name: str, command: tuple[str, ...]) -> int:
        """Run ``command`` in a one-off container of the current release with the
        app's config, attached to this process's stdin and stdout; its exit status."""
        if not command:
            raise NapError("say what to run: nap run APP -- COMMAND [ARGS...]")
        with self.app(name) as (state, app):
            release = _current(state, app)
            config = lifecycle.app_config(state, app, self.settings, processes=release.processes)
        if release.image is None or release.pruned:
            raise NapError(f"the image of release {release.number} is gone: push {app.name} again")
        status = self.pm.hook.run_once(
            app=app, image=release.image, release=release, config=config, command=command,
            settings=self.settings, output=None,
        )  # fmt: skip
        return int(status or 0)

    def control(self, name: str, action: Action) -> list[Instance]:
        """Stop, start or restart the app's current release."""
        with self.app(name, locked=True) as (state, app):
            release = _current(state, app)
            found = list(
                self.pm.hook.control(
                    app=app, release=release, action=action, settings=self.settings,
                    output=self.output,
                ) or ()
            )  # fmt: skip
            settings, pm, output = self.settings, self.pm, self.output
            routing.after_control(state, release, action, found, settings, pm, output)
            return found

    def destroy(self, name: str, volumes: bool) -> None:
        """Remove everything of an app: what runs, its images, its repo, its state."""
        with self.app(name, locked=True) as (state, app):
            self.output.step(f"Destroying {app.name}")
            self.pm.hook.destroy(
                app=app, settings=self.settings, volumes=volumes, output=self.output
            )
            for release in state.releases(app):
                if release.image is not None and not release.pruned:
                    self.pm.hook.unpublish(
                        image=release.image, settings=self.settings, output=self.output
                    )
            shutil.rmtree(self.settings.repo_path(app.name), ignore_errors=True)
            shutil.rmtree(self.settings.app_dir(app.name), ignore_errors=True)
            state.delete_app(app.name)
            routing.update(state, app, self.settings, self.pm, self.output)
            shutil.rmtree(self.settings.home / "router" / "certs" / app.name, ignore_errors=True)
            self.output.done(f"{app.name} is gone")

    def _again(
        self, state: State, app: App, change: Change, why: str, phases: bool = False
    ) -> Release | None:
        """Roll the current release's image out again with ``change``; commit the
        change alone if the app has never run (it then applies from its first deploy)."""
        base = state.current(app)
        if base is None:
            state.commit(app, change)
            return None
        return lifecycle.release_again(
            state, base, change, self.settings, self.pm, self.output, why, phases
        )


def _current(state: State, app: App) -> Release:
    release = state.current(app)
    if release is None:
        raise NapError(f"{app.name} has no release yet: push it first")
    return release


def _status(release: Release, current: int | None) -> str:
    """current, previous (it served once) or failed, for display."""
    if release.number == current:
        return "current"
    if release.status == "succeeded":
        return "previous"
    return release.status
