"""The fleet scheduler's ``run_once``: refused, fleet has no one-off units."""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.hookimpl import hookimpl
from nap_core.model import App, AppConfig, Image, Release
from nap_core.output import Output


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
    """fleet has no one-off units: release phases, app.json scripts, ``nap run`` are refused."""
    raise NapError(
        "the fleet scheduler cannot run one-off commands (a Procfile release entry, app.json "
        "predeploy/postdeploy, nap run): remove them, or use scheduler = local or swarm"
    )
