"""detect and build for Dockerfile apps, through the docker SDK.

The built image is read back to interpret the Dockerfile: its EXPOSE lines
decide which TCP ports are published; an image with none must listen on
``$PORT``, which nap sets (``port``, default 5000). VOLUME lines are recorded.
"""

from __future__ import annotations

from typing import Any

from nap_core.config import Settings
from nap_core.engine import docker_client
from nap_core.errors import BuildFailed
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Image, Release, Source, Tree
from nap_core.output import Output

APP_TYPE = "dockerfile"


@hookimpl(trylast=True)
def detect(app: App, tree: Tree) -> str | None:
    """A Dockerfile at the root of the tree makes a Dockerfile app."""
    return APP_TYPE if "Dockerfile" in tree.names() else None


@hookimpl
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Build with the engine's classic builder, streaming its output line by line."""
    if app_type != APP_TYPE:
        return None
    import docker.errors

    client = docker_client()
    tag = f"{settings.registry}/{app.name}:{release.number}"
    image_id = ""
    try:
        for chunk in client.api.build(
            path=str(source.path), tag=tag, rm=True, forcerm=True, decode=True, pull=False
        ):
            if "stream" in chunk:
                output.line(chunk["stream"])
            elif "error" in chunk:
                raise BuildFailed(f"the build of {app.name} failed: {chunk['error'].strip()}")
            elif "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
        attrs = client.api.inspect_image(image_id or tag)
    except docker.errors.APIError as exc:
        raise BuildFailed(f"the build of {app.name} failed: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        raise BuildFailed(f"the build of {app.name} failed: {exc}") from exc
    return image_of(app, attrs, tag, settings.default_port)


def image_of(app: App, attrs: dict[str, Any], tag: str, default_port: int) -> Image:
    """Read ports and volumes from an image's inspect data."""
    config = attrs.get("Config") or {}
    exposed = config.get("ExposedPorts") or {}
    ports = sorted(
        int(spec.split("/")[0]) for spec in exposed if spec.split("/")[-1] in ("tcp", spec)
    )
    port = ports[0] if ports else default_port
    return Image(
        app=app,
        id=attrs["Id"],
        tag=tag,
        ports=tuple(ports) or (default_port,),
        env=(("PORT", str(port)),),
        volumes=tuple(sorted(config.get("Volumes") or {})),
    )
