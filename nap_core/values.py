"""What the values of a push or a user may be: VOLUME paths, EXPOSE ports,
config values, labels, refs.

Each check returns the value if it is what it may be, else raises
:class:`~nap_core.errors.NapError` with one line naming the value's place and
a short prefix of it. Values are refused whole, never cleaned up. Names (apps,
keys, config keys) are checked in :mod:`nap_core.names`; quoting for a target
is :mod:`nap_core.quoting`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nap_core.errors import NapError
from nap_core.quoting import refuse_controls, shown

#: A VOLUME path: absolute, path components of these characters only (no
#: spaces, ':' or ',' that docker's --volume syntax would read).
VOLUME_PART = re.compile(r"[A-Za-z0-9._@+=-]+")
VOLUME_MAX = 255
#: How many VOLUMEs an image may declare.
VOLUMES_MAX = 16
#: An EXPOSE entry as the image config holds it.
PORT_SPEC = re.compile(r"([0-9]{1,5})/(tcp|udp|sctp)")
#: The longest config value nap stores (an env file line must stay under 64 KiB).
CONFIG_VALUE_MAX = 32 * 1024
#: A label key or value nap writes.
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/=|-]{0,127}")
#: A ref a push may name (git's own rules are wider; only branches deploy).
REF = re.compile(r"refs/[A-Za-z0-9._/-]{1,200}")


def check_volume_path(path: str, where: str) -> str:
    """A VOLUME path of an image: absolute, no ``.``/``..`` parts, safe characters."""
    refuse_controls(path, f"{where}: a VOLUME path", allow_tab=False)
    parts = path.split("/")
    if (
        len(path) > VOLUME_MAX
        or not path.startswith("/")
        or path == "/"
        or any(part in (".", "..") for part in parts[1:])
        or not all(VOLUME_PART.fullmatch(part) for part in parts[1:] if part)
        or "//" in path
    ):
        raise NapError(
            f"{where}: VOLUME path {shown(path)} is not an absolute path of letters, digits "
            f"and . _ @ + = - (at most {VOLUME_MAX} characters)"
        )
    return path


def check_volumes(paths: Iterable[str], where: str) -> tuple[str, ...]:
    """Every VOLUME path of an image, checked; at most :data:`VOLUMES_MAX` of them."""
    found = tuple(sorted(paths))
    if len(found) > VOLUMES_MAX:
        raise NapError(f"{where} declares {len(found)} VOLUMEs; nap mounts at most {VOLUMES_MAX}")
    return tuple(check_volume_path(path, where) for path in found)


def check_ports(specs: Iterable[str], where: str, limit: int) -> tuple[int, ...]:
    """The TCP ports of an image's EXPOSE entries (``8080/tcp``), checked.

    An image exposing more than ``limit`` ports (``max_ports``; ``EXPOSE
    1000-2000`` exposes 1001) is refused: nap publishes every one of them.
    """
    found = list(specs)
    if len(found) > limit:
        raise NapError(
            f"{where} exposes {len(found)} ports; nap publishes at most {limit} "
            "(max_ports): EXPOSE only the ports the app listens on"
        )
    ports = set()
    for spec in found:
        match = PORT_SPEC.fullmatch(spec)
        if match is None or not 1 <= int(match[1]) <= 65535:
            raise NapError(f"{where}: EXPOSE {shown(spec)} is not PORT/tcp with PORT in 1-65535")
        if match[2] == "tcp":
            ports.add(int(match[1]))
    return tuple(sorted(ports))


def check_config_value(value: str, where: str) -> str:
    """A config var's value: one line (no line breaks or controls but tab), at most
    :data:`CONFIG_VALUE_MAX` characters."""
    refuse_controls(value, where)
    if len(value) > CONFIG_VALUE_MAX:
        raise NapError(f"{where} is longer than {CONFIG_VALUE_MAX} characters")
    return value


def check_label(text: str, where: str) -> str:
    """A label key or value nap writes on containers, services and units."""
    if not LABEL.fullmatch(text):
        raise NapError(f"{where}: {shown(text)} is not a label of letters, digits and ._/=|-")
    return text


def check_ref(ref: str) -> str:
    """A ref a push names: ``refs/...`` of plain characters."""
    if not REF.fullmatch(ref) or ".." in ref or ref.endswith((".lock", "/", ".")):
        raise NapError(f"the pushed ref {shown(ref)} is not a branch nap deploys")
    return ref
