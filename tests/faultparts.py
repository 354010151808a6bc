"""Private parts for the fault suite (tests/test_faults_parts.py): a registry of
its own and a Caddy on ports of its own, so that stopping them never touches the
shared registry on 127.0.0.1:5000, the shared engine or anyone's Caddy.

Fixed ports 22000-22099 belong to these tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from conftest import NAP, Nap

REGISTRY_PORT = 22000
HTTP_PORT = 22080
HTTPS_PORT = 22043
ADMIN_PORT = 22019


class PrivateRegistry:
    """Debian's docker-registry with its own config and storage, on 127.0.0.1:22000."""

    def __init__(self, root: Path, port: int = REGISTRY_PORT, host: str = "127.0.0.1") -> None:
        self.root = root
        self.address = f"{host}:{port}"
        self.config = root / "registry.yml"
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n"
        )

    def start(self) -> None:
        """Start it (again, on the same storage) and wait until it answers."""
        log = (self.root / "registry.log").open("ab")
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        for _ in range(200):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                return
            assert self.process.poll() is None, (self.root / "registry.log").read_text()
            time.sleep(0.05)  # waiting for it to listen, not an assertion
        raise AssertionError(f"the private registry did not start on {self.address}")

    def signal(self, number: int) -> None:
        """Send ``number`` to this registry (by its pid); reap it if that killed it."""
        assert self.process is not None
        os.kill(self.process.pid, number)
        if number == signal.SIGKILL:
            self.process.wait(10)

    def stop(self) -> None:
        """Kill it by pid (continued first, if it was stopped)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start_deploy(nap: Nap, app: str, path: Path) -> subprocess.Popen[str]:
    """`nap deploy APP PATH` in the background, its output kept for the test to read."""
    return subprocess.Popen(
        [*NAP, "deploy", app, str(path)], env=nap.env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def forget_images(client: Any, app: str) -> None:
    """Remove the app's manifests from the registries it was pushed to, then its
    names on the engine (by name, never by id)."""
    from nap_registry.api import delete_manifest

    # The low-level list: the model's would inspect each image, and others remove theirs.
    for image in client.api.images():
        refs = [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]
        for ref in refs:
            repository = ref.partition("@")[0] if "@" in ref else ref.rpartition(":")[0]
            if repository.rpartition("/")[2] != app:
                continue
            if "@" in ref:
                delete_manifest(repository, ref.partition("@")[2])  # False if it is gone
            with contextlib.suppress(Exception):
                client.api.remove_image(ref)


def db_is_intact(home: Path) -> bool:
    """Whether NAP_HOME/nap.db passes SQLite's integrity check."""
    with contextlib.closing(sqlite3.connect(home / "nap.db")) as db:
        return bool(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def wait_for(ready: object, seconds: float = 60) -> None:
    """Poll ``ready()`` until it is true (a bounded wait for a stage, not an assertion)."""
    deadline = time.monotonic() + seconds
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the deploy never reached the stage"
        time.sleep(0.05)


#: The private engine's names and addresses (unique to this suite: napfp*, 10.222.14-15.*).
NETNS = "napfp0"
HOST_VETH, NS_VETH = "napfp0h", "napfp0n"
HOST_IP, NS_IP = "10.222.14.1", "10.222.14.2"
BRIDGE_NET = "10.222.15.0/24"
ENGINE_RUN = Path("/run/napfp0")
ENGINE_ROOT = Path("/tmp/napfp0")
ENGINE_REGISTRY_PORT = 22001
WRAPPER = Path(__file__).parent / "lab" / "parts" / "dockerd-in-netns.sh"


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


class PrivateDockerd:
    """A dockerd of its own in network namespace ``napfp0``, with its own data root,
    exec root, pid file and socket; the host reaches it over a veth pair.

    Its containers publish on ``NS_IP``, and the host routes the engine's bridge
    network there, so nap (on the host) probes them as it probes the shared
    engine's. Its registry listens on the host's end, ``HOST_IP``.
    """

    socket = f"unix://{ENGINE_RUN}/docker.sock"

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        """Make the namespace and start the engine (after clearing what a killed run left)."""
        self.down()
        _ip("netns", "add", NETNS)
        _ip("-n", NETNS, "link", "set", "lo", "up")
        _ip("link", "add", HOST_VETH, "type", "veth", "peer", "name", NS_VETH, "netns", NETNS)
        _ip("addr", "add", f"{HOST_IP}/30", "dev", HOST_VETH)
        _ip("link", "set", HOST_VETH, "up")
        _ip("-n", NETNS, "addr", "add", f"{NS_IP}/30", "dev", NS_VETH)
        _ip("-n", NETNS, "link", "set", NS_VETH, "up")
        _ip("route", "add", BRIDGE_NET, "via", NS_IP, "dev", HOST_VETH)
        self.start()

    def start(self) -> None:
        """Start the engine (again, on the same data root) and wait until it answers."""
        ENGINE_ROOT.mkdir(parents=True, exist_ok=True)
        log = (ENGINE_ROOT / "dockerd.log").open("ab")
        args = [str(ENGINE_ROOT), str(ENGINE_RUN), "10.222.15.1/24"]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", NETNS, "sh", str(WRAPPER), *args,
             f"{HOST_IP}:{ENGINE_REGISTRY_PORT}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        for _ in range(240):
            if self.answers():
                return
            assert self.process.poll() is None, (ENGINE_ROOT / "dockerd.log").read_text()[-2000:]
            time.sleep(0.25)  # waiting for it to start, not an assertion
        raise AssertionError("the private dockerd did not start")

    def restart_after_crash(self) -> None:
        """Start the engine again after a SIGKILL, its containerd stopped first (as
        a crashed engine's whole cgroup would be): a restarted dockerd otherwise
        waits on the orphan, and times out."""
        with contextlib.suppress(OSError, ValueError):
            pidfile = ENGINE_RUN / "exec" / "containerd" / "containerd.pid"
            number = int(pidfile.read_text())
            if str(ENGINE_RUN).encode() in Path(f"/proc/{number}/cmdline").read_bytes():
                os.kill(number, signal.SIGKILL)
                time.sleep(0.5)
            # Its zombie may linger (no one reaps it here): dockerd would take it for alive.
            pidfile.unlink()
        self.start()

    def answers(self) -> bool:
        """Whether the engine answers a version request."""
        result = subprocess.run(
            ["docker", "-H", self.socket, "version"], capture_output=True, timeout=30
        )
        return result.returncode == 0

    def pid(self) -> int | None:
        """The engine's pid (its pid file), if it is this suite's dockerd."""
        try:
            number = int((ENGINE_RUN / "dockerd.pid").read_text())
            cmdline = Path(f"/proc/{number}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return number if str(ENGINE_RUN).encode() in cmdline else None

    def signal(self, number: int) -> None:
        """Send ``number`` to the engine; wait for it to die if that kills it."""
        pid = self.pid()
        assert pid is not None
        os.kill(pid, number)
        if number == signal.SIGKILL and self.process is not None:
            self.process.wait(30)

    def down(self) -> None:
        """Stop the engine, its containers, shims and containerd (by pid), remove the
        namespace, the route, the cgroups and the directories."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            if self.answers():
                subprocess.run(
                    ["sh", "-c", f"ids=$(docker -H {self.socket} ps -aq);"
                     f" [ -z \"$ids\" ] || docker -H {self.socket} rm -f $ids"],
                    capture_output=True, timeout=120,
                )  # fmt: skip
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(120):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.25)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        for procs in Path("/sys/fs/cgroup/pids/napfp0").rglob("cgroup.procs"):
            for line in procs.read_text().split():  # containers a killed engine left
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line), signal.SIGKILL)
        for entry in Path("/proc").iterdir():  # its containerd and shims, by their address
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if str(ENGINE_RUN).encode() in (entry / "cmdline").read_bytes():
                        os.kill(int(entry.name), signal.SIGKILL)
        _ip("route", "del", BRIDGE_NET, check=False)
        _ip("link", "del", HOST_VETH, check=False)
        _ip("netns", "del", NETNS, check=False)
        time.sleep(0.5)
        subprocess.run(["umount", "-R", str(ENGINE_RUN / "exec")], capture_output=True)
        import shutil

        shutil.rmtree(ENGINE_RUN, ignore_errors=True)
        shutil.rmtree(ENGINE_ROOT, ignore_errors=True)
        for group in Path("/sys/fs/cgroup").glob("*/napfp0"):
            for directory in sorted(group.rglob("*"), reverse=True):
                if directory.is_dir():
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            with contextlib.suppress(OSError):
                group.rmdir()
