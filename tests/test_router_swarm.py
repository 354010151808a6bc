"""The router in front of a real 3-node Swarm (tests/lab/swarm): rolling
redeploys of 3 replicas drop no request.

The router points at every task's node and host-mode port; a task being
replaced refuses connections, and Caddy retries those on another task.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import swarm_lab
from conftest import SampleApp
from routerlab import RequestLoop, RouterHome, get

pytestmark = pytest.mark.swarm


@pytest.fixture
def router(lab: swarm_lab.Lab) -> Iterator[RouterHome]:
    home = RouterHome(dict(os.environ))
    home.nap.env.update(lab.env())
    home.nap.env["NAP_REPLICAS"] = "3"
    try:
        yield home
    finally:
        home.stop()


@pytest.fixture
def rapp(lab: swarm_lab.Lab, docker_engine: Any) -> Iterator[str]:
    import docker.errors

    name = f"r{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(docker.errors.NotFound):
        lab.client(1).services.get(f"nap-{name}").remove()
    repository = f"{swarm_lab.FORWARD}/{name}"
    for image in docker_engine.images.list(name=repository):
        for tag in image.tags:
            if tag.rpartition(":")[0] == repository:
                with contextlib.suppress(docker.errors.APIError):
                    docker_engine.images.remove(tag)


def test_three_rolling_redeploys_of_three_replicas_fail_no_request(
    router: RouterHome, sample_app: SampleApp, rapp: str
) -> None:
    first = json.loads(
        router.nap("deploy", rapp, str(sample_app.path), "--json", check=True).stdout
    )
    assert sorted(p["host"] for p in first["placements"]) == sorted(swarm_lab.ADDRESSES)
    host = f"{rapp}.localhost"
    assert first["urls"] == [f"http://{host}:{router.http_port}"]

    with RequestLoop(router.http_port, host) as loop:
        for n in (2, 3, 4):
            sample_app.serve(f"hello {n}")
            router.nap("deploy", rapp, str(sample_app.path), check=True)
            assert get(router.http_port, host) == (200, f"hello {n}")

    print(f"swarm behind the router: {len(loop.failures)} failed of {loop.sent} requests")
    assert loop.sent >= 30
    assert loop.failures == []
    assert loop.bodies[-1] == "hello 4"
