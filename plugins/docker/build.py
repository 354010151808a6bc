"""Building an image through the engine: the one build function of every app type.

The Dockerfile app type builds the app's own Dockerfile; app types that
generate one (nap-python, nap-node, nap-static) pass its text, and the context
is the checked-out tree either way. Both stream the engine's output line by
line and read the image back the same way (:func:`image_of`).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from nap_core.config import Settings
from nap_core.deadline import TimedOut, until
from nap_core.errors import BuildFailed, NapError
from nap_core.model import App, Image, Release, Source
from nap_core.output import Output
from nap_docker.engine import CHECK, PROBE_SECONDS, check_answers, docker_client, engine_url
from nap_docker.images import image_of

#: Proxy variables passed to a build when nap's environment has them. They are
#: Docker's predefined build args: RUN steps see them, the image does not keep them.
PROXY_VARIABLES = (
    "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
)  # fmt: skip


#: The classic builder names each RUN step's container in its output.
RUNNING_IN = re.compile(r"---> Running in ([0-9a-f]{12,64})")


def image_tag(settings: Settings, app: App, release: Release) -> str:
    """The tag a release's image is built as: ``REGISTRY/APP:N``."""
    return f"{settings.registry}/{app.name}:{release.number}"


def proxy_build_args(environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy variables of ``environ`` that are set, as build args."""
    return {name: environ[name] for name in PROXY_VARIABLES if environ.get(name)}


def build_image(
    app: App,
    context: Path,
    tag: str,
    output: Output,
    default_port: int,
    dockerfile: str | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 900.0,
    max_ports: int = 16,
) -> Image:
    """Build ``context`` with the classic builder and return the image.

    :param context: the build context (the checked-out tree).
    :param tag: what to tag the image (:func:`image_tag`).
    :param output: where the engine's output goes, line by line.
    :param default_port: the ``$PORT`` of an image that exposes no port.
    :param dockerfile: the text of a generated Dockerfile; ``None`` builds the
        context's own ``Dockerfile``. A generated one is written outside the
        context, so it is neither part of the tree nor copied into the image.
    :param environ: where proxy variables are read (:func:`proxy_build_args`),
        default ``os.environ``.
    :param timeout: seconds the whole build may take (``build_timeout``); at the
        deadline the running step's container is killed and the build fails.
    :param max_ports: how many ports the image may expose (``max_ports``).
    :raise BuildFailed: with the engine's error when the build fails.
    """
    import os

    args = proxy_build_args(os.environ if environ is None else environ)
    limits = Limits(timeout, max_ports)
    if dockerfile is None:
        return _build(app, context, tag, output, default_port, None, args, limits)
    with tempfile.TemporaryDirectory(prefix=f"nap-dockerfile-{app.name}-") as tmp:
        path = Path(tmp) / "Dockerfile"
        path.write_text(dockerfile)
        return _build(app, context, tag, output, default_port, str(path), args, limits)


def build_generated(
    app: App,
    source: Source,
    release: Release,
    settings: Settings,
    output: Output,
    dockerfile: str,
    notes: Iterable[str] = (),
) -> Image:
    """Build a generated Dockerfile on the checked-out tree as ``REGISTRY/APP:N``.

    What app types that generate a Dockerfile call from their ``build`` hook;
    ``notes`` (which base image, which web command) go to the push first.
    """
    for note in notes:
        output.line(note)
    tag = image_tag(settings, app, release)
    return build_image(
        app,
        source.path,
        tag,
        output,
        settings.default_port,
        dockerfile,
        settings.environ,
        timeout=settings.number("build_timeout"),
        max_ports=int(settings.number("max_ports")),
    )


class Limits(NamedTuple):
    """How long a build may take and how many ports its image may expose."""

    timeout: float
    max_ports: int


def _build(
    app: App,
    context: Path,
    tag: str,
    output: Output,
    default_port: int,
    dockerfile: str | None,
    buildargs: dict[str, str],
    limits: Limits,
) -> Image:
    import requests.exceptions
    import urllib3.exceptions

    import docker.errors

    # The engine connection's own read timeout must not cut a quiet step first.
    client = docker_client(timeout=int(limits.timeout) + 60)
    image_id = ""
    step = ""  # the container of the RUN step in progress

    def stream() -> Iterator[dict[str, Any]]:
        # Called in the reading thread: sending the context may block too.
        yield from client.api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
            pull=False,
            buildargs=buildargs or None,
        )

    deadline = time.monotonic() + limits.timeout
    try:
        for chunk in until(stream(), deadline, f"the build of {app.name}"):
            if "stream" in chunk:
                # The classic builder colours a step's stderr; pushes carry no escapes.
                output.line(chunk["stream"].replace("\x1b[91m", "").replace("\x1b[0m", ""))
                running = RUNNING_IN.search(chunk["stream"])
                step = running[1] if running else step
            elif "error" in chunk:
                raise BuildFailed(f"the build of {app.name} failed: {chunk['error'].strip()}")
            elif "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
        attrs = client.api.inspect_image(image_id or tag)
    except TimedOut:
        stop_step(client, step, output)
        raise BuildFailed(
            f"the build of {app.name} did not finish within {limits.timeout:g} s (build_timeout)"
        ) from None
    except docker.errors.APIError as exc:
        raise BuildFailed(f"the build of {app.name} failed: {exc.explanation or exc}") from exc
    except (
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,  # the engine died mid-stream
    ) as exc:
        raise BuildFailed(f"the build of {app.name} failed: {exc}; {CHECK}") from exc
    return image_of(app, attrs, tag, default_port, limits.max_ports)


def stop_step(client: Any, container: str, output: Output) -> None:
    """Kill and remove the container of a build step that ran past the deadline."""
    import docker.errors

    if not container:
        return
    try:
        check_answers(engine_url(), PROBE_SECONDS)  # a hung engine would hold us a minute more
    except NapError as exc:
        raise BuildFailed(f"the build did not finish in time: {exc}") from None
    try:
        client.api.remove_container(container, force=True)
        output.line(f"stopped the build step's container {container}")
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        output.line(f"could not stop the build container {container}: {exc.explanation or exc}")
