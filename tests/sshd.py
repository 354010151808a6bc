"""A private sshd on a loopback port that lets nap's keys in as the `nap` user.

The `nap` user and the test's NAP_HOME are set up by nap's own `nap server
setup`; keys are added with `nap keys add`, into the file this sshd reads.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import NAP

SSHD = "/usr/sbin/sshd"
#: The venv whose `nap` the forced command must run (the one running the tests).
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)],
        check=True,
    )
    return path


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("NAP_", "GIT_"))}


def nap_as_root(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NAP, *args], env={**base_env(), **env}, capture_output=True, text=True, timeout=600
    )


class SshServer:
    """sshd -f CONFIG -p PORT on 127.0.0.1, with a private NAP_HOME writable by `nap`."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        # Not pytest's tmp_path: /tmp/pytest-of-root is root's alone, and the
        # `nap` user must reach its NAP_HOME.
        self.base = Path(tempfile.mkdtemp(prefix="nap-ssh-test-", dir="/tmp"))
        self.base.chmod(0o755)
        self.home = self.base / "home"
        self.keys = self.home / ".ssh" / "authorized_keys"
        self.port = free_port()
        self.log = self.base / "sshd.log"
        self.client_key = keygen(self.base / "client")
        self.stranger_key = keygen(self.base / "stranger")
        self.proc: subprocess.Popen[bytes] | None = None
        # No router unless a test asks for one: router tests use ports of their own.
        self.extra_env = {"NAP_ROUTER": "none", **(extra_env or {})}

    @property
    def env(self) -> dict[str, str]:
        """The environment of a root `nap` command on this server's state."""
        return {
            **base_env(),
            "NAP_HOME": str(self.home),
            "NAP_AUTHORIZED_KEYS": str(self.keys),
            "NAP_DEPLOY_TIMEOUT": "8",
            "NAP_STOP_TIMEOUT": "2",
            **self.extra_env,
        }

    def nap(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real `nap` as root, on this server's NAP_HOME and keys."""
        return subprocess.run(
            [*NAP, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=600
        )

    def start(self) -> None:
        setup = nap_as_root("server", "setup", "--home", str(self.home))
        assert setup.returncode == 0, setup.stderr
        added = self.nap("keys", "add", "alice", f"{self.client_key}.pub")
        assert added.returncode == 0, added.stderr
        keygen(self.base / "host_key")
        config = self.base / "sshd_config"
        path = f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"
        extra = "".join(f" {name}={value}" for name, value in self.extra_env.items())
        config.write_text(
            f"""ListenAddress 127.0.0.1
Port {self.port}
HostKey {self.base}/host_key
PidFile {self.base}/sshd.pid
AuthorizedKeysFile {self.keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers nap
PermitUserEnvironment no
# Concurrent pushes open many connections at once (sshd's default drops some beyond 10).
MaxStartups 100
LogLevel DEBUG1
SetEnv PATH={path} NAP_HOME={self.home} NAP_DEPLOY_TIMEOUT=8 NAP_STOP_TIMEOUT=2{extra}
"""
        )
        # sshd's privilege separation needs this directory (no systemd here to make it).
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-f", str(config), "-E", str(self.log)],
            stdin=subprocess.DEVNULL,
        )
        for _ in range(200):
            if self.proc.poll() is not None:
                raise AssertionError(f"sshd exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)  # waiting for sshd to listen, not an assertion
        raise AssertionError("sshd did not listen")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)

    def ssh_command(self, key: Path | None = None, log_level: str = "ERROR") -> list[str]:
        return [
            "ssh",
            "-i",
            str(key or self.client_key),
            "-p",
            str(self.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            f"LogLevel={log_level}",
        ]

    def ssh(
        self,
        *command: str,
        key: Path | None = None,
        options: tuple[str, ...] = (),
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `ssh [OPTIONS] nap@127.0.0.1 COMMAND...` (ssh joins the words with spaces)."""
        return subprocess.run(
            [*self.ssh_command(key), "-T", *options, "nap@127.0.0.1", *command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**base_env(), **(env or {})},
        )

    def git_env(self, key: Path | None = None) -> dict[str, str]:
        return {**base_env(), "GIT_SSH_COMMAND": " ".join(self.ssh_command(key))}

    def url(self, app: str) -> str:
        return f"nap@127.0.0.1:{app}"
