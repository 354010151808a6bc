"""What runs once around a release's roll-out, each in a one-off container
through the scheduler's ``run_once``: app.json's ``predeploy`` and the
Procfile's ``release`` command before any new process starts (a failure fails
the release, the old one keeps serving), app.json's ``postdeploy`` once the
release serves.

They run for a deploy and a config change (Heroku makes a release of both and
runs its release phase for each); not for a rollback (old code would run its
migrations against a newer schema) nor a scale or restart (no new release
content).
"""

from __future__ import annotations

import shlex

from nap_core.config import Settings
from nap_core.errors import DeployFailed, NapError, NoScheduler, what_serves
from nap_core.model import AppConfig, Image, Release
from nap_core.output import Output
from nap_core.plugins import PluginManager


def before_start(
    release: Release,
    image: Image,
    config: AppConfig,
    previous: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> None:
    """Run predeploy, then the release command; raise DeployFailed if one fails."""
    table = release.processes
    still = what_serves(previous.number if previous else None)
    for what, command in (("predeploy", table.predeploy), ("release", table.release)):
        try:
            status = run_once(release, image, config, command, what, settings, pm, output)
        except DeployFailed as exc:
            raise DeployFailed(f"{exc}; {still}") from exc
        if status:
            raise DeployFailed(f"the {what} command exited with status {status}; {still}")


def run_once(
    release: Release,
    image: Image,
    config: AppConfig,
    command: tuple[str, ...],
    what: str,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> int:
    """Run a release's one-off ``command`` (none: nothing, 0) through the scheduler,
    its output into the push; return its exit status."""
    if not command:
        return 0
    output.step(f"Running the {what} command of release {release.number}: {shlex.join(command)}")
    try:
        status = pm.hook.run_once(
            app=release.app, image=image, release=release, config=config, command=command,
            settings=settings, output=output,
        )  # fmt: skip
    except DeployFailed as exc:
        raise DeployFailed(f"the {what} command failed: {exc}") from exc
    if status is None:
        raise NoScheduler(f"the scheduler {settings.scheduler!r} cannot run one-off commands")
    return int(status)


def after_switch(
    release: Release, config: AppConfig, settings: Settings, pm: PluginManager, output: Output
) -> None:
    """Run app.json's postdeploy script once the release serves. It cannot undo
    the switch: a failure is reported, and the new release keeps serving."""
    assert release.image is not None
    command = release.processes.postdeploy
    try:
        status = run_once(
            release, release.image, config, command, "postdeploy", settings, pm, output
        )
    except NapError as exc:  # a deadline passed, a scheduler without one-offs
        output.line(f"warning: {exc}; release {release.number} serves anyway")
        return
    if status:
        output.line(
            f"warning: the postdeploy command exited with status {status}; "
            f"release {release.number} serves anyway"
        )
