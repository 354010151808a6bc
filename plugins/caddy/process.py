"""Caddy as a process nap starts itself: detached from the command that started it.

Caddy runs in its own session (``setsid``), so it outlives the SSH session of
the push that started it; its pid file, log, admin socket, storage and last
configuration live under ``NAP_HOME/router/caddy/``. Whoever holds the router
lock (``nap_core.routing.apply``) is the only one starting it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

import attrs

from nap_caddy import admin
from nap_core.config import Settings
from nap_core.errors import RouterUnavailable

#: Seconds a starting Caddy has to answer on its admin API.
START_TIMEOUT = 15.0
#: The longest unix socket path the kernel takes (sun_path is 108 bytes).
MAX_SOCKET_PATH = 100
#: Set to 1, the kernel hands the connections queued on a listener that closes to
#: another listener of the same port (Linux 5.14, per network namespace). Caddy 2.6
#: binds a new listener for every configuration it loads and closes the old one:
#: left at 0, each reload resets the connections queued on the old one.
MIGRATE_QUEUED = Path("/proc/sys/net/ipv4/tcp_migrate_req")


@attrs.frozen
class Paths:
    """Where one NAP_HOME's Caddy keeps its files."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> Paths:
        """The paths under ``settings.home``."""
        return cls(settings.home / "router" / "caddy")

    @property
    def config(self) -> Path:
        """The last whole configuration nap loaded (Caddy starts from it)."""
        return self.root / "caddy.json"

    @property
    def pidfile(self) -> Path:
        """Caddy's pid, written by Caddy itself."""
        return self.root / "caddy.pid"

    @property
    def log(self) -> Path:
        """Caddy's output."""
        return self.root / "caddy.log"

    @property
    def socket(self) -> Path:
        """The admin API's unix socket (unless ``router.admin`` names a loopback address)."""
        return self.root / "admin.sock"

    @property
    def storage(self) -> Path:
        """Certificates Caddy obtained over ACME, and its ACME accounts."""
        return self.root / "data"


def admin_address(settings: Settings) -> str:
    """``router.admin`` (``HOST:PORT`` on loopback), else the unix socket under NAP_HOME."""
    configured = settings.get("router.admin") or ""
    if configured:
        host = configured.rpartition(":")[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            raise RouterUnavailable(f"router.admin must be a loopback address, not {configured!r}")
        return configured
    path = str(Paths.of(settings).socket)
    if len(path) > MAX_SOCKET_PATH:
        raise RouterUnavailable(
            f"the admin socket path {path} is too long for a unix socket: "
            "set router.admin to 127.0.0.1:PORT, or use a shorter NAP_HOME"
        )
    return f"unix/{path}"


def pid(paths: Paths) -> int | None:
    """The pid of this NAP_HOME's Caddy if it runs (not a zombie, not a reused pid)."""
    try:
        number = int(paths.pidfile.read_text().strip())
        stat = Path(f"/proc/{number}/stat").read_text()
        cmdline = Path(f"/proc/{number}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    state = stat.rpartition(")")[2].split()[0]
    if state in ("Z", "X") or str(paths.config).encode() not in cmdline:
        return None
    return number


def write_config(paths: Paths, config: bytes) -> None:
    """Write the configuration (JSON, serialised once for this file and the admin
    API) atomically, mode 0600 (it names key files)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.root, 0o700)
    temporary = paths.config.with_suffix(".tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(config)
    os.replace(temporary, paths.config)


def migrates_queued_connections() -> bool:
    """Whether the kernel hands queued connections over between Caddy's listeners."""
    try:
        return MIGRATE_QUEUED.read_text().strip() == "1"
    except OSError:  # a kernel before 5.14
        return False


def migrate_queued_connections() -> None:
    """Ask the kernel to hand queued connections over between listeners
    (:data:`MIGRATE_QUEUED`), if this process may; ``nap router status`` tells
    an operator who runs nap unprivileged to do it."""
    if not migrates_queued_connections():
        with contextlib.suppress(OSError):  # not root, or a kernel before 5.14
            MIGRATE_QUEUED.write_text("1\n")


def start(settings: Settings, paths: Paths, address: str) -> int:
    """Start Caddy on the configuration written last; return its pid once it answers."""
    binary = settings.get("router.caddy") or "caddy"
    migrate_queued_connections()
    if address.startswith("unix/"):
        Path(address[5:]).unlink(missing_ok=True)  # left by a Caddy that was killed
    paths.pidfile.unlink(missing_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(paths.root),
        "XDG_DATA_HOME": str(paths.storage),
        "XDG_CONFIG_HOME": str(paths.root / "config"),
    }
    with paths.log.open("ab") as log:
        try:
            process = subprocess.Popen(
                [binary, "run", "--config", str(paths.config), "--pidfile", str(paths.pidfile)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=paths.root,
                env=env,
                start_new_session=True,  # setsid: survives the SSH session that started it
            )
        except OSError as exc:
            raise RouterUnavailable(f"cannot run {binary} ({exc}): install Debian's caddy") from exc
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RouterUnavailable(f"Caddy exited at start: {last_error(paths)}")
        if admin.answers(address):
            return process.pid
        time.sleep(0.05)
    raise RouterUnavailable(f"Caddy did not answer within {START_TIMEOUT:g} s; see {paths.log}")


def last_error(paths: Paths) -> str:
    """The last error Caddy logged, in one line."""
    try:
        lines = paths.log.read_text(errors="replace").splitlines()[-20:]
    except OSError:
        return "no log"
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip().startswith("Error:"):
                return line.strip()[:300]
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            return str(entry.get("error") or entry.get("msg"))[:300]
    return lines[-1][:300] if lines else "no log"
