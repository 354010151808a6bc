"""Building a release's Swarm service spec (the Engine API's ``ServiceSpec``).

The same :class:`ServiceDraft` renders the stack file kept with the release and
the spec sent to the manager, so the record and what runs cannot drift apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from nap_core.errors import NapError
from nap_core.model import App, AppConfig, Image, Process, Release
from nap_core.proctable import WEB
from nap_core.values import check_label
from nap_docker.envfile import process_env
from nap_docker.labels import LABEL_APP, LABEL_RELEASE
from nap_docker.volumes import volume_name
from nap_swarm.options import SwarmOptions

LABEL_CONFIG = "nap.config"
LABEL_REPLICAS = "nap.replicas"
LABEL_PROCESS = "nap.process"
NANOSECONDS = 1_000_000_000


def service_name(app: App, process: str = WEB) -> str:
    """``nap-APP`` for web, ``nap-APP-TYPE`` for another process type: one service
    per type, whatever the release (63 characters at most)."""
    if process == WEB:
        return f"nap-{app.name}"[:63]
    name = f"nap-{app.name}-{process}"
    if len(name) > 63:
        raise NapError(f"the service name {name} is longer than Swarm's 63 characters")
    return name


def node_image(pinned: str, registry: str, swarm_registry: str) -> str:
    """The image reference as the nodes pull it: ``REGISTRY/APP@sha256:...`` with the
    registry nap pushed to replaced by the one the nodes reach (same repository, same digest)."""
    if registry != swarm_registry and pinned.startswith(registry + "/"):
        return swarm_registry + pinned[len(registry) :]
    return pinned


@attrs.frozen
class ServiceDraft:
    """Everything that defines a release's service, before it becomes JSON or YAML."""

    name: str
    app: str
    release: int
    image: str
    replicas: int
    env: tuple[tuple[str, str], ...]
    secret_keys: tuple[str, ...]
    ports: tuple[tuple[int, int], ...]  # (target, published)
    volumes: tuple[tuple[str, str], ...]  # (volume name, path in the container)
    labels: tuple[tuple[str, str], ...]
    options: SwarmOptions
    #: The process type's command (replaces the image's CMD; empty: the CMD).
    args: tuple[str, ...] = ()

    def spec(self) -> dict[str, Any]:
        """The Engine API ``ServiceSpec`` (API 1.41)."""
        mode = self.options.publish_mode
        container: dict[str, Any] = {
            "Image": self.image,
            "Env": [f"{key}={value}" for key, value in self.env],
            "Labels": dict(self.labels),
            **({"Args": list(self.args)} if self.args else {}),
            # An init as PID 1 forwards SIGTERM: a server that ignores it as PID 1
            # (busybox httpd) would otherwise hold every update for the grace period.
            "Init": True,
            "StopGracePeriod": int(self.options.stop_grace * NANOSECONDS),
            "Mounts": [
                {
                    "Type": "volume",
                    "Source": name,
                    "Target": path,
                    "VolumeOptions": {"Labels": {LABEL_APP: self.app}},
                }
                for name, path in self.volumes
            ],
        }
        update = {
            "Parallelism": 1,
            "Delay": 0,
            "FailureAction": "rollback",
            "Monitor": int(self.options.monitor * NANOSECONDS),
            "MaxFailureRatio": 0,
            "Order": self.options.order,
        }
        return {
            "Name": self.name,
            "Labels": dict(self.labels),
            "TaskTemplate": {
                "ContainerSpec": container,
                "RestartPolicy": {"Condition": "any", "Delay": NANOSECONDS, "MaxAttempts": 0},
                "ForceUpdate": 0,
            },
            "Mode": {"Replicated": {"Replicas": self.replicas}},
            "UpdateConfig": update,
            "RollbackConfig": {**update, "FailureAction": "pause"},
            "EndpointSpec": {
                "Mode": self.options.endpoint_mode,
                "Ports": [
                    {
                        "Protocol": "tcp",
                        "TargetPort": target,
                        "PublishedPort": published,
                        "PublishMode": mode,
                    }
                    for target, published in self.ports
                ],
            },
        }

    def template_context(self, env_file: str) -> dict[str, Any]:
        """What the stack file template gets: no config values, only their names."""
        public = [(key, value) for key, value in self.env if key not in self.secret_keys]
        return {
            "service": self.name,
            "app": self.app,
            "release": self.release,
            "image": self.image,
            "replicas": self.replicas,
            "environment": public,
            "secret_keys": self.secret_keys,
            "env_file": env_file,
            "ports": self.ports,
            "publish_mode": self.options.publish_mode,
            "endpoint_mode": self.options.endpoint_mode,
            "order": self.options.order,
            "monitor": f"{self.options.monitor:g}s",
            "stop_grace": f"{self.options.stop_grace:g}s",
            "volumes": self.volumes,
            "labels": self.labels,
            "args": self.args,
        }


def draft(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    registry: str,
    options: SwarmOptions,
    published: Mapping[int, int],
    process: Process | None = None,
) -> ServiceDraft:
    """The service of one process type (default: web) of ``release``: its image as
    the nodes see it, its environment (the image's own, then config vars; $PORT
    for web only), command, ports (web only), volumes and labels."""
    process = process or Process(WEB)
    env = process_env(image, config, process.name)
    replicas = config.scale(process.name)
    return ServiceDraft(
        name=service_name(app, process.name),
        app=app.name,
        release=release.number,
        image=node_image(image.pinned, registry, options.registry),
        replicas=replicas,
        env=tuple(env.items()),
        secret_keys=tuple(key for key, _ in config.env),
        ports=tuple((port, published[port]) for port in image.ports if port in published),
        volumes=tuple((volume_name(app.name, path), path) for path in image.volumes),
        labels=tuple(
            (check_label(key, "a service label"), check_label(value, f"label {key}"))
            for key, value in (
                (LABEL_APP, app.name),
                (LABEL_RELEASE, str(release.number)),
                (LABEL_CONFIG, config.digest),
                (LABEL_REPLICAS, str(replicas)),
                (LABEL_PROCESS, process.name),
            )
        ),
        options=options,
        args=process.command,
    )


def choose_ports(
    app: App,
    targets: Iterable[int],
    current: Mapping[int, int],
    taken: Iterable[int],
    options: SwarmOptions,
) -> dict[int, int]:
    """A published port for each target port.

    A port the service already publishes stays (clients keep their address across
    deploys); a new one is the first free port of ``swarm.ports``, searched from an
    offset derived from the app name, so apps seldom race for the same port.
    """
    low, high = options.ports
    size = high - low + 1
    used = set(taken)
    chosen: dict[int, int] = {}
    start = int(hashlib.sha256(app.name.encode()).hexdigest(), 16) % size
    for target in targets:
        if target in current:
            chosen[target] = current[target]
            used.add(current[target])
            continue
        for step in range(size):
            port = low + (start + step) % size
            if port not in used:
                chosen[target] = port
                used.add(port)
                break
        else:
            raise NapError(f"no free port left in swarm.ports {low}-{high}; widen the range")
    return chosen
