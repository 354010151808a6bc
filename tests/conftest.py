"""Fixtures shared by the suite: a private NAP_HOME, the real `nap` command,
sample apps as git work trees, and clean-up of every container a test made.

The Docker engine and the registry are real; scripts/services.sh starts them.
A test that needs them fails (never skips) when they are missing, so a broken
set-up cannot pass as green.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BUSYBOX = Path("/bin/busybox")
NAP = [sys.executable, "-m", "nap"]

HTTPD_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


class Nap:
    """Runs the real `nap` command with a private NAP_HOME."""

    def __init__(self, home: Path, env: dict[str, str], python: str = sys.executable) -> None:
        self.home = home
        self.env = env
        self.python = python

    def __call__(
        self, *args: str, cwd: Path | None = None, check: bool = False, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.python, *NAP[1:], *args],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"nap {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def deploy_json(self, app: str, path: Path, **env: str) -> dict[str, Any]:
        import json

        result = self("deploy", app, str(path), "--json", check=True, **env)
        return dict(json.loads(result.stdout))

    @property
    def system_tmp(self) -> Path:
        """The system temp directory (``TMPDIR``) of nap's processes: each test has its own."""
        return Path(self.env["TMPDIR"])


@pytest.fixture(autouse=True)
def no_router_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """nap code run inside the test process gets no router (it would start Caddy on
    port 80); the router's tests give their `nap` commands one on ports of their own."""
    monkeypatch.setenv("NAP_ROUTER", "none")


@pytest.fixture
def nap_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def nap(nap_home: Path, tmp_path: Path) -> Nap:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAP_") and k != "DOCKER_HOST"}
    # The router is tested on its own (tests/test_router*.py), on ports of its own.
    env.update(
        NAP_HOME=str(nap_home), NAP_DEPLOY_TIMEOUT="8", NAP_STOP_TIMEOUT="2", NAP_ROUTER="none"
    )
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    env["TMPDIR"] = str(system_tmp)  # what nap leaves there, a test can see
    return Nap(nap_home, env)


def docker_client() -> Any:
    import docker

    try:
        client = docker.from_env(version="auto")
        client.ping()
    except Exception as exc:
        pytest.fail(f"the Docker engine is not running ({exc}); run scripts/services.sh")
    return client


@pytest.fixture(scope="session")
def docker_engine() -> Any:
    """A client of the real engine (and a check that the registry answers)."""
    client = docker_client()
    try:
        urllib.request.urlopen("http://127.0.0.1:5000/v2/", timeout=5)
    except OSError as exc:
        pytest.fail(
            f"the registry on 127.0.0.1:5000 is not running ({exc}); run scripts/services.sh"
        )
    return client


@pytest.fixture
def app_name(docker_engine: Any) -> Iterator[str]:
    """A fresh app name; the app's containers are removed after the test."""
    name = f"t{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)


@pytest.fixture(scope="session")
def lab(docker_engine: Any) -> Iterator[Any]:
    """The running swarm lab, once per session (the host's engine builds and pushes)."""
    import swarm_lab

    with swarm_lab.running_lab() as running:
        yield running


@pytest.fixture
def router(docker_engine: Any) -> Iterator[Any]:
    """A short NAP_HOME with the router (Caddy) on free ports: tests/routerlab.py."""
    from routerlab import RouterHome

    home = RouterHome(dict(os.environ))
    try:
        yield home
    finally:
        home.stop()


@pytest.fixture
def rapp(docker_engine: Any) -> Iterator[str]:
    """A fresh app name for the router's tests (prefix ``r``); its containers and
    local image tags go after."""
    name = f"r{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    remove_app_tags(docker_engine, name)


@pytest.fixture
def rapp2(docker_engine: Any) -> Iterator[str]:
    """A second app name for the router's tests."""
    name = f"r{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    remove_app_tags(docker_engine, name)


def remove_app_tags(client: Any, name: str) -> None:
    """Untag the app's local images by tag (never by ID: identical builds share one)."""
    import contextlib

    import docker.errors

    repository = f"127.0.0.1:5000/{name}"
    for image in client.images.list(name=repository):
        for tag in image.tags:
            if tag.rpartition(":")[0] == repository:
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(tag)


def remove_app_containers(client: Any, name: str) -> None:
    import contextlib

    import docker.errors

    # sparse: a full listing inspects each container, and fails on one a drain or a
    # retirement after the reply removed meanwhile.
    labels = {"label": f"nap.app={name}"}
    for container in client.containers.list(all=True, sparse=True, filters=labels):
        with contextlib.suppress(docker.errors.NotFound):  # removed meanwhile (by a drain)
            container.remove(force=True)


@pytest.fixture
def server() -> Iterator[Any]:
    """A private sshd on a loopback port that lets nap's keys in (tests/sshd.py)."""
    from sshd import SshServer

    started = SshServer()
    try:
        started.start()
        yield started
    finally:
        started.stop()


class SampleApp:
    """A git work tree holding a FROM-scratch busybox app."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True
        ).stdout

    def write(self, name: str, text: str) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def serve(self, content: str) -> str:
        """Make the app serve ``content`` at / and commit."""
        self.write("www/index.html", content)
        return self.commit(f"serve {content}")


def make_sample_app(path: Path, content: str = "hello 1") -> SampleApp:
    """A busybox httpd app at ``path`` serving ``content``, committed."""
    path.mkdir()
    shutil.copy(BUSYBOX, path / "busybox")
    app = SampleApp(path)
    app.git("init", "-q", "-b", "master")
    app.git("config", "user.email", "test@example.invalid")
    app.git("config", "user.name", "test")
    app.write("Dockerfile", HTTPD_DOCKERFILE)
    app.serve(content)
    return app


@pytest.fixture
def sample_app(tmp_path: Path) -> SampleApp:
    """A busybox httpd app serving 'hello 1', committed."""
    return make_sample_app(tmp_path / "app")


def http_get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())
