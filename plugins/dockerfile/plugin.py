"""detect and build for Dockerfile apps, through the docker SDK.

The built image is read back to interpret the Dockerfile: its EXPOSE lines
decide which TCP ports are published; an image with none must listen on
``$PORT``, which nap sets (``port``, default 5000). VOLUME lines are recorded.
The build itself is :func:`nap_docker.build.build_image`, which app types
that generate a Dockerfile (contrib/) call too.
"""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Image, Release, Source, Tree
from nap_core.output import Output
from nap_docker.build import build_image, image_tag

APP_TYPE = "dockerfile"


@hookimpl(trylast=True)
def detect(app: App, tree: Tree) -> str | None:
    """A Dockerfile at the root of the tree makes a Dockerfile app."""
    return APP_TYPE if "Dockerfile" in tree.names() else None


@hookimpl
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Build the tree's own Dockerfile with the engine's classic builder."""
    if app_type != APP_TYPE:
        return None
    tag = image_tag(settings, app, release)
    return build_image(
        app,
        source.path,
        tag,
        output,
        settings.default_port,
        None,
        settings.environ,
        timeout=settings.number("build_timeout"),
        max_ports=int(settings.number("max_ports")),
    )
