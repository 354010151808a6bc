"""An app's replica count: `nap ps scale`, then `[apps.APP] replicas`, then `replicas`,
then 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.lifecycle import app_config
from nap_core.model import App
from nap_core.state import Change, State


def config_of(tmp_path: Path, toml: str = "", **env: str) -> int:
    (tmp_path / "nap.toml").write_text(toml)
    settings = Settings.load({"NAP_HOME": str(tmp_path), **env})
    state = State(tmp_path)
    try:
        state.ensure_app(App("shop"))
        return app_config(state, App("shop"), settings).replicas
    finally:
        state.close()


def test_one_replica_by_default(tmp_path: Path) -> None:
    assert config_of(tmp_path) == 1


def test_the_app_s_own_count_wins_over_the_global_one(tmp_path: Path) -> None:
    toml = "replicas = 2\n[apps.shop]\nreplicas = 3\n[apps.other]\nreplicas = 5\n"
    assert config_of(tmp_path, toml) == 3
    assert config_of(tmp_path, "replicas = 2\n") == 2
    assert config_of(tmp_path, toml, NAP_APPS_SHOP_REPLICAS="4") == 4


def test_a_replica_count_changes_the_config_digest(tmp_path: Path) -> None:
    settings = Settings.load({"NAP_HOME": str(tmp_path), "NAP_REPLICAS": "2"})
    state = State(tmp_path)
    state.ensure_app(App("shop"))
    default = Settings.load({"NAP_HOME": str(tmp_path)})
    assert app_config(state, App("shop"), settings).digest != (
        app_config(state, App("shop"), default).digest
    )
    state.commit(App("shop"), Change(replicas=5))
    assert app_config(state, App("shop"), settings).replicas == 5
    state.close()


@pytest.mark.parametrize("value", ["two", "0"])
def test_a_bad_count_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(NapError, match="replicas must be"):
        config_of(tmp_path, NAP_REPLICAS=value)
