"""The ``Procfile``: the one parser of it, for every app type.

Heroku's format: ``name: command`` lines; blank lines and lines starting with
``#`` are ignored. Names are process types (``^[a-z][a-z0-9-]{0,29}$``);
``release`` is the release phase's command, not a process type. A command is
split into words like a POSIX shell would split it (quotes, no expansion) and
replaces the image's CMD; the image's ENTRYPOINT, if any, still runs first
(Dokku's rule for Dockerfile apps). For app types whose images are built the
Heroku way (``shell=True``) a command runs as ``/bin/sh -c COMMAND`` instead,
so ``$PORT`` expands.

The file is read from the pushed tree as a git blob, never through the
checkout, and is refused above ``max_read_size`` bytes or as a symlink.
"""

from __future__ import annotations

import re

from nap_core.errors import NapError
from nap_core.model import Tree
from nap_core.proctable import WEB, Process, ProcessTable
from nap_core.tree import READ_MAX

FILENAME = "Procfile"
#: The release phase's entry: run once per deploy, not a process type.
RELEASE = "release"
#: Heroku's line shape; the name is then checked against :data:`TYPE_NAME`.
LINE = re.compile(r"^([A-Za-z0-9_.-]+)[ \t]*:[ \t]*(.*)$")
TYPE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
#: How many bytes a Procfile or app.json may have, unless ``max_read_size`` says otherwise.
FILE_LIMIT = READ_MAX


def check_type_name(name: str) -> str:
    """``name`` if it is a valid process type name, else :class:`NapError`."""
    if not TYPE_NAME.fullmatch(name):
        raise NapError(
            f"{name[:40]!r} is not a process type name: lowercase letters, digits and '-', "
            "starting with a letter, at most 30 characters"
        )
    return name


def split_command(command: str, where: str, shell: bool = False) -> tuple[str, ...]:
    """A command line as words (quotes honoured, nothing expanded), or with ``shell``
    as ``/bin/sh -c COMMAND``; ``where`` names it in errors."""
    import shlex

    if any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in command):
        raise NapError(f"{where}: the command contains control characters")
    if shell:
        if not command.strip():
            raise NapError(f"{where}: the command is empty")
        return ("/bin/sh", "-c", command.strip())
    try:
        words = tuple(shlex.split(command, comments=False, posix=True))
    except ValueError as exc:
        raise NapError(f"{where}: cannot split the command ({exc})") from None
    if not words:
        raise NapError(f"{where}: the command is empty")
    return words


def parse(text: str, shell: bool = False) -> ProcessTable:
    """Read a Procfile; raise :class:`NapError` naming the bad line. With ``shell``,
    each command runs as ``/bin/sh -c COMMAND`` (Heroku's rule), else as its words."""
    processes: dict[str, tuple[str, ...]] = {}
    release: tuple[str, ...] = ()
    # Only "\n" ends a line: str.splitlines() would also split on form feeds and
    # other separators that a hostile file could hide inside a command.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r").strip(" \t")
        if not line or line.startswith("#"):
            continue
        where = f"Procfile line {number}"
        match = LINE.match(line)
        if match is None:
            raise NapError(f"{where}: expected 'name: command'")
        name, command = match.groups()
        try:
            check_type_name(name)
        except NapError as exc:
            raise NapError(f"{where}: {exc}") from None
        if name in processes or (name == RELEASE and release):
            raise NapError(f"{where}: {name} is defined twice")
        words = split_command(command, where, shell)
        if name == RELEASE:
            release = words
        else:
            processes[name] = words
    # web always exists: from the Procfile, else the image's CMD (Dokku's rule).
    web = Process(WEB, processes.pop(WEB, ()))
    others = tuple(Process(name, words) for name, words in processes.items())
    return ProcessTable(processes=(web, *others), release=release)


def read(tree: Tree, limit: int = FILE_LIMIT, shell: bool = False) -> ProcessTable:
    """The process table of the pushed tree: its Procfile's, else one ``web`` (the CMD)."""
    data = tree.read(FILENAME, limit)
    if data is None:
        return ProcessTable()
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise NapError("Procfile is not UTF-8 text") from None
    return parse(text, shell)
