"""``nap keys``: the SSH keys that may push, as lines of the nap user's authorized_keys.

Each key nap adds is one line::

    command="nap shell --key NAME",restrict,pty ssh-ed25519 AAAA...

``restrict`` turns off port, agent and X11 forwarding; ``pty`` then allows a
terminal again, only when the client asks (``ssh -t``), for ``nap run``; the
forced command means the key can only ever run ``nap shell``. A line written
before ``pty`` was added is still nap's, and gets it when the file is next
written. Lines nap did not write are kept as they are. The file is replaced atomically (a new file,
mode 0600, renamed over the old one) under a lock, so a reader never sees half
a file and two ``nap keys`` never lose each other's change.

Where the file is: the ``authorized_keys`` setting (``NAP_AUTHORIZED_KEYS``),
else ``~nap/.ssh/authorized_keys``.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import os
import pwd
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.names import check_key_name
from nap_core.paths import NAP_USER

#: A line nap wrote. Anything else in the file is someone else's and left alone.
NAP_LINE = re.compile(
    r'command="nap shell --key (?P<name>[A-Za-z0-9][A-Za-z0-9._@-]{0,63})",restrict(?:,pty)?'
    r" (?P<type>\S+) (?P<blob>[A-Za-z0-9+/=]+)"
)
#: A public key as ``ssh-keygen`` writes it: type, base64 blob, optional comment.
PUBLIC_KEY = re.compile(r"(?P<type>[a-z0-9@.-]+) (?P<blob>[A-Za-z0-9+/]+={0,2})(?: [^\n]*)?")


@attrs.frozen
class Key:
    """A key nap manages: its name, type and base64 blob."""

    name: str
    type: str
    blob: str

    @property
    def line(self) -> str:
        """The authorized_keys line of the key."""
        return f'command="nap shell --key {self.name}",restrict,pty {self.type} {self.blob}'

    @property
    def fingerprint(self) -> str:
        """``SHA256:...``, as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def to_dict(self) -> dict[str, Any]:
        """What ``nap keys list --json`` prints for the key."""
        return {"name": self.name, "type": self.type, "fingerprint": self.fingerprint}


def keys_file(settings: Settings) -> Path:
    """The authorized_keys file nap manages."""
    configured = settings.get("authorized_keys")
    if configured:
        return Path(configured)
    try:
        account = pwd.getpwnam(NAP_USER)
    except KeyError:
        raise NapError(
            f"there is no {NAP_USER} user to add keys to: run `nap server setup` as root "
            "(or set NAP_AUTHORIZED_KEYS to the file sshd reads)"
        ) from None
    return Path(account.pw_dir) / ".ssh" / "authorized_keys"


def parse_public_key(text: str) -> tuple[str, str]:
    """The ``(type, blob)`` of a public key file's text; refuse anything else.

    One key, no options before it (nap writes the options), and a key
    ``ssh-keygen -l`` accepts.
    """
    # sshd reads lines split on "\n" only; so does nap (str.splitlines() splits on more).
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) != 1:
        raise NapError(f"expected one public key (a .pub file's one line), got {len(lines)} lines")
    found = PUBLIC_KEY.fullmatch(lines[0])
    if not found or "PRIVATE KEY" in text:
        raise NapError("not a public key: give the .pub file, e.g. ~/.ssh/id_ed25519.pub")
    key_type, blob = found["type"], found["blob"]
    try:
        base64.b64decode(blob, validate=True)
    except binascii.Error:
        raise NapError("not a public key: its base64 part does not decode") from None
    checked = subprocess.run(
        ["ssh-keygen", "-l", "-f", "-"],  # "-": the key on its standard input, no file
        input=f"{key_type} {blob}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        raise NapError("not a valid public key (ssh-keygen -l refuses it)")
    return key_type, blob


def read_keys(path: Path) -> list[Key]:
    """The keys nap wrote into ``path`` (none if it does not exist)."""
    return [key for key in (_key_of(line) for line in _lines(path)) if key is not None]


def add_key(path: Path, name: str, text: str) -> Key:
    """Add the public key ``text`` under ``name``; refuse a name or key already there."""
    check_key_name(name)
    key_type, blob = parse_public_key(text)
    with _locked(path):
        lines = _lines(path)
        for line in lines:
            known = _key_of(line)
            if known is not None and known.name == name:
                raise NapError(f"a key named {name} exists: remove it first or pick another name")
            if blob in line.split():
                owner = f"key {known.name}" if known else "a line nap did not write"
                raise NapError(f"this key is already in {path} ({owner})")
        key = Key(name, key_type, blob)
        _write(path, [*lines, key.line])
    return key


def remove_key(path: Path, name: str) -> Key:
    """Remove the key ``name``; lines nap did not write stay."""
    check_key_name(name)
    with _locked(path):
        lines = _lines(path)
        found = [key for key in map(_key_of, lines) if key is not None and key.name == name]
        if not found:
            raise NapError(f"no key named {name}: `nap keys list` shows the keys")
        _write(path, [line for line in lines if line != found[0].line])
    return found[0]


def _key_of(line: str) -> Key | None:
    found = NAP_LINE.fullmatch(line)
    return Key(found["name"], found["type"], found["blob"]) if found else None


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file's directory while it is read and replaced."""
    if not path.parent.parent.is_dir():
        raise NapError(f"{path.parent.parent} does not exist: run `nap server setup` as root")
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700)
        # sshd reads the keys as their user: a new .ssh belongs to the home's owner.
        home = path.parent.parent.stat()
        if os.geteuid() == 0:
            os.chown(path.parent, home.st_uid, home.st_gid)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, lines: list[str]) -> None:
    """Replace ``path`` atomically with ``lines``, mode 0600, owned as before.

    sshd reads the file as its user, so a new file keeps the owner of the old
    one (or of its directory) even when root writes it.
    """
    try:
        owner = path.stat()
    except FileNotFoundError:
        owner = path.parent.stat()
    fd, tmp = tempfile.mkstemp(prefix=".authorized_keys.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        if os.geteuid() == 0:
            os.chown(tmp, owner.st_uid, owner.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
