"""On the local scheduler a release starts from its image id while the publish
runs; the switch waits for the publish. A publish that fails after the new
release started fails the release: its containers are removed, the previous
release keeps serving, the push is rejected with one line. Killed meanwhile,
the deploy leaves what any deploy killed before its switch leaves.

The registry is a private docker-registry of this test's on 127.0.0.1:24001,
stopped (SIGSTOP: the push hangs) and then killed by its own PID.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get, remove_app_containers
from test_faults import assert_recovered, kill_when, release_containers, releases, start_deploy
from test_registry import Registry

PORT = 24001


@pytest.fixture
def own_registry(tmp_path: Path, nap: Nap) -> Iterator[Registry]:
    """The test's registry, the one the `nap` commands publish to."""
    registry = Registry(tmp_path / "registry")
    picked = registry.address
    registry.port = PORT  # a port of this test's own, not a random one
    registry.config.write_text(registry.config.read_text().replace(picked, registry.address))
    registry.start()
    nap.env["NAP_REGISTRY"] = registry.address
    yield registry
    if registry.process is not None:
        os.kill(registry.process.pid, signal.SIGCONT)
    registry.stop()


@pytest.fixture
def ff_app(docker_engine: Any) -> Iterator[str]:
    """An app name of this file's own; its containers and images are removed after."""
    name = f"ff{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    for image in docker_engine.images.list():
        for tag in image.tags:  # by name, never by id: layers are shared with other apps
            if f"/{name}:" in tag:
                docker_engine.images.remove(tag)


def running(engine: Any, app: str, number: int) -> bool:
    return any(c.status == "running" for c in release_containers(engine, app, number))


def hang(registry: Registry) -> None:
    assert registry.process is not None
    os.kill(registry.process.pid, signal.SIGSTOP)


def test_the_release_starts_from_the_image_id_and_is_pinned_once_published(
    nap: Nap, sample_app: SampleApp, ff_app: str, own_registry: Registry, docker_engine: Any
) -> None:
    result = nap("deploy", ff_app, str(sample_app.path))
    assert result.returncode == 0, result.stderr

    [record] = [r for r in _releases(nap, ff_app) if r["release"] == 1]
    assert record["image"].startswith(f"{own_registry.address}/{ff_app}@sha256:")
    [container] = release_containers(docker_engine, ff_app, 1)
    # It runs the very image the digest names, started by id before the digest was known.
    assert container.attrs["Config"]["Image"].startswith("sha256:")
    assert container.image.id == docker_engine.images.get(record["image"]).id
    assert "while release 1 starts from sha256:" in result.stderr


def test_a_publish_failing_after_the_release_started_rolls_it_back(
    nap: Nap, sample_app: SampleApp, ff_app: str, own_registry: Registry, docker_engine: Any
) -> None:
    first = nap.deploy_json(ff_app, sample_app.path)
    url = first["placements"][0]["url"]
    sample_app.serve("hello 2")
    hang(own_registry)

    deploy = start_deploy(nap, ff_app, sample_app.path)
    deadline = time.monotonic() + 60
    while not running(docker_engine, ff_app, 2):  # release 2 started; its publish hangs
        assert deploy.poll() is None, deploy.stderr.read()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "release 2 never started"
        time.sleep(0.1)
    assert releases(nap, ff_app) == {2: "deploying", 1: "current"}
    assert own_registry.process is not None
    own_registry.process.kill()  # the registry dies mid-publish
    own_registry.process.wait(10)
    own_registry.process = None
    _, stderr = deploy.communicate(timeout=120)

    assert deploy.returncode != 0
    [error] = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert own_registry.address in error and error.endswith("release 1 still serves")
    assert "Traceback" not in stderr
    assert http_get(url) == "hello 1"
    assert releases(nap, ff_app) == {2: "failed", 1: "current"}
    assert release_containers(docker_engine, ff_app, 2) == []

    own_registry.start()
    again = nap.deploy_json(ff_app, sample_app.path)
    assert again["release"] == 3
    assert http_get(again["placements"][0]["url"]) == "hello 2"


def test_a_deploy_killed_while_its_started_release_waits_for_the_publish(
    nap: Nap, sample_app: SampleApp, ff_app: str, own_registry: Registry, docker_engine: Any
) -> None:
    first = nap.deploy_json(ff_app, sample_app.path)
    sample_app.serve("hello 2")
    hang(own_registry)

    deploy = start_deploy(nap, ff_app, sample_app.path)
    kill_when(deploy, lambda: running(docker_engine, ff_app, 2))
    os.kill(own_registry.process.pid, signal.SIGCONT)  # type: ignore[union-attr]

    assert_recovered(nap, ff_app, first["placements"][0]["url"], docker_engine)
    assert not [
        i for i in docker_engine.images.list() if f"{own_registry.address}/{ff_app}:2" in i.tags
    ]
    record = nap.deploy_json(ff_app, sample_app.path)
    assert record["release"] == 3
    assert http_get(record["placements"][0]["url"]) == "hello 2"


def _releases(nap: Nap, app: str) -> list[dict[str, Any]]:
    import json

    return list(json.loads(nap("releases", app, "--json", check=True).stdout))


@pytest.mark.parametrize(
    ("scheduler", "environ", "starts_early"),
    [
        ("local", {}, True),
        ("local", {"NAP_PUBLISH_FIRST": "true"}, False),
        ("swarm", {}, False),  # its nodes pull the image from the registry
        ("fleet", {}, False),
    ],
)
def test_only_a_scheduler_that_runs_the_built_image_starts_before_the_publish(
    tmp_path: Path, scheduler: str, environ: dict[str, str], starts_early: bool
) -> None:
    from nap_core.config import Settings
    from nap_core.plugins import plugin_manager
    from nap_core.publishing import runs_built_image

    env = {"NAP_HOME": str(tmp_path), "NAP_SCHEDULER": scheduler, "NAP_ROUTER": "none", **environ}
    settings = Settings.load(env)

    assert runs_built_image(plugin_manager(env, settings=settings), settings) is starts_early
