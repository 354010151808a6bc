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


def setting(environ: Mapping[str, str], home: Path, key: str, default: str) -> str:
    """A top-level setting as :class:`nap_core.config.Settings` reads it (``NAP_KEY``,
    else ``nap.toml``, else ``default``), for ``nap shell``: tomllib loads only
    when there is a ``nap.toml``."""
    value = environ.get("NAP_" + key.upper())
    if value is not None:
        return value
    path = home / "nap.toml"
    if not path.is_file():
        return default
    import tomllib

    try:
        found = tomllib.loads(path.read_text()).get(key, default)
    except (OSError, tomllib.TOMLDecodeError):
        return default
    return str(found)


def number(environ: Mapping[str, str], home: Path, key: str, default: float) -> float:
    """:func:`setting` as a number; ``default`` if it is not one."""
    try:
        return float(setting(environ, home, key, str(default)))
    except ValueError:
        return default


def repo_path(home: Path, app: str) -> Path:
    """The bare repository of a (validated) app name under ``home``."""
    return home / "repos" / f"{app}.git"


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return ""
