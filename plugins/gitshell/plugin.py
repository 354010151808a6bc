"""gitshell's hooks: intake (which push deploys), fetch (the pushed tree), report."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.gitenv import isolated
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Push, Release, Request, Source
from nap_core.names import check_app_name
from nap_core.output import Output
from nap_core.quoting import shown
from nap_core.values import check_ref

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
    for _, _, ref in request.updates:
        check_ref(ref)  # a ref is shown in messages: refused whole if it is not plain
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
    checks (no ``..``, no ``.git``) protect the work directory. It runs with no
    system or global config (:mod:`nap_core.gitenv`): a pushed ``.gitattributes``
    cannot start a filter.
    """
    target = workdir / "src"
    target.mkdir()
    check_not_moved(push)
    git_dir = ["git", "--git-dir", str(push.repo)]
    work = [*git_dir, "--work-tree", str(target)]
    env = {**isolated(), "GIT_INDEX_FILE": str(workdir / "index")}
    tree = _git([*git_dir, "rev-parse", "--verify", f"{push.new}^{{tree}}"], env, push)
    _git([*work, "read-tree", push.new], env, push)
    _git([*work, "checkout-index", "--all"], env, push)
    return Source(app=push.app, revision=push.new, tree=tree.strip(), path=target)


def _git(argv: list[str], env: dict[str, str], push: Push) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip().split("\n")[-1][:200]
        raise NapError(f"cannot check out {push.new[:12]} of {push.app.name}: {reason}")
    return done.stdout


def check_not_moved(push: Push) -> None:
    """Refuse a push whose branch moved while it waited for the app's deploy lock.

    fetch runs under that lock. git-receive-pack moves the ref only if it still
    holds ``push.old``; a push that deployed now and then failed that check
    would leave a release running that the branch does not name. nap shell's
    push lock keeps SSH pushes apart; this covers anything else that writes
    into the repository.
    """
    argv = ["git", "--git-dir", str(push.repo), "rev-parse", "--verify", "--quiet", push.ref]
    done = subprocess.run(argv, capture_output=True, text=True, env=isolated(), check=False)
    now = done.stdout.strip() if done.returncode == 0 else ZERO
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
