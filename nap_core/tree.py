"""The pushed revision as git stores it: read before anything is checked out.

Files nap itself reads (``CHECKS``, and the ``Dockerfile`` and
``.dockerignore`` the build reads from the checkout) are read here as git
blobs, with a size cap, never through the file system: a symlink in the push
is a symlink blob here, refused, and cannot make nap read ``/dev/zero`` or its
own database. :meth:`Tree.check_bounds` reads the size and entry count of the
whole tree from git, stopping at the caps, so a "git bomb" (a small pack whose
tree repeats one subtree) is refused before a single file is written.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from nap_core.errors import NapError
from nap_core.gitenv import isolated

if TYPE_CHECKING:
    from nap_core.config import Settings

#: Files of the push that nap or the build reads as files: regular files only.
READ_FILES = ("CHECKS", "Dockerfile", ".dockerignore", "app.json", "Procfile")
#: The default cap of :meth:`Tree.read` (``max_read_size``).
READ_MAX = 1 << 20
#: git's mode of a symlink and of a submodule (a "gitlink").
SYMLINK, GITLINK = "120000", "160000"


class PushTooLarge(NapError):
    """The pushed tree is bigger than nap's limits."""


@attrs.frozen
class Entry:
    """One entry of a tree: its git mode, object type, size (blobs) and path."""

    mode: str
    type: str
    size: int
    path: str


@attrs.frozen
class Tree:
    """The pushed revision in the bare repository ``repo``.

    :func:`~nap_core.hookspecs.detect` looks at it: deciding what an app is
    needs file names and maybe a file or two, not a checkout.
    """

    repo: Path
    revision: str

    def names(self) -> list[str]:
        """The names at the root of the tree."""
        return list(self._root())

    def entry(self, path: str) -> Entry | None:
        """The entry ``path`` (at the root, or a path of the tree), or None."""
        if "/" not in path:
            return self._root().get(path)
        listing = self._git("ls-tree", "-l", "-z", self.revision, "--", path)
        for record in listing.split(b"\0"):
            if record:
                found = _entry(record)
                if found.path == path:
                    return found
        return None

    def read(self, path: str, cap: int = READ_MAX) -> bytes | None:
        """The content of the regular file ``path``, or None if the tree has none.

        Refused (:class:`NapError`): a symlink, a directory or submodule, a file
        larger than ``cap`` bytes.
        """
        found = self.entry(path)
        if found is None:
            return None
        if found.mode == SYMLINK:
            raise NapError(f"{path} is a symlink in the push: commit the file itself")
        if found.type != "blob":
            raise NapError(f"{path} in the push is a {found.type}, not a file")
        if found.size > cap:
            raise PushTooLarge(
                f"{path} is {found.size} bytes; nap reads at most {cap} (max_read_size)"
            )
        return self._git("cat-file", "blob", f"{self.revision}:{path}")

    def check(self, settings: Settings) -> None:
        """Refuse a pushed tree over nap's limits, read from git before any checkout:
        ``max_tree_files`` entries, ``max_tree_size`` bytes, and the files nap or the
        build reads (``Dockerfile``, ``.dockerignore``, ``CHECKS``) regular files of
        at most ``max_read_size`` bytes, never symlinks."""
        self.check_bounds(
            int(settings.number("max_tree_files")), int(settings.number("max_tree_size"))
        )
        self.check_read_files(int(settings.number("max_read_size")))

    def check_read_files(self, cap: int) -> None:
        """Refuse the push if a file of :data:`READ_FILES` is not a regular file of
        at most ``cap`` bytes (they are read from the checkout by the build)."""
        for name in READ_FILES:
            self.read(name, cap)

    def check_bounds(self, max_files: int, max_bytes: int) -> None:
        """Refuse the push if its tree has more than ``max_files`` entries or its
        files more than ``max_bytes`` bytes together; stop reading at the first cap.

        Entries are counted from ``git ls-tree -r`` (stopped at ``max_files``), then
        the sizes of the distinct blobs are read in one ``git cat-file
        --batch-check``: a tree that repeats one blob a million times costs one
        size lookup, not a million.
        """
        counts: dict[str, int] = {}
        argv = ["git", "--git-dir", str(self.repo), "ls-tree", "-r", "-z", self.revision]
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=isolated()
        )
        assert proc.stdout is not None
        files = 0
        try:
            pending = b""
            while chunk := proc.stdout.read(1 << 16):
                *records, pending = (pending + chunk).split(b"\0")
                files += len(records)
                if files > max_files:
                    raise PushTooLarge(
                        f"the pushed tree has more than {max_files} files (max_tree_files)"
                    )
                for record in records:
                    _mode, kind, oid = record.partition(b"\t")[0].split()
                    if kind == b"blob":
                        counts[oid.decode()] = counts.get(oid.decode(), 0) + 1
        finally:
            proc.kill()
            proc.stdout.close()
            status = proc.wait()
        if status not in (0, -9):
            raise NapError(f"cannot list the pushed tree {self.revision[:12]}")
        sizes = self._git(
            "cat-file",
            "--batch-check=%(objectname) %(objectsize)",
            stdin="".join(f"{oid}\n" for oid in counts).encode(),
        )
        total = 0
        for line in sizes.decode().split("\n"):
            if line:
                name, size = line.split()
                if not size.isdigit():  # "missing": a pack or object file is damaged
                    raise NapError(
                        f"the app's repository is damaged: object {name[:12]} of the pushed "
                        f"revision {self.revision[:12]} is {size} or unreadable"
                    )
                total += int(size) * counts[name]
        if total > max_bytes:
            raise PushTooLarge(f"the pushed tree holds more than {max_bytes} bytes (max_tree_size)")

    def _root(self) -> dict[str, Entry]:
        # One `git ls-tree` for every name and file nap looks up at the root: a deploy
        # asks for about ten. A revision is immutable, so its listing can be kept.
        return _root_entries(self)

    def _git(self, *args: str, stdin: bytes = b"") -> bytes:
        done = subprocess.run(
            ["git", "--git-dir", str(self.repo), *args],
            input=stdin,
            capture_output=True,
            check=False,
            env=isolated(),
        )
        if done.returncode != 0:
            raise NapError(f"cannot read {self.revision[:12]} from the push (git {args[0]})")
        return done.stdout


@functools.lru_cache(maxsize=16)
def _root_entries(tree: Tree) -> dict[str, Entry]:
    listing = tree._git("ls-tree", "-l", "-z", tree.revision)
    entries = (_entry(record) for record in listing.split(b"\0") if record)
    return {entry.path: entry for entry in entries}


def _entry(record: bytes) -> Entry:
    """``<mode> SP <type> SP <object> SP+<size> TAB <path>`` of ``git ls-tree -l``."""
    meta, _, path = record.partition(b"\t")
    mode, kind, _object, size = meta.split(None, 3)
    return Entry(
        mode=mode.decode(),
        type=kind.decode(),
        size=int(size) if size.strip() != b"-" else 0,
        path=path.decode(errors="surrogateescape"),
    )
