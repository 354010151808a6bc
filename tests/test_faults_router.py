"""A deploy killed behind the router (real Caddy, engine, registry): during the
publish, during the release phase, and during the drain. A request loop runs
through the router across the kill and the recovery and must see no failure.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import HTTPD_DOCKERFILE, SampleApp
from faultlab import (
    POSTDEPLOY,
    HoldingProxy,
    kill_when,
    release_containers,
    releases,
    remove_app,
    start_deploy,
    text_of,
)
from routerlab import RequestLoop, RouterHome, get

from nap_core.locks import if_free

#: This suite's own ports (router HTTP, HTTPS, the registry proxy).
HTTP_PORT, HTTPS_PORT, PROXY_PORT = 21000, 21001, 21010


@pytest.fixture
def routed(docker_engine: Any) -> Iterator[RouterHome]:
    """A NAP_HOME with Caddy on this suite's ports; stopped and removed after."""
    home = RouterHome(dict(os.environ))
    home.http_port, home.https_port = HTTP_PORT, HTTPS_PORT
    home.nap.env.update(NAP_ROUTER_HTTP_PORT=str(HTTP_PORT), NAP_ROUTER_HTTPS_PORT=str(HTTPS_PORT))
    try:
        yield home
    finally:
        home.stop()


@pytest.fixture
def fkapp(docker_engine: Any) -> Iterator[str]:
    """A fresh app name; its containers, one-offs, image tags and volumes go after."""
    name = f"fk{uuid.uuid4().hex[:8]}"
    yield name
    remove_app(docker_engine, name, ("127.0.0.1:5000", f"127.0.0.1:{PROXY_PORT}"))


def tags_of(engine: Any, registry: str, app: str) -> set[str]:
    """The app's local image tags (``N`` of ``REGISTRY/APP:N``)."""
    repository = f"{registry}/{app}"
    return {
        tag.rpartition(":")[2]
        for image in engine.images.list(name=repository)
        for tag in image.tags
        if tag.rpartition(":")[0] == repository
    }


def assert_recovered(routed: RouterHome, app: str, engine: Any, registry: str) -> None:
    """What a deploy killed before its switch must leave, checked by the next commands."""
    assert releases(routed.nap, app) == {2: "failed", 1: "current"}
    assert release_containers(engine, app, 2) == []  # removed by that command
    assert "2" not in tags_of(engine, registry, app)  # and its image
    with if_free(routed.home, app) as free:
        assert free
    assert get(routed.http_port, f"{app}.localhost") == (200, "hello 1")


def then_the_next_push_deploys(routed: RouterHome, app: str, sample: SampleApp) -> None:
    sample.write("Procfile", "")
    sample.write("app.json", "{}")
    sample.serve("hello 3")
    routed.nap("deploy", app, str(sample.path), check=True)
    assert get(routed.http_port, f"{app}.localhost") == (200, "hello 3")
    assert releases(routed.nap, app)[3] == "current"


def test_a_deploy_killed_during_its_publish_leaves_release_1_serving_through_the_router(
    routed: RouterHome, sample_app: SampleApp, fkapp: str, docker_engine: Any
) -> None:
    registry = f"127.0.0.1:{PROXY_PORT}"
    routed.nap.env["NAP_REGISTRY"] = registry
    log = routed.home / "apps" / fkapp / "releases" / "2" / "build.log"
    with HoldingProxy(PROXY_PORT, ("127.0.0.1", 5000)) as proxy:
        routed.nap("deploy", fkapp, str(sample_app.path), check=True)
        sample_app.serve("hello 2")
        with RequestLoop(routed.http_port, f"{fkapp}.localhost") as loop:
            proxy.hold()  # the push of release 2 starts, and gets no further
            deploy = start_deploy(routed.nap, fkapp, sample_app.path)
            kill_when(deploy, lambda: "Publishing to" in text_of(log) and proxy.stalled > 0)
            proxy.release()
            assert_recovered(routed, fkapp, docker_engine, registry)
            then_the_next_push_deploys(routed, fkapp, sample_app)
    loop.assert_never_failed()
    assert {"hello 1", "hello 3"} >= set(loop.bodies)


def test_a_deploy_killed_during_its_release_phase_leaves_release_1_serving_through_the_router(
    routed: RouterHome, sample_app: SampleApp, fkapp: str, docker_engine: Any
) -> None:
    routed.nap("deploy", fkapp, str(sample_app.path), check=True)
    sample_app.write("Procfile", "release: /bin/busybox sleep 60\n")
    # A new VOLUME: the release phase's container mounts a volume made for it.
    sample_app.write("Dockerfile", HTTPD_DOCKERFILE + "VOLUME /data\n")
    sample_app.serve("hello 2")
    volumes = {"label": f"nap.app={fkapp}"}
    with RequestLoop(routed.http_port, f"{fkapp}.localhost") as loop:
        deploy = start_deploy(routed.nap, fkapp, sample_app.path)
        kill_when(
            deploy,
            lambda: any(c.status == "running" for c in release_containers(docker_engine, fkapp, 2)),
        )
        assert len(docker_engine.volumes.list(filters=volumes)) == 1
        assert_recovered(routed, fkapp, docker_engine, "127.0.0.1:5000")
        assert docker_engine.volumes.list(filters=volumes) == []  # only release 2 had it
        then_the_next_push_deploys(routed, fkapp, sample_app)
    loop.assert_never_failed()
    assert {"hello 1", "hello 3"} >= set(loop.bodies)


def test_a_deploy_killed_during_the_drain_ends_with_the_new_release_serving_and_the_old_retired(
    routed: RouterHome, sample_app: SampleApp, fkapp: str, docker_engine: Any
) -> None:
    """The switch is done: recovered means release 2 current and serving, release 1's
    containers (whose drain was killed too) removed by the next command."""
    routed.nap.env["NAP_ROUTER_DRAIN"] = "30"  # the kill comes well inside it
    routed.nap("deploy", fkapp, str(sample_app.path), check=True)
    # postdeploy runs after the switch and the drain's start: it holds the deploy there.
    sample_app.write("app.json", POSTDEPLOY % "/bin/busybox sleep 60")
    sample_app.serve("hello 2")
    with RequestLoop(routed.http_port, f"{fkapp}.localhost") as loop:
        deploy = start_deploy(routed.nap, fkapp, sample_app.path)
        kill_when(
            deploy,
            lambda: (
                bool(routed.drain_pids())
                and bool(docker_engine.containers.list(filters={"label": f"nap.oneoff={fkapp}"}))
            ),
        )
        for pid in routed.drain_pids():  # the whole deploy: its drain too
            os.killpg(pid, signal.SIGKILL)
        assert get(routed.http_port, f"{fkapp}.localhost") == (200, "hello 2")

        assert releases(routed.nap, fkapp) == {2: "current", 1: "previous"}
        assert release_containers(docker_engine, fkapp, 1) == []  # retired by that command
        assert [c.name for c in release_containers(docker_engine, fkapp, 2)] == [
            f"nap-{fkapp}-r2.1"
        ]  # its postdeploy container went too
        with if_free(routed.home, fkapp) as free:
            assert free
        assert get(routed.http_port, f"{fkapp}.localhost") == (200, "hello 2")
        routed.nap.env["NAP_ROUTER_DRAIN"] = "1"
        then_the_next_push_deploys(routed, fkapp, sample_app)
    loop.assert_never_failed()
    assert loop.bodies[-1] == "hello 3"
    assert {"hello 1", "hello 2", "hello 3"} >= set(loop.bodies)


def test_a_push_killed_during_the_drain_leaves_the_drain_to_retire_the_old_release(
    routed: RouterHome, sample_app: SampleApp, fkapp: str, docker_engine: Any
) -> None:
    """Only the push's process group dies: `nap drain`, in a session of its own,
    retires release 1 when its time is up, and the killed postdeploy with it."""
    routed.nap("deploy", fkapp, str(sample_app.path), check=True)
    sample_app.write("app.json", POSTDEPLOY % "/bin/busybox sleep 60")
    sample_app.serve("hello 2")
    with RequestLoop(routed.http_port, f"{fkapp}.localhost") as loop:
        deploy = start_deploy(routed.nap, fkapp, sample_app.path)
        kill_when(
            deploy,
            lambda: bool(docker_engine.containers.list(filters={"label": f"nap.oneoff={fkapp}"})),
        )
        assert routed.drain_pids()  # the drain outlived the push
        assert releases(routed.nap, fkapp) == {2: "current", 1: "previous"}
        deadline = time.monotonic() + 60
        while routed.drain_pids():
            assert time.monotonic() < deadline, "the drain never ended"
            time.sleep(0.2)
        assert release_containers(docker_engine, fkapp, 1) == []
        assert [c.name for c in release_containers(docker_engine, fkapp, 2)] == [
            f"nap-{fkapp}-r2.1"
        ]
        with if_free(routed.home, fkapp) as free:
            assert free
        then_the_next_push_deploys(routed, fkapp, sample_app)
    loop.assert_never_failed()
    assert loop.bodies[-1] == "hello 3"
