"""A third-party scheduler as small as one can be: each release is one
container started with the docker CLI, its port published on loopback.

It knows nothing of how nap chose it; tests pip-install it and select it
with ``NAP_SCHEDULER=toy``.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("nap")


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _name(app: Any, number: int) -> str:
    return f"nap-{app.name}-toy-{number}"


@hookimpl
def is_current(last: Any) -> Any:
    return None


@hookimpl
def render_units(app: Any, image: Any, release: Any) -> Any:
    from nap_core.model import Unit

    return [Unit(f"{_name(app, release.number)}.txt", f"docker run {image.pinned}\n", "spec")]


@hookimpl
def schedule(app: Any, image: Any, release: Any) -> Any:
    from nap_core.model import Placement

    name = _name(app, release.number)
    port = image.ports[0]
    _docker(
        "run", "-d", "--name", name, "--label", f"nap.app={app.name}",
        "-p", f"127.0.0.1::{port}", image.pinned,
    )  # fmt: skip
    host_port = int(_docker("port", name, f"{port}/tcp").rsplit(":", 1)[1])
    return [Placement.http(name, "127.0.0.1", host_port)]


@hookimpl
def instances(app: Any, release: Any) -> Any:
    from nap_core.model import Instance

    return [Instance(_name(app, release.number), release.number, "running")]


@hookimpl
def logs(app: Any, release: Any, stream: Any) -> None:
    stream.write(_docker("logs", _name(app, release.number)) + "\n")


@hookimpl
def control(app: Any, release: Any, action: Any) -> Any:
    _docker(str(action), _name(app, release.number))
    return instances(app, release)


@hookimpl
def retire(app: Any, keep: Any) -> None:
    keep_name = _name(app, keep.number) if keep is not None else ""
    for name in _docker(
        "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=nap.app={app.name}"
    ).split():
        if name != keep_name:
            _docker("rm", "-f", name)


@hookimpl
def destroy(app: Any) -> None:
    found = _docker("ps", "-aq", "--filter", f"label=nap.app={app.name}").split()
    if found:
        _docker("rm", "-f", *found)


@hookimpl
def run_once(app: Any, image: Any, command: Any, output: Any) -> Any:
    done = subprocess.run(
        ["docker", "run", "--rm", image.pinned, *command], capture_output=True, text=True
    )
    if output is not None:
        for line in (done.stdout + done.stderr).split("\n"):
            output.line(line)
    return done.returncode
