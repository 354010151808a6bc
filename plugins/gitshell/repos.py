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

#: The hook every repository gets. It names nap's own interpreter and nothing
#: else: no app name, no user value, the same bytes for every repository.
HOOK_TEMPLATE = """#!/bin/sh
# Installed by nap: a push deploys, and is rejected if the deploy fails.
exec {python} -m nap_gitshell.hook "$@"
"""


def hook_text() -> str:
    """The pre-receive hook's text for this installation of nap."""
    return HOOK_TEMPLATE.format(python=shlex.quote(sys.executable))


def ensure_repo(path: Path) -> Path:
    """Create the bare repository at ``path`` if missing, and (re)install its hook.

    ``path`` must have been built by nap from a validated app name.
    """
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=master", str(path)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    install_hook(path)
    return path


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
