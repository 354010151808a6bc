"""Where nap keeps its state, using only the standard library.

``nap shell`` (every SSH command) needs ``NAP_HOME`` before it hands over to
git, and must not import attrs or tomllib for it; :mod:`nap_core.config`
re-exports these functions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from nap_core.errors import NapError

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
    """:func:`setting` as a number (:func:`checked_number`)."""
    return checked_number(key, setting(environ, home, key, str(default)))


#: The most seconds a setting may hold: a year. Past about 10**9 s the kernel's
#: clocks overflow, and a deadline would fail where it is reached, as a bug.
MAX_SECONDS = 365 * 24 * 3600
#: The settings in seconds whose names do not end in ``_timeout``.
SECONDS = frozenset({"router.drain", "router.try_duration", "swarm.monitor"})


def checked_number(key: str, text: str) -> float:
    """``text``, the value of setting ``key``, as a number.

    Every number nap reads is a count, a size, a port or seconds: ``inf``,
    ``nan``, a negative one, or one past its kind's bound would reach a socket or a
    deadline and fail there, as a bug.

    :raise NapError: one line naming the key and the value.
    """
    try:
        found = float(text)
    except ValueError:
        raise NapError(f"{key} must be a number, not {text!r}") from None
    if not math.isfinite(found) or found < 0:
        raise NapError(f"{key} must be a finite number of at least 0, not {text!r}")
    if key.endswith("_timeout") or key in SECONDS:
        bound, kind = MAX_SECONDS, "seconds (a year)"
    elif key.endswith("port"):
        bound, kind = 65535, "(a TCP port)"
    else:
        bound, kind = 2**53, "(a count or a size in bytes)"
    if found > bound:
        raise NapError(f"{key} must be at most {bound} {kind}, not {text!r}")
    return found


def repo_path(home: Path, app: str) -> Path:
    """The bare repository of a (validated) app name under ``home``."""
    return home / "repos" / f"{app}.git"


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return ""
