"""Running a release's containers on this host's engine and waiting for them to answer."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Mapping
from typing import Any

from nap_core import health
from nap_core.errors import DeployFailed
from nap_core.model import App, Image, Placement, Process, Release
from nap_core.output import Output
from nap_core.proctable import WEB
from nap_docker.labels import LABEL_APP, LABEL_RELEASE
from nap_docker.probe import answers
from nap_local import volumes

LABEL_PROCESS = "nap.process"
#: How many of a failed container's log lines the pusher sees.
LOG_LINES = 20
#: How often to pick another host port when the one picked was taken meanwhile.
PORT_ATTEMPTS = 3


def container_prefix(app: App, number: int, process: str = WEB) -> str:
    """``nap-APP-rN`` for web (containers ``nap-APP-rN.1``, ...), ``nap-APP-rN-TYPE``
    for the other process types."""
    base = f"nap-{app.name}-r{number}"
    return base if process == WEB else f"{base}-{process}"


def unit_name(app: App, number: int, index: int | None = None, process: str = WEB) -> str:
    """The unit of a process type of a release (a template) or of one of its instances."""
    instance = "" if index is None else str(index)
    return f"{container_prefix(app, number, process)}@{instance}.service"


def process_of(container: Any) -> str:
    """The process type a container runs (web for containers older than process types)."""
    return str(container.labels.get(LABEL_PROCESS, WEB))


def start(
    client: Any,
    app: App,
    image: Image,
    release: Release,
    index: int,
    env: Mapping[str, str],
    host: str,
    publish: bool = True,
    process: Process | None = None,
) -> Any:
    """Start instance ``index`` of a process type of a release; web's ports are
    published on ``host`` if ``publish``, the other types publish none.

    Unpublished, an instance is reached only on the engine's network, at its
    container address (the router's way: no docker-proxy process per port).
    """
    import docker.errors

    process = process or Process(WEB)
    name = f"{container_prefix(app, release.number, process.name)}.{index}"
    ports = image.ports if process.name == WEB else ()
    mounts = {
        volumes.ensure(client, app, path, release.number): {"bind": path} for path in image.volumes
    }
    with contextlib.suppress(docker.errors.NotFound):
        client.containers.get(name).remove(force=True)  # left by a deploy that died
    for attempt in range(PORT_ATTEMPTS):
        try:
            return client.containers.run(
                image.pinned,
                # The Procfile's words replace the CMD; an ENTRYPOINT still runs first.
                command=list(process.command) or None,
                name=name,
                detach=True,
                init=True,  # signals reach the app, zombies are reaped
                environment=dict(env),
                labels={
                    LABEL_APP: app.name,
                    LABEL_RELEASE: str(release.number),
                    LABEL_PROCESS: process.name,
                },
                ports={f"{port}/tcp": (host, free_port(host)) for port in ports} if publish else {},
                restart_policy={"Name": "unless-stopped"},
                volumes=mounts,
            )
        except docker.errors.APIError as exc:
            taken = "already allocated" in str(exc.explanation) or "in use" in str(exc.explanation)
            with contextlib.suppress(docker.errors.NotFound):
                client.containers.get(name).remove(force=True)
            if taken and attempt + 1 < PORT_ATTEMPTS:
                continue  # another process took the port we picked: pick again
            raise DeployFailed(
                f"release {release.number} could not start: {exc.explanation or exc}"
            ) from exc
    raise AssertionError("unreachable")


def free_port(host: str) -> int | None:
    """A port free on ``host`` now, to publish on explicitly.

    An explicit port survives ``nap stop``/``nap start`` and engine restarts (an
    engine-assigned one changes each time the container starts). None lets the
    engine choose, when ``host`` is not an address this process can bind.
    """
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, 0))
            return int(probe.getsockname()[1])
    except OSError:
        return None


def wait_until_answering(
    containers: list[Any],
    image: Image,
    release: Release,
    deadline: float,
    timeout: float,
    web_port: int | None = None,
) -> None:
    """Return once every container answers on every port; raise DeployFailed if one
    exits or the deadline passes."""
    waiting = list(containers)
    while waiting:
        for container in list(waiting):
            container.reload()
            _check_alive(container, release)
            address = _address(container)
            if address and all(answers(address, port) for port in image.ports):
                waiting.remove(container)
        if not waiting:
            break
        if time.monotonic() > deadline:
            ports = ", ".join(str(p) for p in image.ports)
            raise DeployFailed(
                f"release {release.number} did not answer on port {ports} within {timeout:g} s"
            )
        time.sleep(0.05)
    for container in containers:
        port = web_port or image.ports[0]
        health.verify(release.checks, _address(container), port, release.number, deadline)
    # Answering once is not enough: an app that crashes right after binding must not win.
    for container in containers:
        container.reload()
        _check_alive(container, release)


def placements(
    container: Any, host: str, image: Image, unit: str, web_port: int | None = None
) -> list[Placement]:
    """Where a container answers: its published ports on ``host``, else its own address.

    :param web_port: the port the router forwards to; the others are marked
        ``web=False`` (default: the first port).
    """
    web = web_port or (image.ports[0] if image.ports else 0)
    ports = container.attrs["NetworkSettings"]["Ports"] or {}
    address = _address(container)
    found = []
    for port in image.ports:
        bindings = ports.get(f"{port}/tcp") or []
        if bindings:
            found.append(Placement.http(unit, host, int(bindings[0]["HostPort"]), port == web))
        elif address:
            found.append(Placement.http(unit, address, port, port == web))
    return found


def last_log_lines(container: Any) -> list[str]:
    """The last lines a container wrote, for the pusher to see why it failed."""
    try:
        text = str(container.logs(tail=LOG_LINES).decode(errors="replace"))
    except Exception:  # a container that is already gone has no logs to show
        return []
    return text.rstrip("\n").split("\n") if text else []


def remove(containers: list[Any], output: Output | None = None, stop_timeout: int = 0) -> None:
    """Stop and remove containers, ignoring those already gone."""
    import docker.errors

    for container in containers:
        try:
            if stop_timeout:
                container.stop(timeout=stop_timeout)
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if output is not None:
                output.line(f"could not remove {container.name}: {exc.explanation or exc}")


def release_containers(client: Any, app: App, number: int | None = None) -> list[Any]:
    """The app's containers, all of them or those of one release, by label."""
    import docker.errors

    labels = [f"{LABEL_APP}={app.name}"]
    if number is not None:
        labels.append(f"{LABEL_RELEASE}={number}")
    found = []
    # Listed sparse, then inspected one by one: a container that a retirement in the
    # background (a drain, the one after a push's reply) removes meanwhile is skipped,
    # where a full listing would fail on it.
    for listed in client.containers.list(all=True, sparse=True, filters={"label": labels}):
        try:
            found.append(client.containers.get(listed.id))
        except docker.errors.NotFound:
            continue
    return sorted(found, key=lambda c: c.name)


def check_started(containers: list[Any], release: Release) -> None:
    """Raise DeployFailed if one of ``containers`` (a worker, say) exited or restarts."""
    for container in containers:
        container.reload()
        _check_alive(container, release)


def _check_alive(container: Any, release: Release) -> None:
    state = container.attrs["State"]
    if (
        state["Status"] in ("exited", "dead")
        or state.get("Restarting")
        or container.attrs.get("RestartCount", 0)
    ):
        raise DeployFailed(
            f"release {release.number}: {container.name} exited at once"
            f" (status {state.get('ExitCode')})"
        )


def address(container: Any) -> str:
    """The container's own address on the engine's network ('' when it has none)."""
    return _address(container)


def _address(container: Any) -> str:
    settings = container.attrs["NetworkSettings"]
    if settings.get("IPAddress"):
        return str(settings["IPAddress"])
    for network in (settings.get("Networks") or {}).values():
        if network.get("IPAddress"):
            return str(network["IPAddress"])
    return ""
