"""``fleet.build = "cluster"``: a machine builds and pushes the release with the build unit.

A pushed revision sits in git's quarantine until the pre-receive hook accepts
the push, so no machine could fetch it from nap's repository. nap therefore
serves the checked-out tree itself, as a tar build context at an unguessable
URL, for as long as the build unit runs; then it reads the pushed image's
digest, ports and volumes back from the registry.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs

from nap_core.config import Settings
from nap_core.errors import BuildFailed
from nap_core.model import App, Image, Release, Source
from nap_core.output import Output
from nap_docker.images import image_of
from nap_fleet import units
from nap_fleet.client import LAUNCHED, FleetClient, FleetError
from nap_fleet.rollout import locate

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def build(
    fleet: FleetClient,
    app: App,
    source: Source,
    release: Release,
    settings: Settings,
    output: Output,
) -> Image:
    """Run the release's build unit on a machine; return the image it pushed, pinned."""
    timeout = settings.number("fleet.build_timeout", 600.0)
    with serve_context(source.path, settings) as url:
        unit = units.render_build(app, release, settings, source=url)
        output.line(f"building on the cluster: {unit.name}")
        fleet.submit(unit.name, unit.text, LAUNCHED)
        try:
            where = wait_built(fleet, unit.name, timeout)
        finally:
            with contextlib.suppress(FleetError):
                fleet.destroy(unit.name)
    output.line(f"built and pushed on {where}")
    return registry_image(app, release, settings)


def wait_built(fleet: FleetClient, name: str, timeout: float, poll: float = 1.0) -> str:
    """Wait until the oneshot build unit has exited; return the machine's IP."""
    deadline = time.monotonic() + timeout
    seen_running = False
    while True:
        [where] = locate(fleet, [name])
        state = where.state
        if state is not None and state.active == "active" and state.sub == "exited":
            return where.ip
        if where.failed or (seen_running and state is not None and state.active == "inactive"):
            raise BuildFailed(
                f"the build failed: {where.words}; `journalctl -u {name}` on {where.ip} shows why"
            )
        seen_running = seen_running or (state is not None and state.active == "activating")
        if time.monotonic() > deadline:
            raise BuildFailed(f"the build did not finish within {timeout:g} s: {where.words}")
        time.sleep(poll)


@contextlib.contextmanager
def serve_context(path: Path, settings: Settings) -> Iterator[str]:
    """Serve ``path`` as a tar build context; yield its URL as the machines reach it.

    ``fleet.context_address`` is where the machines reach nap (default ``host``);
    ``fleet.context_port`` its port (default: any free one).
    """
    address = settings.get("fleet.context_address") or settings.host
    port = int(settings.number("fleet.context_port", 0.0))
    data = tar_of(path)
    token = secrets.token_urlsafe(24)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != f"/{token}.tar.gz":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((address, port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_port}/{token}.tar.gz"
    finally:
        server.shutdown()
        server.server_close()


def tar_of(path: Path) -> bytes:
    """The tree at ``path`` as a gzipped tar.

    Compressed, because dockerd recognises a remote context as an archive by
    its compression magic; a plain tar is taken for a Dockerfile.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for child in sorted(path.iterdir()):
            tar.add(child, arcname=child.name)
    return buffer.getvalue()


def registry_image(app: App, release: Release, settings: Settings) -> Image:
    """The image the build unit pushed, read from the registry (as nap reaches it)."""
    base = f"http://{settings.registry}/v2/{app.name}"
    tag = f"{settings.registry}/{app.name}:{release.number}"
    try:
        manifest, headers = _get(f"{base}/manifests/{release.number}", MANIFEST_V2)
        config, _ = _get(f"{base}/blobs/{manifest['config']['digest']}", "application/json")
    except (OSError, ValueError, KeyError) as exc:
        raise BuildFailed(
            f"the build unit finished but {tag} cannot be read from the registry: {exc}"
        ) from exc
    image = image_of(
        app,
        {"Id": manifest["config"]["digest"], "Config": config.get("config") or {}},
        tag,
        settings.default_port,
    )
    return attrs.evolve(
        image,
        repository=f"{settings.registry}/{app.name}",
        digest=headers.get("Docker-Content-Digest", ""),
    )


def _get(url: str, accept: str) -> tuple[Any, Any]:
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read()), response.headers
