"""Images on a Docker engine: reading what a built image declares, and removing
an image's names.
"""

from __future__ import annotations

from typing import Any

from nap_core.model import App, Image
from nap_core.output import Output
from nap_core.values import check_ports, check_volumes
from nap_docker.engine import docker_client


def image_of(
    app: App, attrs: dict[str, Any], tag: str, default_port: int, max_ports: int = 16
) -> Image:
    """Read ports and volumes from an image's inspect data (or a registry's image config).

    EXPOSE lines decide which TCP ports the app listens on; an image with none
    must listen on ``$PORT`` (``default_port``), which nap sets. Both come from
    the push, so both are checked (:mod:`nap_core.values`): at most
    ``max_ports`` ports, VOLUME paths nap can mount.
    """
    config = attrs.get("Config") or {}
    where = f"the image of {app.name}"
    ports = check_ports(config.get("ExposedPorts") or {}, where, max_ports)
    volumes = check_volumes(config.get("Volumes") or {}, where)
    port = ports[0] if ports else default_port
    return Image(
        app=app,
        id=attrs["Id"],
        tag=tag,
        ports=tuple(ports) or (default_port,),
        env=(("PORT", str(port)),),
        volumes=volumes,
    )


def remove_local(reference: str, output: Output | None = None) -> bool:
    """Remove one name of an image from this host's engine; True if it is gone.

    By name, never by image id: two apps whose builds came out identical share
    an image id, and one app's clean-up must not take the other's image. The
    engine deletes the image itself once its last name is gone.
    """
    import docker.errors

    client: Any = docker_client()
    try:
        client.images.remove(reference)
    except docker.errors.ImageNotFound:
        return True
    except docker.errors.APIError as exc:
        if output is not None:
            output.line(f"kept image {reference}: {exc.explanation or exc}")
        return False
    return True
