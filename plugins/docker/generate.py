"""What an app type that generates a Dockerfile needs: reading the pushed tree's
files safely, the ``Procfile``'s web command, quoting it into the Dockerfile,
and choosing a base image for a requested language version.

Every value from the push that reaches a generated Dockerfile goes through
:func:`cmd_line` (JSON, the exec form's own quoting) or is validated by a
pattern first (versions); nothing is pasted in as it came.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path

from nap_core.errors import BuildFailed

#: The most nap reads of a dependency or metadata file at the root of a push.
MAX_FILE = 512 * 1024
#: The longest web command nap accepts from a Procfile.
MAX_COMMAND = 4096
#: A Procfile line: ``name: command`` (Heroku's format).
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):[ \t]*(.*)$")
#: A language version an app may ask for (``3.12``, ``3.12.1``, ``20``).
VERSION = re.compile(r"^\d{1,3}(?:\.\d{1,3}){0,2}$")
#: A base image reference an operator may configure.
IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")
#: An official-style tag whose version can be swapped: ``3.14-slim``, ``24-slim``, ``3.12``.
VERSIONED_TAG = re.compile(r"^(?P<version>\d+(?:\.\d+){0,2})(?P<variant>-[a-z0-9.-]+)?$")


def read_root_file(root: Path, name: str, limit: int = MAX_FILE) -> bytes | None:
    """The content of the regular file ``name`` at the root of the checked-out tree.

    ``None`` if there is none. A symlink, a directory or a file over ``limit``
    bytes fails the build: nap never reads through a link a push made.
    """
    try:
        fd = os.open(root / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BuildFailed(f"{name} is a symbolic link: commit the file itself") from None
        raise BuildFailed(f"cannot read {name} ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BuildFailed(f"{name} is not a regular file")
        raise BuildFailed(f"{name} is larger than {limit} bytes")
    with os.fdopen(fd, "rb") as file:
        return file.read(limit)


def read_text(root: Path, name: str) -> str | None:
    """:func:`read_root_file` decoded as UTF-8 (a file that is not fails the build)."""
    data = read_root_file(root, name)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BuildFailed(f"{name} is not UTF-8 text") from None


def procfile_web(text: str) -> str | None:
    """The ``web:`` command of a Procfile's text, or ``None`` if it has none.

    Only the web line is read here (process types are the core's business).
    Lines are split on ``\\n`` alone, so no other character starts a line.
    """
    for raw in text.split("\n"):
        line = raw.removesuffix("\r")
        match = PROCFILE_LINE.match(line)
        if match is None or match.group(1) != "web":
            continue
        command = match.group(2).strip()
        if not command:
            raise BuildFailed("the Procfile's web line has no command")
        if len(command) > MAX_COMMAND:
            raise BuildFailed(f"the Procfile's web command is longer than {MAX_COMMAND} characters")
        if any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in command):
            raise BuildFailed("the Procfile's web command contains control characters")
        return command
    return None


def procfile_command(root: Path) -> str | None:
    """The ``web:`` command of the tree's Procfile, or ``None`` (no Procfile, no web line)."""
    text = read_text(root, "Procfile")
    return procfile_web(text) if text is not None else None


def web_command(root: Path, default: str) -> tuple[str, str]:
    """The command the ``web`` process runs, and where it came from (for the push output)."""
    command = procfile_command(root)
    return (command, "Procfile") if command is not None else (default, "default")


def cmd_line(command: str) -> str:
    """The Dockerfile ``CMD`` running ``command`` through ``/bin/sh -c``, as Heroku runs
    Procfile commands (``$PORT`` expands). JSON is the exec form's own quoting."""
    return "CMD " + json.dumps(["/bin/sh", "-c", command])


def check_image_ref(value: str, setting: str) -> str:
    """A base image reference from the configuration, validated."""
    if not IMAGE_REF.match(value):
        raise BuildFailed(f"{setting} is not an image reference: {value!r}")
    return value


def with_version(base: str, version: str) -> str | None:
    """``base`` with its tag's version replaced by ``version`` (``python:3.14-slim``
    and ``3.12`` give ``python:3.12-slim``), or ``None`` when the tag has no version
    to replace (``myorg/python:latest``)."""
    if not VERSION.match(version):
        return None
    name, sep, tag = base.rpartition(":")
    if not sep or "/" in tag or "@" in base:
        return None
    match = VERSIONED_TAG.match(tag)
    if match is None:
        return None
    return f"{name}:{version}{match.group('variant') or ''}"


def choose_base(base: str, setting: str, wanted: str | None, origin: str) -> tuple[str, str]:
    """The base image to build FROM, and a line for the push saying which version it gives.

    :param base: the configured base image (``python.base_image``).
    :param wanted: the version the app asked for (``runtime.txt``...), or ``None``.
    :param origin: where the app asked for it, for the message.
    """
    check_image_ref(base, setting)
    if wanted is None:
        return base, f"using {base} ({setting})"
    if not VERSION.match(wanted):
        raise BuildFailed(f"{origin} asks for version {wanted[:40]!r}, which is not like 3.12")
    chosen = with_version(base, wanted)
    if chosen is None:
        return base, f"{origin} asks for {wanted}; {base} ({setting}) decides the version"
    return chosen, f"{origin} asks for {wanted}: using {chosen}"
