"""The environment nap runs git in when it reads or checks out a push.

No system or global configuration and an empty ``HOME``: only the bare
repository's own config (which nap writes) applies. So a pushed
``.gitattributes`` naming a filter (``filter=lfs``, or any other) starts
nothing: no filter is configured. Only the standard library, for ``nap shell``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping

_empty_home: list[str] = []


def empty_home() -> str:
    """An empty directory of this process's own, removed when it exits."""
    if not _empty_home:
        path = tempfile.mkdtemp(prefix="nap-git-home-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _empty_home.append(path)
    return _empty_home[0]


def isolated(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) for git: no system or global config,
    no system attributes, an empty ``HOME``, never a prompt.

    Variables git itself set for a hook (``GIT_DIR``, the quarantine's object
    directories) are kept: the pre-receive hook reads the pushed objects through them.
    """
    env = dict(os.environ if environ is None else environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        HOME=empty_home(),
    )
    for name in ("XDG_CONFIG_HOME", "GIT_CONFIG", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR"):
        env.pop(name, None)
    return env
