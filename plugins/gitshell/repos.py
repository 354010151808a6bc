"""The bare repositories under ``NAP_HOME/repos`` and their pre-receive hook.

Uses only the standard library and the ``git`` command: it runs inside
``nap shell`` on every push.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from nap_core.gitenv import isolated
from nap_core.locks import DEFAULT_TIMEOUT, take_push_lock

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
    set_config(path, "receive.maxInputSize", str(max_input_size))
    install_hook(path)
    return path


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


def lock_pushes(
    home: Path,
    app: str,
    waiting: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    doing: str = "",
) -> int:
    """Take the app's push lock, waiting for it if taken; return the locked descriptor.

    A push holds it from before git advertises the refs until the refs are
    updated, so a second push to the app starts only after the first has
    finished and sees the branch as the first left it: git then either
    fast-forwards it (and the hook deploys) or refuses the push with "fetch
    first". The lock is released when the descriptor is closed, which the
    kernel does when its holder (``git-receive-pack``, via exec) exits.

    This is not the deploy lock of :mod:`nap_core.locks`: the pre-receive hook
    takes that one while this is held.
    """
    return take_push_lock(home, app, waiting, timeout, doing)
