"""The swarm plugin's spec building, without a swarm: both publish modes, ports, images."""

from __future__ import annotations

from pathlib import Path

import pytest

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import App, AppConfig, Image, Release
from nap_swarm import options
from nap_swarm.service import choose_ports, draft, node_image


def settings(tmp_path: Path, **env: str) -> Settings:
    base = {
        "NAP_HOME": str(tmp_path),
        "NAP_SCHEDULER": "swarm",
        "NAP_SWARM_MANAGER": "tcp://10.0.0.1:2375",
        "NAP_REGISTRY": "127.0.0.1:5001",
    }
    return Settings.load({**base, **env})


def release_of(app: App) -> Release:
    return Release(
        app=app, number=4, revision="r" * 40, tree="t" * 40, config_digest="", scheduler="swarm"
    )


IMAGE = Image(
    app=App("shop"),
    id="sha256:abc",
    tag="127.0.0.1:5001/shop:4",
    ports=(8080,),
    env=(("PORT", "8080"),),
    repository="127.0.0.1:5001/shop",
    digest="sha256:" + "d" * 64,
    volumes=("/data",),
)


def test_ingress_is_the_default_with_vip_and_start_first(tmp_path: Path) -> None:
    opts = options.load(settings(tmp_path))
    spec = draft(
        IMAGE.app, IMAGE, release_of(IMAGE.app), AppConfig(), "127.0.0.1:5001", opts, {8080: 20080}
    ).spec()

    assert opts.registry == "127.0.0.1:5001"  # swarm.registry defaults to registry
    assert spec["EndpointSpec"] == {
        "Mode": "vip",
        "Ports": [
            {
                "Protocol": "tcp",
                "TargetPort": 8080,
                "PublishedPort": 20080,
                "PublishMode": "ingress",
            }
        ],
    }
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"


def test_host_mode_uses_dnsrr_stop_first_and_the_nodes_registry(tmp_path: Path) -> None:
    opts = options.load(
        settings(tmp_path, NAP_SWARM_PUBLISH_MODE="host", NAP_SWARM_REGISTRY="10.77.0.1:5000")
    )
    config = AppConfig.from_mapping({"TOKEN": "secret"}, replicas=3)
    service = draft(
        IMAGE.app, IMAGE, release_of(IMAGE.app), config, "127.0.0.1:5001", opts, {8080: 20080}
    )
    spec = service.spec()

    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == "10.77.0.1:5000/shop@sha256:" + "d" * 64
    assert container["Env"] == ["PORT=8080", "TOKEN=secret"]
    assert container["Init"] is True
    assert container["Mounts"][0]["Source"].startswith("nap-shop_data-")
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert spec["EndpointSpec"]["Ports"][0]["PublishMode"] == "host"
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    context = service.template_context("/x/env")
    assert ("TOKEN", "secret") not in context["environment"]
    assert context["secret_keys"] == ("TOKEN",)


def test_a_bad_publish_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NapError, match=r"swarm\.publish_mode"):
        options.load(settings(tmp_path, NAP_SWARM_PUBLISH_MODE="mesh"))


def test_the_manager_must_be_configured(tmp_path: Path) -> None:
    with pytest.raises(NapError, match="NAP_SWARM_MANAGER"):
        options.load(settings(tmp_path, NAP_SWARM_MANAGER=""))


def test_ports_stay_across_deploys_and_new_ones_avoid_taken_ones(tmp_path: Path) -> None:
    opts = options.load(settings(tmp_path, NAP_SWARM_PORTS="20000-20002"))
    app = App("shop")

    assert choose_ports(app, [8080], {8080: 20001}, [20001], opts) == {8080: 20001}
    assert choose_ports(app, [8080], {}, [20000, 20001], opts) == {8080: 20002}
    with pytest.raises(NapError, match="no free port"):
        choose_ports(app, [8080, 9090], {}, [20000, 20001], opts)


def test_node_image_swaps_only_the_registry() -> None:
    pinned = "127.0.0.1:5001/shop@sha256:" + "d" * 64
    assert (
        node_image(pinned, "127.0.0.1:5001", "10.77.0.1:5000")
        == "10.77.0.1:5000/shop@sha256:" + "d" * 64
    )
    assert node_image(pinned, "127.0.0.1:5001", "127.0.0.1:5001") == pinned


def test_a_local_deploy_registers_no_swarm_hook(tmp_path: Path) -> None:
    from nap_core.plugins import plugin_manager

    local = Settings.load({"NAP_HOME": str(tmp_path), "NAP_SCHEDULER": "local"})
    pm = plugin_manager(settings=local)

    assert pm.active == {"scheduler": "local", "router": "caddy"}  # the default router
    assert pm.get_plugin("swarm") is None and pm.get_plugin("fleet") is None
    assert {impl.plugin_name for impl in pm.hook.render_units.get_hookimpls()} == {"local"}
