"""detect and build for Dockerfile apps, through the docker SDK.

The built image is read back to interpret the Dockerfile: its EXPOSE lines
decide which TCP ports are published; an image with none must listen on
``$PORT``, which nap sets (``port``, default 5000). VOLUME lines are recorded.
"""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.errors import BuildFailed
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Image, Release, Source, Tree
from nap_core.output import Output
from nap_docker.engine import docker_client
from nap_docker.images import image_of

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
