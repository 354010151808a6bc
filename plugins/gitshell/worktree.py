"""``nap deploy APP PATH``: deploy a local work tree exactly as a push would.

HEAD of the work tree is pushed into the app's bare repository, whose
pre-receive hook runs the pipeline, as for a push over SSH. A HEAD the bare
repository already has (a redeploy) runs the pipeline on that revision
directly, since git would not run the hook for a push that changes nothing.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nap_core.config import Settings
from nap_core.errors import AlreadyReported, NapError
from nap_core.model import Request
from nap_core.names import check_app_name
from nap_core.output import Output
from nap_core.scratch import scratch_dir
from nap_gitshell.repos import ensure_repo, lock_pushes

#: What git's own push report looks like; the hook's lines come prefixed "remote: ".
REMOTE = "remote: "


class PushRejected(AlreadyReported):
    """The deploy failed and the push was rejected; its error line was already shown."""


def head_of(path: Path) -> str:
    """The commit HEAD names in the work tree at ``path``.

    One ``git rev-parse`` rather than GitPython: this runs before every local
    deploy, and the import would cost more than the answer.
    """
    if not path.is_dir():
        raise NapError(f"{path} is not a directory: give the path of the app's git work tree")
    inside = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
    )
    if inside.returncode != 0:
        raise NapError(f"{path} is not a git work tree: `git init` and commit the app")
    head = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        capture_output=True,
        text=True,
    )
    if head.returncode != 0:
        raise NapError(f"{path} has no commit yet: commit the app first")
    return head.stdout.strip()


def readable(path: Path) -> bool:
    """Whether this process may read the directory ``path``.

    A missing one counts as readable: the git checks that follow say what is wrong.
    """
    try:
        path.stat()
    except FileNotFoundError:
        return True
    except PermissionError:
        return False
    return os.access(path, os.R_OK | os.X_OK)


def branch_head(bare: Path, branch: str) -> str:
    """The commit the bare repository's deploy branch points at, or ''."""
    found = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip()


def deploy_worktree(
    app: str, path: Path, settings: Settings, environ: Mapping[str, str], output: Output
) -> dict[str, Any]:
    """Deploy HEAD of ``path`` as ``app``; return the release record."""
    check_app_name(app)
    if not readable(path):
        raise NapError(
            f"{path} is not readable by {getpass.getuser()}, the owner of {settings.home}: "
            "deploy from a directory it can read, or push over SSH"
        )
    head = head_of(path)
    bare = ensure_repo(settings.repo_path(app), int(settings.number("max_push_size")))
    branch = settings.branches[0]
    if branch_head(bare, branch) == head:
        return _redeploy(bare, head, settings, environ, output)
    with scratch_dir(settings.home) as private:
        result = Path(private) / "release.json"
        env = {**environ, "NAP_HOME": str(settings.home), "NAP_DEPLOY_RESULT": str(result)}
        # The same lock as a push over SSH: one push into the repository at a time.
        lock = lock_pushes(
            settings.home,
            app,
            lambda who: output.step(f"Waiting for a push to {app} ({who})"),
            settings.number("lock_timeout"),
        )
        try:
            _push(path, bare, f"+{head}:refs/heads/{branch}", env, output, result)
        finally:
            os.close(lock)
        if not result.exists():
            raise NapError("the push was accepted but nap did not report a release; check the hook")
        record: dict[str, Any] = json.loads(result.read_text())
        return record


def _redeploy(
    bare: Path, head: str, settings: Settings, environ: Mapping[str, str], output: Output
) -> dict[str, Any]:
    from nap_core.pipeline import deploy
    from nap_core.plugins import plugin_manager

    request = Request(kind="redeploy", repo=bare, revision=head)
    pm = plugin_manager(environ, settings=settings)
    return deploy(request, settings, pm, output).to_dict()


def _push(
    path: Path,
    bare: Path,
    refspec: str,
    env: Mapping[str, str],
    output: Output,
    result: Path | None = None,
) -> None:
    """Run git push, passing the hook's lines on as they come.

    The hook writes ``result`` when it ran: a failure without it is git's own
    (a damaged repository, a pack it refused), said in one ``error:`` line.
    """
    # Uncompressed: the pack only crosses a pipe to this host's receive-pack, which
    # stores the objects compressed anyway; zlib on a first push's binaries (a 2 MB
    # busybox) was 125 ms of a 0.8 s deploy.
    proc = subprocess.Popen(
        ["git", "-C", str(path), "-c", "pack.compression=0", "push", "--quiet", str(bare), refspec],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )
    assert proc.stderr is not None
    own_lines = []
    complaints = []
    for line in proc.stderr:
        if line.startswith(REMOTE):
            text = line[len(REMOTE) :].rstrip()
            if text.startswith(("error: ", "fatal: ")):
                complaints.append(text.split(": ", 1)[1])
            output.stream.write(text + "\n")
            output.stream.flush()
        else:
            own_lines.append(line.rstrip("\n"))
    if proc.wait() != 0:
        reported = result.read_text() if result is not None and result.exists() else ""
        if "rejected" in json.loads(reported or "{}"):
            raise PushRejected("the deploy failed")
        own = "; ".join(line for line in own_lines if line.strip())
        detail = (complaints[-1] if complaints else own) or "no detail"
        if reported:  # the hook deployed, then git could not move the branch
            raise NapError(f"the release serves, but git push into {bare} failed: {detail}")
        raise NapError(f"git push into {bare} failed: {detail}")
