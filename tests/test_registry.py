"""Publishing when the registry is down: a clear error, nothing lost, and the
next deploy works once it is back. The test runs a registry of its own on a
spare loopback port, so it only ever stops what it started."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Nap, SampleApp, http_get


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Registry:
    """A docker-registry process on 127.0.0.1:PORT, started and stopped by PID."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "registry.yml"
        self.config.write_text(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{self.port}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the test registry did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    own = Registry(tmp_path / "registry")
    own.start()
    yield own
    own.stop()


def test_a_stopped_registry_fails_the_deploy_clearly_and_loses_nothing(
    nap: Nap, sample_app: SampleApp, app_name: str, registry: Registry
) -> None:
    first = nap.deploy_json(app_name, sample_app.path, NAP_REGISTRY=registry.address)
    url = first["placements"][0]["url"]
    registry.stop()
    sample_app.serve("hello 2")

    failed = nap("deploy", app_name, str(sample_app.path), NAP_REGISTRY=registry.address)

    assert failed.returncode != 0
    [error] = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert f"cannot reach the registry {registry.address}" in error
    assert "check that it is running and not stopped" in error
    assert http_get(url) == "hello 1"

    registry.start()
    second = nap.deploy_json(app_name, sample_app.path, NAP_REGISTRY=registry.address)

    assert second["release"] == 3  # release 2 failed and keeps its number
    assert second["image"].startswith(f"{registry.address}/{app_name}@sha256:")
    assert http_get(second["placements"][0]["url"]) == "hello 2"
