"""A release's environment file: ``KEY=VALUE`` lines, config vars included.

Every scheduler that hands an environment to its engine through a file writes
it here, created private before a byte is written: config values are secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from nap_core.config import Settings
from nap_core.model import AppConfig, Image, Release
from nap_core.quoting import env_file_line


def env_file(settings: Settings, release: Release) -> Path:
    """``NAP_HOME/apps/APP/releases/N/env``."""
    return settings.release_dir(release.app.name, release.number) / "env"


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """Write ``KEY=VALUE`` lines into ``path``, mode 0600 (also when it existed before).

    Every line is quoted by :func:`~nap_core.quoting.env_file_line`, which refuses
    a value docker's ``--env-file`` could not read back exactly.
    """
    lines = [env_file_line(key, value, f"config var {key}") for key, value in env.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in lines))


def process_env(image: Image, config: AppConfig, process: str) -> dict[str, str]:
    """The environment of a process type (or of a one-off, ``"run"``): the image's,
    then the config vars; only web gets ``$PORT`` (it alone serves)."""
    env = {**dict(image.env), **config.environment}
    if process != "web":
        env.pop("PORT", None)
    return env
