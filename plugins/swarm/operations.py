"""The swarm scheduler's day-2 hooks: instances, logs, control, destroy."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, TextIO

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.hookimpl import hookimpl
from nap_core.model import Action, App, Instance, Release
from nap_core.output import Output
from nap_core.proctable import WEB
from nap_docker import oneoff
from nap_docker.engine import docker_client
from nap_docker.labels import LABEL_APP
from nap_swarm import options, tasks, workers
from nap_swarm.manager import Manager
from nap_swarm.service import LABEL_REPLICAS

#: Seconds destroy keeps retrying a volume a removed task's container still holds.
VOLUME_GRACE = 30.0


def _manager(settings: Settings) -> Manager:
    return Manager(options.load(settings))


def _instances(manager: Manager, app: App) -> list[Instance]:
    """Every task wanted running, of web's service and of each other type's."""
    found = []
    for service in sorted(workers.app_services(manager, app), key=lambda s: s["Spec"]["Name"]):
        process = workers.process_of(service)
        running = [t for t in tasks.read(manager, service) if t.desired == "running"]
        found += [t.instance(process) for t in sorted(running, key=lambda t: t.name)]
    return found


@hookimpl
def instances(app: App, release: Release, settings: Settings) -> list[Instance] | None:
    """Every task the manager wants running: its node's address, published port and state."""
    return _instances(_manager(settings), app)


@hookimpl
def logs(
    app: App, release: Release, settings: Settings, follow: bool, lines: int, stream: TextIO
) -> None:
    """``docker service logs`` of web's service and each other type's, each line
    prefixed by its task (``nap-APP.SLOT@NODE``, ``nap-APP-worker.SLOT@NODE``)."""
    manager = _manager(settings)
    lock = threading.Lock()

    def pump(service: dict[str, Any]) -> None:
        names = {t.id: t.name for t in tasks.read(manager, service)}
        chunks = manager.api.service_logs(
            service["ID"],
            details=True,
            follow=follow,
            stdout=True,
            stderr=True,
            tail=lines if lines else "all",
        )
        for chunk in chunks:
            # Split on newlines only (str.splitlines() splits on more); a chunk ends with one.
            for line in chunk.decode(errors="replace").removesuffix("\n").split("\n"):
                task, message = _split_details(line)
                if task not in names:  # a task started after the listing
                    names.update({t.id: t.name for t in tasks.read(manager, service)})
                with lock:
                    stream.write(f"{names.get(task, task[:12] or service['Spec']['Name'])}: ")
                    stream.write(f"{message}\n")
                    stream.flush()

    services = sorted(workers.app_services(manager, app), key=lambda s: s["Spec"]["Name"])
    if not follow:
        for service in services:
            pump(service)
        return
    threads = [threading.Thread(target=pump, args=(s,), daemon=True) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # join in slices so that Ctrl-C reaches us
            thread.join(0.2)


def _split_details(line: str) -> tuple[str, str]:
    """``com.docker.swarm.task.id=ID,... message`` -> (task ID, message)."""
    details, _, message = line.partition(" ")
    attributes = dict(item.split("=", 1) for item in details.split(",") if "=" in item)
    if "com.docker.swarm.task.id" not in attributes:
        return "", line
    return attributes["com.docker.swarm.task.id"], message


@hookimpl
def control(
    app: App, release: Release, action: Action, settings: Settings, output: Output
) -> list[Instance] | None:
    """stop: scale to 0; start: back to the release's replicas; restart: a forced
    update; for web's service and each other type's."""
    manager = _manager(settings)
    services = workers.app_services(manager, app)
    if not services:
        raise NapError(f"{app.name} has no service on the swarm; deploy it first")
    deadline = time.monotonic() + manager.options.deploy_timeout
    for service in services:
        name = service["Spec"]["Name"]
        spec = service["Spec"]
        replicas = int(spec.get("Labels", {}).get(LABEL_REPLICAS, "1"))
        if action is Action.STOP:
            spec["Mode"] = {"Replicated": {"Replicas": 0}}
        elif action is Action.START:
            spec["Mode"] = {"Replicated": {"Replicas": replicas}}
        else:
            forced = int(spec["TaskTemplate"].get("ForceUpdate", 0)) + 1
            spec["TaskTemplate"]["ForceUpdate"] = forced
        output.line(f"{action}: updating service {name}")
        manager.update(service, spec)
        want = 0 if action is Action.STOP else replicas
        _wait_for(manager, app, name, want, workers.process_of(service) == WEB, deadline)
    return _instances(manager, app)


def _wait_for(manager: Manager, app: App, name: str, want: int, web: bool, deadline: float) -> None:
    """Wait until ``want`` tasks serve (and answer, for web) and the update is over,
    or the deadline."""
    while time.monotonic() < deadline:
        service = manager.service(name, app.name)
        if service is None:
            return
        state = (service.get("UpdateStatus") or {}).get("State", "")
        found = tasks.read(manager, service)
        up = [t for t in found if t.serving and (t.answers() or not web)]
        # A task told to shut down still runs (and answers) until it has stopped.
        running = [t for t in found if t.state == "running" and t.node_ready]
        if state in ("", "completed") and len(up) == want and len(running) == want:
            return
        time.sleep(0.5)
    raise NapError(f"the service of {app.name} did not settle within the deploy timeout")


@hookimpl
def retire(app: App, keep: Release | None, settings: Settings, output: Output) -> None:
    """A service update replaced the old release's tasks in place; what is left to
    remove are the services of process types ``keep``'s Procfile no longer has, and
    the one-offs (on the manager's engine) whose nap process was killed."""
    manager = _manager(settings)
    if keep is not None:
        workers.retire(manager, app, keep, output)
    oneoff.remove_orphans(manager.client, app.name, output)


@hookimpl
def destroy(app: App, settings: Settings, volumes: bool, output: Output) -> None:
    """Remove the app's service and, with ``volumes``, its volumes on every engine nap
    reaches: the manager and the ``swarm.engines``."""
    manager = _manager(settings)
    for service in workers.app_services(manager, app):
        name = service["Spec"]["Name"]
        manager.remove(name)
        output.line(f"removed service {name}")
    if volumes:
        for url in (manager.options.manager, *manager.options.engines):
            _remove_volumes(url, app, output)


def _remove_volumes(url: str, app: App, output: Output) -> None:
    """Remove the app's volumes on one engine, waiting while the removed tasks'
    containers still hold them."""
    import docker.errors

    try:
        client = docker_client(url)
        found = client.volumes.list(filters={"label": f"{LABEL_APP}={app.name}"})
    except (NapError, docker.errors.DockerException) as exc:
        output.line(f"cannot reach {url} to remove volumes: {exc}")
        return
    deadline = time.monotonic() + VOLUME_GRACE
    for volume in found:
        while True:
            try:
                volume.remove()
                output.line(f"removed volume {volume.name} on {url}")
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError as exc:
                if time.monotonic() > deadline:
                    output.line(f"could not remove volume {volume.name} on {url}: {exc}")
                    break
                time.sleep(0.5)
    with contextlib.suppress(Exception):
        client.close()
