"""What the fault tests share: a deploy started in a process group of its own and
killed at a stage, the release table, and a TCP proxy to the registry that can
hold a publish in mid-air."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import NAP, Nap

#: An app.json whose postdeploy script is ``%s``: it runs once the release is current.
POSTDEPLOY = '{"scripts": {"dokku": {"postdeploy": "%s"}}}'


def release_containers(engine: Any, app: str, number: int) -> list[Any]:
    """The containers of release ``number``: its processes and its one-offs."""
    processes = [f"nap.app={app}", f"nap.release={number}"]
    oneoffs = [f"nap.oneoff={app}", f"nap.release={number}"]
    return [
        *engine.containers.list(all=True, filters={"label": processes}),
        *engine.containers.list(all=True, filters={"label": oneoffs}),
    ]


def remove_app(engine: Any, name: str, registries: tuple[str, ...] = ("127.0.0.1:5000",)) -> None:
    """Remove what a test's app left on the engine: containers, one-offs, tags, volumes."""
    import docker.errors

    for label in (f"nap.app={name}", f"nap.oneoff={name}"):
        for container in engine.containers.list(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
    for registry in registries:
        repository = f"{registry}/{name}"
        for image in engine.images.list(name=repository):
            for tag in image.tags:
                if tag.rpartition(":")[0] == repository:
                    with contextlib.suppress(docker.errors.APIError):
                        engine.images.remove(tag)
    for volume in engine.volumes.list(filters={"label": f"nap.app={name}"}):
        with contextlib.suppress(docker.errors.APIError):
            volume.remove(force=True)


def start_deploy(nap: Nap, app: str, path: Path) -> subprocess.Popen[str]:
    """`nap deploy` in a process group of its own, like a push's session."""
    return subprocess.Popen(
        [*NAP, "deploy", app, str(path)],
        env={**nap.env, "NAP_DEPLOY_TIMEOUT": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_when(
    deploy: subprocess.Popen[str], ready: Callable[[], bool], seconds: float = 60
) -> None:
    """SIGKILL the deploy's whole process group once ``ready()``."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert deploy.poll() is None, f"the deploy ended first: {deploy.stderr.read()}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the deploy never reached the stage"
        time.sleep(0.1)
    os.killpg(deploy.pid, signal.SIGKILL)
    deploy.wait(10)


def releases(nap: Nap, app: str) -> dict[int, str]:
    """``nap releases APP --json`` as {number: status}."""
    listed = json.loads(nap("releases", app, "--json", check=True).stdout)
    return {r["release"]: r["status"] for r in listed}


def text_of(path: Path) -> str:
    """The file's text, '' while it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def kill_home_processes(home: Path) -> None:
    """SIGKILL every process working on NAP_HOME ``home`` (a hook stuck after a test
    failed, say): found by its environment, killed by pid."""
    marker = f"NAP_HOME={home}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


class HoldingProxy:
    """A TCP proxy on 127.0.0.1:PORT to ``target`` that can stop passing bytes.

    While held, every chunk waits; ``stalled`` counts the chunks that did, so a
    test knows a publish is stuck in the middle. Its threads end with it.
    """

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.passing = threading.Event()
        self.passing.set()
        self.closed = threading.Event()
        self.stalled = 0
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self) -> None:
        self.stalled = 0
        self.passing.clear()

    def release(self) -> None:
        self.passing.set()

    def __enter__(self) -> HoldingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self.passing.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(1 << 16):
                if not self.passing.is_set():
                    self.stalled += 1
                    self.passing.wait()
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
