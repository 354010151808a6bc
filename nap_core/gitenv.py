"""The environment nap runs git in when it reads or checks out a push.

No system or global configuration and an empty ``HOME``: only the bare
repository's own config (which nap writes) applies. So a pushed
``.gitattributes`` naming a filter (``filter=lfs``, or any other) starts
nothing: no filter is configured. Only the standard library, for ``nap shell``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: git's ``HOME``: a path under a file, so that nothing can ever exist below it.
#: git takes "not a directory" as it takes "no such file", without a warning; and
#: unlike an empty directory of its own, it is not left behind by a killed process.
EMPTY_HOME = os.devnull


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
        HOME=EMPTY_HOME,
    )
    for name in ("XDG_CONFIG_HOME", "GIT_CONFIG", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR"):
        env.pop(name, None)
    return env
