"""The local scheduler's day-2 hooks: instances, logs, control, destroy."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, TextIO

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.hookimpl import hookimpl
from nap_core.model import Action, App, Image, Instance, Release
from nap_core.output import Output
from nap_core.proctable import WEB
from nap_docker.engine import engine_client
from nap_docker.labels import LABEL_APP
from nap_docker.oneoff import LABEL_ONEOFF
from nap_local import containers

#: How the engine says that a container's published port is bound by someone else.
_PORT_TAKEN = re.compile(
    r"listen tcp[46]? (\S+): bind: address already in use|Bind for (\S+) failed: port is already"
)


def _instances(client: Any, app: App, release: Release, settings: Settings) -> list[Instance]:
    from nap_docker.web import web_port

    found = []
    for container in containers.release_containers(client, app, release.number):
        ports = container.attrs["NetworkSettings"]["Ports"] or {}
        host, port = "", 0
        for bindings in ports.values():
            if bindings:
                host, port = settings.host, int(bindings[0]["HostPort"])
                break
        address = containers.address(container)
        process = containers.process_of(container)
        if not port and address and container.status == "running" and process == "web":
            # Not published (behind the router): its own address on the engine's network.
            env = dict(e.split("=", 1) for e in container.attrs["Config"].get("Env") or [])
            host, port = address, web_port(app, _ports(container), env, settings)
        found.append(
            Instance(
                name=container.name,
                release=release.number,
                state=container.status,
                host=host,
                port=port,
                process=process,
                restarts=int(container.attrs.get("RestartCount", 0)),
            )
        )
    return found


@hookimpl
def instances(app: App, release: Release, settings: Settings) -> list[Instance] | None:
    """The current release's containers as the engine sees them now."""
    return _instances(engine_client(settings), app, release, settings)


@hookimpl
def logs(
    app: App, release: Release, settings: Settings, follow: bool, lines: int, stream: TextIO
) -> None:
    """The containers' output; each line prefixed by its container when several run."""
    found = containers.release_containers(engine_client(settings), app, release.number)
    if not found:
        raise NapError(f"{app.name} has no containers: `nap start {app.name}` starts them")
    prefix = len(found) > 1
    lock = threading.Lock()

    def pump(container: Any) -> None:
        tail: int | str = lines if lines > 0 else "all"
        chunks = container.logs(stream=True, follow=follow, tail=tail)
        pending = b""
        for chunk in chunks:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            with lock:
                for line in complete:
                    text = line.decode(errors="replace")
                    stream.write(f"{container.name}: {text}\n" if prefix else text + "\n")
                stream.flush()
        if pending:
            with lock:
                text = pending.decode(errors="replace")
                stream.write(f"{container.name}: {text}\n" if prefix else text + "\n")

    threads = [threading.Thread(target=pump, args=(c,), daemon=True) for c in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # join in slices so that Ctrl-C reaches us
            thread.join(0.2)


@hookimpl
def control(
    app: App, release: Release, action: Action, settings: Settings, output: Output
) -> list[Instance] | None:
    """Stop, start or restart the release's containers; wait for started ones to answer."""
    import docker.errors

    client = engine_client(settings)
    found = containers.release_containers(client, app, release.number)
    if not found:
        raise NapError(f"{app.name} has no containers to {action}: push it again")
    timeout = int(settings.number("stop_timeout"))
    for container in found:
        output.line(f"{action} {container.name}")
        try:
            if action is Action.STOP:
                container.stop(timeout=timeout)
            elif action is Action.START:
                container.start()
            else:
                container.restart(timeout=timeout)
        except docker.errors.APIError as exc:
            raise NapError(_refused(container.name, action, str(exc.explanation or exc))) from exc
    web = [c for c in found if containers.process_of(c) == WEB]
    if action is not Action.STOP and web:
        ports = _ports(web[0])
        image = Image(app=app, id="", tag="", ports=ports)
        deadline = time.monotonic() + settings.deploy_timeout
        containers.wait_until_answering(web, image, release, deadline, settings.deploy_timeout)
    return _instances(client, app, release, settings)


def _refused(name: str, action: Action, explanation: str) -> str:
    """The one line for a container the engine would not stop, start or restart."""
    taken = _PORT_TAKEN.search(explanation)
    if taken:
        # The container keeps its published port across stop/start: someone took it meanwhile.
        port = taken.group(1) or taken.group(2)
        return (
            f"cannot {action} {name}: its port {port} is in use by another process;"
            " free the port, or push again (a new release gets a new port)"
        )
    return f"cannot {action} {name}: {explanation.strip()}"


@hookimpl
def destroy(app: App, settings: Settings, volumes: bool, output: Output) -> None:
    """Remove every container of the app, one-offs included, and, if asked, its volumes."""
    client = engine_client(settings)
    oneoffs = client.containers.list(all=True, filters={"label": f"{LABEL_ONEOFF}={app.name}"})
    found = containers.release_containers(client, app) + oneoffs
    if found:
        output.line(f"removing {', '.join(c.name for c in found)}")
    containers.remove(found, output)
    if volumes:
        for volume in client.volumes.list(filters={"label": f"{LABEL_APP}={app.name}"}):
            output.line(f"removing volume {volume.name}")
            volume.remove(force=True)


def _ports(container: Any) -> tuple[int, ...]:
    exposed = container.attrs["Config"].get("ExposedPorts") or {}
    return tuple(sorted(int(spec.split("/")[0]) for spec in exposed)) or (
        int(dict(e.split("=", 1) for e in container.attrs["Config"]["Env"]).get("PORT", 5000)),
    )
