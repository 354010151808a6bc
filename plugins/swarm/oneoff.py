"""The swarm scheduler's one-off containers (``run_once``): a plain container on
the manager's engine, pulling the release's image from the registry the nodes
use. A release phase runs once per deploy, so one engine is enough, and its
output and exit status come straight back (a replicated job would need polling)."""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import App, AppConfig, Image, Release
from nap_core.output import Output
from nap_docker import oneoff
from nap_docker.envfile import process_env, write_env_file
from nap_docker.volumes import volume_name
from nap_swarm import options
from nap_swarm.service import node_image


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
    """Run ``command`` in a one-off container on the swarm manager's engine."""
    opts = options.load(settings)
    path = settings.release_dir(app.name, release.number) / "oneoff.env"
    write_env_file(path, process_env(image, config, "run"))
    volumes = [(volume_name(app.name, p), p) for p in image.volumes]
    timeout = settings.number("release_timeout" if output is not None else "run_timeout")
    return oneoff.run(
        app.name,
        release.number,
        node_image(image.pinned, settings.registry, opts.registry),
        command,
        path,
        volumes,
        output,
        timeout,
        engine=("--host", opts.manager),
    )
