"""The values passed between hooks.

All of them are frozen: a hook that wants a changed value returns a new one made
with :func:`attrs.evolve`, never mutates its arguments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

# Health checks are values hooks pass too; they live in their own module.
from nap_core.checks import Check as Check
from nap_core.checks import HealthChecks as HealthChecks
from nap_core.names import check_app_name, check_config_key
from nap_core.placement import Action as Action
from nap_core.placement import Instance as Instance
from nap_core.placement import Placement as Placement
from nap_core.proctable import Process as Process
from nap_core.proctable import ProcessTable as ProcessTable
from nap_core.tree import Tree as Tree  # re-exported: hooks get it with the other values


@attrs.frozen
class App:
    """An app known to nap, by its validated name."""

    name: str = attrs.field(validator=lambda _i, _a, v: check_app_name(v))


@attrs.frozen
class Request:
    """What reached nap, before any plugin has interpreted it.

    ``kind`` says where it came from: ``"pre-receive"`` (a git push, from the
    bare repo's hook: ``repo`` and ``updates`` are set) or ``"redeploy"`` (a
    local ``nap deploy`` of a revision the repo already holds: ``repo`` and
    ``revision``).
    """

    kind: str
    repo: Path
    updates: tuple[tuple[str, str, str], ...] = ()
    revision: str = ""
    key: str = ""


@attrs.frozen
class Push:
    """A push nap accepted: the app, the branch ref and the revisions."""

    app: App
    ref: str
    old: str
    new: str
    repo: Path
    key: str = ""


@attrs.frozen
class Source:
    """A checked-out tree of exactly the pushed revision."""

    app: App
    revision: str
    tree: str
    path: Path


@attrs.frozen
class AppConfig:
    """An app's configuration: its environment variables and settings.

    ``digest`` identifies the content, so two deploys with equal config need
    no re-render.
    """

    env: tuple[tuple[str, str], ...] = ()
    replicas: int = 1
    #: How many instances of each process type other than web run (web: ``replicas``).
    formation: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_mapping(
        cls, env: Mapping[str, str], replicas: int = 1, formation: Mapping[str, int] | None = None
    ) -> AppConfig:
        """Build a config from a mapping, keys and values checked, sorted by key."""
        from nap_core.values import check_config_value

        others = tuple(sorted((k, v) for k, v in (formation or {}).items() if k != "web"))
        pairs = (
            (check_config_key(k), check_config_value(v, f"the value of config var {k}"))
            for k, v in env.items()
        )
        return cls(tuple(sorted(pairs)), replicas, others)

    def scale(self, process: str) -> int:
        """How many instances of ``process`` run: ``replicas`` for web, else its formation."""
        return self.replicas if process == "web" else dict(self.formation).get(process, 0)

    @property
    def environment(self) -> dict[str, str]:
        """The variables as a dict."""
        return dict(self.env)

    @property
    def digest(self) -> str:
        """A short hash of everything that changes how the release runs."""
        content: dict[str, Any] = {"env": self.env, "replicas": self.replicas}
        if any(count for _, count in self.formation):
            # Only then: the digest of a web-only app is what it was before process types.
            content["formation"] = [list(p) for p in self.formation if p[1]]
        data = json.dumps(content, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


@attrs.frozen
class Image:
    """A built image. ``digest`` is set once it is published to a registry.

    ``ports`` are the TCP ports the app listens on inside the container
    (its EXPOSE lines, or ``$PORT`` when it has none); ``env`` holds variables
    nap sets for the app, such as ``PORT``.
    """

    app: App
    id: str
    tag: str
    ports: tuple[int, ...]
    env: tuple[tuple[str, str], ...] = ()
    repository: str = ""
    digest: str = ""
    volumes: tuple[str, ...] = ()

    @property
    def pinned(self) -> str:
        """The immutable reference ``REPOSITORY@sha256:...``; until published, the
        image id (as immutable, valid on the engine that built it), else the tag."""
        return f"{self.repository}@{self.digest}" if self.digest else (self.id or self.tag)

    @property
    def references(self) -> list[str]:
        """The names the image has on the host that built it: its tag and its pinned name."""
        refs = [self.tag] if self.tag else []
        if self.repository and self.digest:
            refs.append(self.pinned)
        return refs

    def to_dict(self) -> dict[str, Any]:
        """What is stored of an image, to run it again without a build."""
        return {
            "id": self.id,
            "tag": self.tag,
            "ports": list(self.ports),
            "env": [list(pair) for pair in self.env],
            "repository": self.repository,
            "digest": self.digest,
            "volumes": list(self.volumes),
        }

    @classmethod
    def from_dict(cls, app: App, data: Mapping[str, Any]) -> Image:
        """The inverse of :meth:`to_dict`."""
        return cls(
            app=app,
            id=data.get("id", ""),
            tag=data.get("tag", ""),
            ports=tuple(data.get("ports", ())),
            env=tuple((k, v) for k, v in data.get("env", ())),
            repository=data.get("repository", ""),
            digest=data.get("digest", ""),
            volumes=tuple(data.get("volumes", ())),
        )


@attrs.frozen
class Unit:
    """A rendered unit: a systemd unit, a fleet unit or a scheduler's spec.

    ``kind`` is ``"build"``, ``"run"`` or ``"spec"``.
    """

    name: str
    text: str
    kind: str = "run"


@attrs.frozen
class Release:
    """A numbered release of an app: one revision, one image, one config.

    ``image`` is ``None`` until the release's image is built and published;
    ``pruned`` says image clean-up removed it since (a rollback to it then
    needs the revision pushed again).
    """

    app: App
    number: int
    revision: str
    tree: str
    config_digest: str
    scheduler: str
    image: Image | None = None
    status: str = "pending"
    units: tuple[Unit, ...] = ()
    placements: tuple[Placement, ...] = ()
    created: float = 0.0
    checks: HealthChecks = attrs.field(factory=HealthChecks)
    config_version: int = 0
    pruned: bool = False
    #: The process types it runs, its release command, app.json's scripts and formation.
    processes: ProcessTable = attrs.field(factory=ProcessTable)
    #: While deploying: ``processes.identity()`` of the process deploying it.
    deployer: str = ""
    #: The app's stable addresses at the router, once this release serves there.
    urls: tuple[str, ...] = ()

    def to_dict(self, current: bool = False) -> dict[str, Any]:
        """The release record of the interface contract (``nap deploy --json``)."""
        return {
            "app": self.app.name,
            "release": self.number,
            "revision": self.revision,
            "tree": self.tree,
            "image": self.image.pinned if self.image else "",
            "scheduler": self.scheduler,
            "current": current,
            "urls": list(self.urls),
            "placements": [p.to_dict() for p in self.placements],
        }
