"""Fleet units carry config values exactly as systemd reads them, and refuse
what a unit cannot carry (read back with tests/readback.py)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from readback import systemd_environment, systemd_words
from sample import APP, IMAGE, RELEASE, settings
from test_quoting import CARRIED

from nap_core.errors import NapError
from nap_core.model import AppConfig
from nap_docker.volumes import volume_name
from nap_fleet import units


def test_the_fleet_run_unit_carries_config_values_exactly(tmp_path: Path) -> None:
    config = AppConfig.from_mapping(CARRIED)
    run = units.render_release(APP, IMAGE, RELEASE, config, settings(tmp_path), set())[1]
    env: dict[str, str] = {}
    for option in units.options(run.text):
        if option.name == "Environment":
            env.update(systemd_environment(option.value))
        if option.name == "ExecStart":
            line = option.value.replace("${COREOS_PUBLIC_IPV4}", "10.0.0.1")  # meant
            words = systemd_words(line, exec_line=True)
            assert (
                words[words.index("--volume") + 1]
                == f"{volume_name('shop', '/var/lib/shop')}:/var/lib/shop"
            )
    assert env == {"PORT": "8080", **CARRIED}


def test_renderers_refuse_a_hostile_volume_path(tmp_path: Path) -> None:
    hostile = attrs.evolve(IMAGE, volumes=("/d\nExecStartPre=/bin/sh",))
    with pytest.raises(NapError, match="VOLUME path"):
        units.render_release(APP, hostile, RELEASE, AppConfig(), settings(tmp_path), set())
