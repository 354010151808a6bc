"""gitshell's hooks: intake (which push deploys), fetch (the pushed tree), report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Push, Release, Request, Source
from nap_core.names import check_app_name
from nap_core.output import Output
from nap_core.quoting import shown

if TYPE_CHECKING:
    import click

ZERO = "0" * 40


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``nap deploy``, ``nap keys``, ``nap server`` and ``nap shell``."""
    from nap_gitshell.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


def app_of_repo(repo: Path) -> App:
    """The app a bare repository ``NAP_HOME/repos/APP.git`` belongs to."""
    name = repo.name.removesuffix(".git")
    return App(check_app_name(name))


@hookimpl
def intake(request: Request, settings: Settings) -> Push | None:
    """Accept a push to a deploy branch, or a redeploy of a known revision."""
    if request.kind == "redeploy":
        app = app_of_repo(request.repo)
        ref = f"refs/heads/{settings.branches[0]}"
        return Push(app, ref, request.revision, request.revision, request.repo, request.key)
    if request.kind != "pre-receive":
        return None
    app = app_of_repo(request.repo)
    branches = settings.branches
    deploy_refs = {f"refs/heads/{branch}" for branch in branches}
    if not request.updates:
        raise NapError("nothing was pushed")
    others = [ref for _, _, ref in request.updates if ref not in deploy_refs]
    if others:
        named = ", ".join(shown(ref) for ref in others[:3]) + (", ..." if len(others) > 3 else "")
        raise NapError(
            f"only pushes to {' or '.join(branches)} deploy, not {named}: "
            f"push with `git push nap HEAD:{branches[0]}`"
        )
    if len(request.updates) > 1:
        raise NapError(f"push one of {' or '.join(branches)} at a time")
    old, new, ref = request.updates[0]
    if new == ZERO:
        raise NapError(f"{ref.removeprefix('refs/heads/')} cannot be deleted: it is what deploys")
    return Push(app, ref, old, new, request.repo, request.key)


@hookimpl
def fetch(push: Push, workdir: Path) -> Source | None:
    """Materialise exactly ``push.new`` from the bare repository (never a client's tree).

    git itself checks the files out, through a throwaway index, so its own path
    checks (no ``..``, no ``.git``) protect the work directory.
    """
    import git

    target = workdir / "src"
    target.mkdir()
    base = ["git", "--git-dir", str(push.repo), "--work-tree", str(target)]
    runner = git.Git()
    check_not_moved(push)
    try:
        tree = runner.execute(
            ["git", "--git-dir", str(push.repo), "rev-parse", f"{push.new}^{{tree}}"]
        )
        with runner.custom_environment(GIT_INDEX_FILE=str(workdir / "index")):
            runner.execute([*base, "read-tree", push.new])
            runner.execute([*base, "checkout-index", "--all"])
    except git.GitCommandError as exc:
        raise NapError(
            f"cannot check out {push.new[:12]} of {push.app.name}: {exc.stderr.strip()}"
        ) from exc
    return Source(app=push.app, revision=push.new, tree=str(tree).strip(), path=target)


def check_not_moved(push: Push) -> None:
    """Refuse a push whose branch moved while it waited for the app's deploy lock.

    fetch runs under that lock. git-receive-pack moves the ref only if it still
    holds ``push.old``; a push that deployed now and then failed that check
    would leave a release running that the branch does not name. nap shell's
    push lock keeps SSH pushes apart; this covers anything else that writes
    into the repository.
    """
    import git

    argv = ["git", "--git-dir", str(push.repo), "rev-parse", "--verify", "--quiet", push.ref]
    try:
        now = str(git.Git().execute(argv)).strip()
    except git.GitCommandError:  # the branch does not exist (any more)
        now = ZERO
    if now != push.old:
        branch = push.ref.removeprefix("refs/heads/")
        raise NapError(
            f"{branch} moved to {now[:12]} while this push waited: fetch, merge and push again"
        )


@hookimpl
def report(release: Release, current: bool, output: Output) -> None:
    """Hand the release record back to a local ``nap deploy`` that asked for it.

    ``nap deploy`` sets ``NAP_DEPLOY_RESULT`` to a file in a private directory of
    its own; over SSH the variable is never set (sshd passes no environment).
    """
    path = os.environ.get("NAP_DEPLOY_RESULT")
    if path:
        Path(path).write_text(json.dumps(release.to_dict(current=current)))
