"""Where nap keeps its state, using only the standard library.

``nap shell`` (every SSH command) needs ``NAP_HOME`` before it hands over to
git, and must not import attrs or tomllib for it; :mod:`nap_core.config`
re-exports these functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The system user that receives pushes (``nap server setup`` creates it).
NAP_USER = "nap"
#: The state directory of root and of the ``nap`` user: both see the same apps.
SYSTEM_HOME = Path("/var/lib/nap")


def default_home() -> Path:
    """``/var/lib/nap`` for root and for the ``nap`` user, else ``~/.local/share/nap``."""
    if os.geteuid() == 0 or _user_name() == NAP_USER:
        return SYSTEM_HOME
    return Path.home() / ".local" / "share" / "nap"


def home_from(environ: Mapping[str, str]) -> Path:
    """The state directory: ``NAP_HOME`` or the default."""
    value = environ.get("NAP_HOME")
    return Path(value) if value else default_home()


def repo_path(home: Path, app: str) -> Path:
    """The bare repository of a (validated) app name under ``home``."""
    return home / "repos" / f"{app}.git"


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return ""
