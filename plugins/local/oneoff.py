"""The local scheduler's one-off containers (``run_once``): a release phase,
app.json's scripts, ``nap run``; on this host's engine."""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import App, AppConfig, Image, Release
from nap_core.output import Output
from nap_docker import oneoff
from nap_docker.engine import engine_client
from nap_docker.envfile import process_env, write_env_file
from nap_local import volumes


@hookimpl
def run_once(
    app: App,
    image: Image,
    release: Release,
    config: AppConfig,
    command: tuple[str, ...],
    settings: Settings,
    output: Output | None,
) -> int | None:
    """Run ``command`` in a one-off container of ``image``, the app's volumes mounted."""
    path = settings.release_dir(app.name, release.number) / "oneoff.env"
    write_env_file(path, process_env(image, config, "run"))
    client = engine_client(settings)
    mounts = [(volumes.ensure(client, app, p, release.number), p) for p in image.volumes]
    timeout = settings.number("release_timeout" if output is not None else "run_timeout")
    return oneoff.run(
        app.name, release.number, image.pinned, command, path, mounts, output, timeout
    )
