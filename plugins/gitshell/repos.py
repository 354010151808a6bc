"""The bare repositories under ``NAP_HOME/repos`` and their pre-receive hook.

Uses only the standard library and the ``git`` command: it runs inside
``nap shell`` on every push.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from nap_core.errors import NapError
from nap_core.gitenv import isolated
from nap_core.locks import take_push_lock

#: ``max_push_size``'s default: 512 MiB.
DEFAULT_MAX_PUSH = 512 << 20

#: The hook every repository gets. It names nap's own interpreter and nothing
#: else: no app name, no user value, the same bytes for every repository.
HOOK_TEMPLATE = """#!/bin/sh
# Installed by nap: a push deploys, and is rejected if the deploy fails.
exec {python} -I -m nap_gitshell.hook "$@"
"""


def hook_text() -> str:
    """The pre-receive hook's text for this installation of nap."""
    return HOOK_TEMPLATE.format(python=shlex.quote(sys.executable))


def ensure_repo(path: Path, max_input_size: int = DEFAULT_MAX_PUSH) -> Path:
    """Create the bare repository at ``path`` if missing, and (re)install its hook.

    ``path`` must have been built by nap from a validated app name.
    ``max_input_size`` (``max_push_size``) becomes ``receive.maxInputSize``: git
    refuses a larger pack while it receives it, before it is stored.
    """
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=master", str(path)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=isolated(),
        )
    check_sound(path)
    set_config(path, "receive.maxInputSize", str(max_input_size))
    install_hook(path)
    return path


def check_sound(path: Path) -> None:
    """Refuse a bare repository git cannot use, before any push goes into it.

    One ``git for-each-ref`` reading the type of every branch's commit: it fails,
    or warns, for a broken HEAD, a missing ``objects`` directory, a branch that
    is not a hash or names a missing object, and a truncated or empty object
    file, pack or pack index holding a branch's commit. Damage deeper in the
    history shows when git reads it, and fails the push then (never a hang:
    git reads local files).

    :raise NapError: the repository is damaged, with git's first complaint.
    """
    done = subprocess.run(
        ["git", "--git-dir", str(path), "for-each-ref", "--format=%(objecttype)", "refs/heads"],
        capture_output=True,
        text=True,
        env=isolated(),
        check=False,
    )
    if done.returncode == 0 and not done.stderr.strip():
        return
    raise NapError(_damaged(path, done.stderr, done.returncode))


def damage(path: Path, timeout: float = 30.0) -> str | None:
    """What is damaged in the repository's history, from ``git fsck
    --connectivity-only`` (bounded by ``timeout``); ``None`` if nothing is, or
    if it cannot tell in time. For after git refused a push on its own."""
    try:
        done = subprocess.run(
            ["git", "--git-dir", str(path), "fsck", "--connectivity-only", "--no-dangling"],
            capture_output=True,
            text=True,
            env=isolated(),
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    return _damaged(path, done.stderr, done.returncode) if done.returncode else None


def _damaged(path: Path, stderr: str, status: int) -> str:
    complaint = (stderr.strip().split("\n") or [""])[0]
    for prefix in ("error: ", "fatal: ", "warning: "):
        complaint = complaint.removeprefix(prefix)
    return (
        f"the repository of {path.name.removesuffix('.git')} is damaged "
        f"({complaint or f'git exited {status}'}): the server's operator can "
        f"move {path} away (nap makes a new one at the next push), then push again"
    )


def set_config(path: Path, key: str, value: str) -> None:
    """Set ``key`` in the repository's config, unless it already holds ``value``."""
    done = subprocess.run(
        ["git", "--git-dir", str(path), "config", "--get", key],
        capture_output=True,
        text=True,
        env=isolated(),
        check=False,
    )
    if done.stdout.strip() != value:
        subprocess.run(
            ["git", "--git-dir", str(path), "config", key, value], check=True, env=isolated()
        )


def install_hook(path: Path) -> None:
    """Write the pre-receive hook atomically, if it differs from what nap ships."""
    hook = path / "hooks" / "pre-receive"
    text = hook_text()
    try:
        if hook.read_text() == text:
            return
    except FileNotFoundError:
        pass
    hook.parent.mkdir(exist_ok=True)
    tmp = hook.with_name(f".pre-receive.{os.getpid()}")
    tmp.write_text(text)
    tmp.chmod(0o755)
    tmp.replace(hook)


#: The app's push lock (:func:`nap_core.locks.take_push_lock`): held from before
#: git advertises the refs until they are updated, so a second push starts only
#: after the first finished and sees the branch as the first left it. It is not
#: the deploy lock, which the pre-receive hook takes while this one is held.
lock_pushes = take_push_lock
