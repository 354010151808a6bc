"""The fleet units of a release: names, rendering, and the option list fleet's API takes.

A release ``N`` of app ``APP`` is a build unit ``nap-APP-rN-build.service`` and a
run unit template ``nap-APP-rN@.service`` with instances ``nap-APP-rN@1.service``...
Every release gets new names, so a deploy never reuses a unit fleet may still be
destroying.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import App, AppConfig, Image, Release, Unit
from nap_core.proctable import WEB
from nap_core.quoting import systemd_env
from nap_core.templates import render
from nap_docker.envfile import process_env
from nap_docker.volumes import volume_name

PLUGIN = "fleet"
PACKAGE = "nap_fleet"
#: ``nap-APP-rN@I.service`` (web) or ``nap-APP-rN-TYPE@I.service`` → app, release,
#: process type (None: web), instance.
INSTANCE = re.compile(
    r"^nap-(?P<app>[a-z0-9-]+)-r(?P<release>[0-9]+)(?:-(?P<process>[a-z][a-z0-9-]*))?"
    r"@(?P<index>[0-9]*)\.service$"
)


@attrs.frozen
class Option:
    """One line of a unit as fleet's API carries it: section, name, value."""

    section: str
    name: str
    value: str

    def to_dict(self) -> dict[str, str]:
        """The API's ``UnitOption`` entity."""
        return {"section": self.section, "name": self.name, "value": self.value}


def prefix(app: App | str, number: int, process: str = WEB) -> str:
    """``nap-APP-rN`` (web) or ``nap-APP-rN-TYPE``, the stem of a process type's
    unit and container names."""
    name = app.name if isinstance(app, App) else app
    return f"nap-{name}-r{number}" + ("" if process == WEB else f"-{process}")


def template_name(app: App | str, number: int, process: str = WEB) -> str:
    """The run unit template of a process type of a release, ``nap-APP-rN@.service``."""
    return f"{prefix(app, number, process)}@.service"


def instance_name(app: App | str, number: int, index: int, process: str = WEB) -> str:
    """Instance ``index`` (from 1) of a process type's run unit."""
    return f"{prefix(app, number, process)}@{index}.service"


def process_of(unit: str) -> str:
    """The process type of a run unit's name (web when it names none)."""
    match = INSTANCE.match(unit)
    return (match["process"] if match else None) or WEB


def build_name(app: App | str, number: int) -> str:
    """The build unit of a release, ``nap-APP-rN-build.service``."""
    return f"{prefix(app, number)}-build.service"


def release_of(unit: str, app: App) -> int | None:
    """The release number of one of ``app``'s run units (template or instance), else None."""
    match = INSTANCE.match(unit)
    if match is None or match["app"] != app.name:
        return None
    return int(match["release"])


def is_app_unit(unit: str, app: App) -> bool:
    """True for every unit nap made for ``app``: run units and build units."""
    if release_of(unit, app) is not None:
        return True
    return re.fullmatch(rf"nap-{re.escape(app.name)}-r[0-9]+-build\.service", unit) is not None


def metadata(app: App, settings: Settings) -> list[str]:
    """``MachineMetadata`` values: ``apps.APP.metadata``, else ``fleet.metadata`` (``role=web``)."""
    items = settings.items(f"apps.{app.name}.metadata") or settings.items("fleet.metadata")
    for item in items:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+=[A-Za-z0-9_.|-]+", item):
            raise NapError(f"fleet metadata must look like role=web, not {item!r}")
    return items


def registry(settings: Settings) -> str:
    """The registry as the machines see it: ``fleet.registry``, else ``registry``."""
    return settings.get("fleet.registry") or settings.registry


def machine_image(image: Image, settings: Settings) -> str:
    """The digest-pinned reference the machines pull: same repository and digest,
    from the registry as the machines reach it."""
    if not image.digest:
        raise NapError(f"the image of {image.app.name} is not published; fleet machines pull it")
    repository = image.repository or f"{settings.registry}/{image.app.name}"
    published_from = settings.registry.rstrip("/") + "/"
    if repository.startswith(published_from):
        repository = registry(settings).rstrip("/") + "/" + repository[len(published_from) :]
    return f"{repository}@{image.digest}"


def host_ports(ports: tuple[int, ...], taken: set[int]) -> list[tuple[int, int]]:
    """``(host port, container port)`` pairs for a release.

    Each container port is published on the same host port unless a serving
    release (this app's, which runs beside the new one until it answers, or
    another app's) holds it; then on the next free port above it.
    """
    used = set(taken)
    pairs = []
    for port in ports:
        host = port
        while host in used:
            host += 1
        if host > 65535:
            raise NapError(f"no free host port at or above {port} for the fleet units")
        used.add(host)
        pairs.append((host, port))
    return pairs


#: What systemd strips around names and values (Python's str.strip() strips more).
WHITESPACE = " \t\r"

PUBLISH = re.compile(r"--publish \$\{COREOS_PUBLIC_IPV4\}:([0-9]+):([0-9]+)")


def published_ports(text: str) -> tuple[int, ...]:
    """The host ports a rendered run unit publishes on the machine's public IP."""
    ports = tuple(int(host) for host, _ in PUBLISH.findall(text))
    if not ports:
        raise NapError(
            "the fleet run unit publishes no port as --publish ${COREOS_PUBLIC_IPV4}:HOST:PORT, "
            "so nap cannot tell where it answers; check NAP_HOME/templates/fleet/run.service"
        )
    return ports


def environment_lines(env: Mapping[str, str]) -> list[str]:
    """``Environment=`` values, quoted for systemd: ``"KEY=value"``.

    A value systemd cannot carry on one line (a line break of any kind, a
    control character) is refused, naming the config var.
    """
    return [systemd_env(key, value, f"config var {key}") for key, value in env.items()]


def render_build(app: App, release: Release, settings: Settings, source: str = "") -> Unit:
    """The build unit: build ``source`` (a build context URL) and push it as ``APP:N``.

    Without ``source`` it names the revision in ``fleet.source`` (a git URL),
    the record of how the release can be built.
    """
    if not source:
        repo = settings.get("fleet.source") or f"git://{settings.host}/{app.name}.git"
        source = f"{repo}#{release.revision}"
    text = render(
        settings,
        PLUGIN,
        PACKAGE,
        "build.service",
        app=app.name,
        release=release.number,
        revision=release.revision,
        metadata=metadata(app, settings),
        tag=build_tag(app, release, settings),
        source=source,
    )
    return Unit(build_name(app, release.number), text, "build")


def build_tag(app: App, release: Release, settings: Settings) -> str:
    """``REGISTRY/APP:N`` in the registry as the machines see it."""
    return f"{registry(settings)}/{app.name}:{release.number}"


def render_release(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    settings: Settings,
    taken: set[int] | None = None,
) -> list[Unit]:
    """The build unit and a run unit template per process type of a release
    (web's publishes the ports and gets $PORT; the others publish nothing).

    ``taken``: the host ports serving releases publish (see :func:`host_ports`).
    """
    units = [render_build(app, release, settings)]
    for process in release.processes.processes:
        web = process.name == WEB
        env = process_env(image, config, process.name)
        run = render(
            settings,
            PLUGIN,
            PACKAGE,
            "run.service",
            app=app.name,
            release=release.number,
            revision=release.revision,
            metadata=metadata(app, settings),
            prefix=prefix(app, release.number, process.name),
            container=prefix(app, release.number, process.name),
            image=machine_image(image, settings),
            ports=host_ports(image.ports, taken or set()) if web else [],
            environment=environment_lines(env),
            env_names=list(env),
            volumes=[(volume_name(app.name, path), path) for path in image.volumes],
            command=list(process.command),
        )
        units.append(Unit(template_name(app, release.number, process.name), run, "run"))
    return units


def options(text: str) -> list[Option]:
    """Parse unit text into fleet's option list, the way systemd reads it.

    Comments (``#``, ``;``) and blank lines go; a trailing backslash continues a
    line; repeated names stay repeated, in order.
    """
    found: list[Option] = []
    section = ""
    for number, line in _logical_lines(text):
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        name, sep, value = line.partition("=")
        if not sep or not section:
            raise NapError(f"unit line {number} is not NAME=VALUE inside a [Section]: {line!r}")
        found.append(Option(section, name.strip(WHITESPACE), value.strip(WHITESPACE)))
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Stripped lines with backslash continuations joined, each with its first line number."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    # systemd and fleet split unit files on "\n" only; str.splitlines() would
    # also split on U+0085, U+2028, ... and see options that are not there.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(WHITESPACE)
        if pending is not None:
            number, line = pending[0], pending[1] + line
            pending = None
        if line.endswith("\\") and not line.startswith(("#", ";")):
            pending = (number, line[:-1].rstrip(WHITESPACE) + " ")
            continue
        lines.append((number, line))
    if pending is not None:
        lines.append((pending[0], pending[1].rstrip(WHITESPACE)))
    return lines
