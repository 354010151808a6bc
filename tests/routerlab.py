"""What the router tests share: a NAP_HOME whose Caddy they stop, free ports, a
bounded request loop, and a real ACME server (Debian's pebble) on loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from conftest import Nap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RouterHome:
    """A short NAP_HOME (the admin socket lives in it) with the router on free ports."""

    def __init__(self, base_env: dict[str, str]) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="nr-", dir="/tmp"))
        self.home = self.base / "h"
        self.home.mkdir()
        self.http_port = free_port()
        self.https_port = free_port()
        env = {k: v for k, v in base_env.items() if not k.startswith("NAP_")}
        env.update(
            NAP_HOME=str(self.home),
            NAP_DEPLOY_TIMEOUT="15",
            NAP_STOP_TIMEOUT="2",
            NAP_ROUTER="caddy",
            NAP_ROUTER_HTTP_PORT=str(self.http_port),
            NAP_ROUTER_HTTPS_PORT=str(self.https_port),
            NAP_ROUTER_DRAIN="2",
        )
        self.nap = Nap(self.home, env)

    @property
    def pidfile(self) -> Path:
        return self.home / "router" / "caddy" / "caddy.pid"

    def caddy_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None

    def drain_pids(self) -> list[int]:
        """The background `nap drain` processes working on this home."""
        found = []
        marker = f"NAP_HOME={self.home}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"drain" in cmdline and marker in environ:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        """Stop this home's Caddy and drains (by pid), and remove the home."""
        for pid in self.drain_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pid = self.caddy_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


def get(port: int, host: str, path: str = "/", timeout: float = 5) -> tuple[int, str]:
    """GET http://127.0.0.1:PORT/PATH with a Host header, on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


class RequestLoop:
    """GET a router address over and over (about 20 per second), counting failures.

    Every request opens its own connection, as independent clients do. A
    failure is anything but a 200: a refused or reset connection, a timeout, a
    5xx. Bounded: it stops when asked, or after ``limit`` requests.
    """

    def __init__(self, port: int, host: str, interval: float = 0.05, limit: int = 20000) -> None:
        self.port, self.host, self.interval, self.limit = port, host, interval, limit
        self.sent = 0
        self.failures: list[str] = []
        self.bodies: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RequestLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def assert_never_failed(self) -> None:
        """It ran (at least 5 requests) and not one request failed."""
        assert self.sent >= 5
        assert self.failures == []

    def _run(self) -> None:
        while not self._stop.is_set() and self.sent < self.limit:
            self.sent += 1
            try:
                status, body = get(self.port, self.host)
            except OSError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            else:
                if status != 200:
                    self.failures.append(f"HTTP {status}: {body[:80]}")
                else:
                    self.bodies.append(body)
            self._stop.wait(self.interval)


class Pebble:
    """Debian's pebble (ACME) and pebble-challtestsrv (DNS: every name is 127.0.0.1)."""

    def __init__(self, http_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="nap-pebble-", dir="/tmp"))
        self.acme_port = free_port()
        self.management_port = free_port()
        self.dns_port = free_port()
        self.http_port = http_port
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.acme_port}/dir"

    @property
    def tls_root(self) -> Path:
        """The CA that signed pebble's own HTTPS certificate (Caddy must trust it)."""
        return self.dir / "ca.pem"

    def start(self) -> None:
        self._make_tls_cert()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.acme_port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(self.dir / "pebble.pem"),
                "privateKey": str(self.dir / "pebble.key"),
                "httpPort": self.http_port,
                "tlsPort": free_port(),  # TLS-ALPN-01 is off in nap's issuer
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (self.dir / "pebble.json").write_text(json.dumps(config))
        log = (self.dir / "challtestsrv.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                [
                    "pebble-challtestsrv",
                    "-defaultIPv4",
                    "127.0.0.1",
                    "-defaultIPv6",
                    "",
                    "-dns01",
                    f"127.0.0.1:{self.dns_port}",
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                    "-management",
                    f"127.0.0.1:{free_port()}",
                ],
                stdout=log,
                stderr=log,
            )
        )
        log = (self.dir / "pebble.log").open("wb")
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        self.procs.append(
            subprocess.Popen(
                [
                    "pebble",
                    "-config",
                    str(self.dir / "pebble.json"),
                    "-dnsserver",
                    f"127.0.0.1:{self.dns_port}",
                ],
                stdout=log,
                stderr=log,
                env=env,
            )
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.management_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)  # waiting for pebble to listen, not an assertion
        raise AssertionError(f"pebble did not start: {(self.dir / 'pebble.log').read_text()}")

    def issuing_root(self) -> Path:
        """The root pebble issues certificates under (it makes a new one at each start)."""
        import ssl
        import urllib.request

        context = ssl.create_default_context(cafile=str(self.tls_root))
        url = f"https://127.0.0.1:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            path = self.dir / "issuing-root.pem"
            path.write_bytes(response.read())
        return path

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _make_tls_cert(self) -> None:
        d = self.dir
        (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for command in (
            f"req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nap-test-acme-ca"
            f" -keyout {d}/ca.key -out {d}/ca.pem",
            f"req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1"
            f" -keyout {d}/pebble.key -out {d}/pebble.csr",
            f"x509 -req -in {d}/pebble.csr -CA {d}/ca.pem -CAkey {d}/ca.key -CAcreateserial"
            f" -days 2 -extfile {d}/ext.cnf -out {d}/pebble.pem",
        ):
            subprocess.run(["openssl", *command.split()], check=True, capture_output=True)


def self_signed(directory: Path, *names: str) -> tuple[Path, Path]:
    """An operator certificate for ``names``, made by openssl: (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    san = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
