"""publish: push the built image and return it pinned by its registry digest;
unpublish: delete it again (image clean-up, ``nap apps destroy``).

Everything downstream runs ``REPOSITORY@sha256:...``, never the mutable tag,
so every host that runs a release runs the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs

from nap_core.config import Settings
from nap_core.deadline import TimedOut, until
from nap_core.errors import PublishFailed
from nap_core.hookimpl import hookimpl
from nap_core.model import Image
from nap_core.output import Output
from nap_docker.engine import CHECK, docker_client
from nap_docker.images import remove_local
from nap_registry.api import check_answers, delete_manifest

#: Seconds the registry has to answer its first request, within ``publish_timeout``.
PROBE_SECONDS = 10.0


@hookimpl
def publish(image: Image, settings: Settings, output: Output) -> Image | None:
    """Push ``image.tag`` to the registry and read the digest it answers with."""
    import docker.errors
    import requests.exceptions
    import urllib3.exceptions

    repository, _, tag = image.tag.rpartition(":")
    timeout = settings.number("publish_timeout")
    started = time.monotonic()
    check_answers(settings.registry, min(PROBE_SECONDS, timeout))
    client = docker_client(timeout=int(timeout) + 60)
    digest = ""

    def chunks() -> Iterator[dict[str, Any]]:
        yield from client.api.push(repository, tag=tag, stream=True, decode=True)

    try:
        for chunk in until(chunks(), started + timeout, f"the push of {image.tag}"):
            if "error" in chunk:
                raise PublishFailed(_explain(settings.registry, chunk["error"]))
            aux = chunk.get("aux") or {}
            if "Digest" in aux:
                digest = aux["Digest"]
    except TimedOut:
        raise PublishFailed(
            f"the push to the registry {settings.registry} did not finish within "
            f"{timeout:g} s (publish_timeout); check that the registry is running and not "
            "stopped, and that its disk is not full"
        ) from None
    except docker.errors.APIError as exc:
        raise PublishFailed(_explain(settings.registry, str(exc.explanation or exc))) from exc
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
        # The engine itself went away (or hung) mid-push.
        lost = f"the push of {image.tag} lost the Docker engine"
        raise PublishFailed(f"{lost}: {exc}; {CHECK}") from exc
    if not digest:
        raise PublishFailed(
            f"the registry {settings.registry} did not return a digest for {image.tag}"
        )
    output.line(f"digest {digest}")
    return attrs.evolve(image, repository=repository, digest=digest)


@hookimpl
def unpublish(image: Image, settings: Settings, output: Output) -> bool | None:
    """Remove the image's names on this engine (by name, never by id), then its
    manifest in the registry."""
    gone = all([remove_local(ref, output) for ref in image.references])
    if image.digest:
        gone = delete_manifest(image.repository, image.digest, output) and gone
    return gone


def _explain(registry: str, error: str) -> str:
    error = error.strip()
    if any(sign in error for sign in _UNREACHABLE):
        return (
            f"cannot push to the registry {registry}: {error}; check that the registry is "
            "running and not stopped"
        )
    return f"the push to the registry {registry} failed: {error}"


#: How the engine says that it could not reach a registry, or that it went silent.
_UNREACHABLE = (
    "connection refused", "no such host", "timeout", "deadline exceeded", "connection reset",
    "EOF", "broken pipe",
)  # fmt: skip
