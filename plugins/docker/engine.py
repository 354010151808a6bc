"""Docker engine clients for the plugins that talk to one.

The docker SDK costs about 250 ms to import, so it is imported here, on first
use, never at module import time.
"""

from __future__ import annotations

import functools
from typing import Any

from nap_core.errors import NapError


@functools.cache
def docker_client(base_url: str | None = None, timeout: int = 120) -> Any:
    """A docker SDK client for ``base_url`` (default: ``DOCKER_HOST`` or the local socket).

    The API version is negotiated with the engine, so an engine that speaks only
    API 1.41 (Debian's dockerd 20.10) works. One client per engine and process:
    the negotiation is a round trip.
    """
    import docker
    import docker.errors

    try:
        if base_url:
            return docker.DockerClient(base_url=base_url, version="auto", timeout=timeout)
        return docker.from_env(version="auto", timeout=timeout)
    except docker.errors.DockerException as exc:
        where = base_url or "the local Docker engine"
        raise NapError(f"cannot reach {where}: {exc}; is dockerd running?") from exc
