"""nap against a real fleet cluster, end to end: real git, engine, registry and fleet.

Runs when NAP_TEST_FLEET_ENDPOINT names a cluster of at least 3 machines:
a fleet API URL, or an etcd URL with NAP_TEST_FLEET_DRIVER=etcd (and fleetctl
on PATH or in NAP_TEST_FLEET_FLEETCTL). NAP_TEST_FLEET_REGISTRY is the registry as the
machines reach it, when that differs from 127.0.0.1:5000.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get

from nap_core.config import Settings
from nap_fleet.client import FleetClient, connect

ENDPOINT = os.environ.get("NAP_TEST_FLEET_ENDPOINT", "")
pytestmark = pytest.mark.skipif(
    not ENDPOINT,
    reason="NAP_TEST_FLEET_ENDPOINT is not set: point it at a fleet cluster of 3 machines "
    "(fleet API URL, or etcd URL with NAP_TEST_FLEET_DRIVER=etcd) to run the fleet suite",
)

FAILING_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
EXPOSE 8080
CMD ["/bin/busybox", "false"]
"""


def fleet_env() -> dict[str, str]:
    env = {
        "NAP_SCHEDULER": "fleet",
        "NAP_FLEET_ENDPOINT": ENDPOINT,
        "NAP_FLEET_DRIVER": os.environ.get("NAP_TEST_FLEET_DRIVER", "api"),
        "NAP_REPLICAS": "2",
        "NAP_DEPLOY_TIMEOUT": os.environ.get("NAP_TEST_FLEET_TIMEOUT", "60"),
    }
    for name in ("REGISTRY", "FLEETCTL"):
        if os.environ.get(f"NAP_TEST_FLEET_{name}"):
            env[f"NAP_FLEET_{name}"] = os.environ[f"NAP_TEST_FLEET_{name}"]
    return env


@pytest.fixture
def fleet() -> FleetClient:
    client = connect(Settings(home=Path(os.devnull), environ=fleet_env()))
    if len(client.machines()) < 3:
        pytest.fail(f"the fleet cluster at {ENDPOINT} has fewer than 3 machines")
    return client


@pytest.fixture
def app_name(docker_engine: Any) -> str:
    """A fresh app name. Its containers run on the machines, where fleet stops them."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def fleet_nap(nap: Nap, fleet: FleetClient, app_name: str) -> Iterator[Nap]:
    """nap with the fleet scheduler; the app's units are destroyed afterwards."""
    nap.env.update(fleet_env())
    yield nap
    for name in app_units(fleet, app_name):
        fleet.destroy(name)
    # Let the machines stop them before the next test takes their ports.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not any(s.name.startswith(f"nap-{app_name}-") for s in fleet.states()):
            break
        time.sleep(0.5)


def app_units(fleet: FleetClient, app: str) -> list[str]:
    return sorted(u.name for u in fleet.units() if u.name.startswith(f"nap-{app}-"))


def urls(record: dict[str, Any]) -> list[str]:
    return [p["url"] for p in record["placements"]]


def eventually_refused(url: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            http_get(url, timeout=1)
        except (OSError, urllib.error.URLError):
            return True
        time.sleep(0.5)
    return False


def test_two_replicas_land_on_two_machines_and_answer(
    fleet_nap: Nap, fleet: FleetClient, sample_app: SampleApp, app_name: str
) -> None:
    record = fleet_nap.deploy_json(app_name, sample_app.path)

    assert record["scheduler"] == "fleet"
    hosts = {p["host"] for p in record["placements"]}
    assert len(record["placements"]) == 2 and len(hosts) == 2
    machine_ips = {m.ip for m in fleet.machines()}
    assert hosts <= machine_ips
    for url in urls(record):
        assert http_get(url) == "hello 1"
    assert app_units(fleet, app_name) == [
        f"nap-{app_name}-r1@.service",
        f"nap-{app_name}-r1@1.service",
        f"nap-{app_name}-r1@2.service",
    ]
    # nap releases reads where the instances run now from fleet.
    listed = fleet_nap("releases", app_name, "--json", check=True).stdout
    assert all(url in listed for url in urls(record))
    assert '"state": "running"' in listed


def test_a_redeploy_replaces_the_instances(
    fleet_nap: Nap, fleet: FleetClient, sample_app: SampleApp, app_name: str
) -> None:
    first = fleet_nap.deploy_json(app_name, sample_app.path)
    sample_app.serve("hello 2")

    second = fleet_nap.deploy_json(app_name, sample_app.path)

    assert second["release"] == 2
    assert len({p["host"] for p in second["placements"]}) == 2
    for url in urls(second):
        assert http_get(url) == "hello 2"
    assert app_units(fleet, app_name) == [
        f"nap-{app_name}-r2@.service",
        f"nap-{app_name}-r2@1.service",
        f"nap-{app_name}-r2@2.service",
    ]
    for url in urls(first):
        assert url in urls(second) or eventually_refused(url), f"{url} still answers"

    # The same tree again: current, nothing rebuilt or rescheduled.
    again = fleet_nap.deploy_json(app_name, sample_app.path)
    assert again["current"] is True and again["release"] == 2


def test_a_failing_release_leaves_the_old_one_running(
    fleet_nap: Nap, fleet: FleetClient, sample_app: SampleApp, app_name: str
) -> None:
    first = fleet_nap.deploy_json(app_name, sample_app.path)
    sample_app.write("Dockerfile", FAILING_DOCKERFILE)
    sample_app.commit("crash at start")

    result = fleet_nap("deploy", app_name, str(sample_app.path))

    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: release 2 ")
    assert error.endswith("; release 1 still serves")
    assert app_units(fleet, app_name) == [
        f"nap-{app_name}-r1@.service",
        f"nap-{app_name}-r1@1.service",
        f"nap-{app_name}-r1@2.service",
    ]
    for url in urls(first):
        assert http_get(url) == "hello 1"


def test_more_replicas_than_machines_fails_cleanly(
    fleet_nap: Nap, fleet: FleetClient, sample_app: SampleApp, app_name: str
) -> None:
    replicas = len(fleet.machines()) + 1
    started = time.monotonic()

    result = fleet_nap(
        "deploy",
        app_name,
        str(sample_app.path),
        NAP_REPLICAS=str(replicas),
        NAP_DEPLOY_TIMEOUT="15",
    )

    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    # fleet picks which instance stays unscheduled.
    unplaced = rf"nap-{app_name}-r1@[0-9]+\.service: fleet has not scheduled it"
    assert re.search(unplaced, error), error
    assert error.endswith("; nothing was running")
    assert time.monotonic() - started < 120
    assert app_units(fleet, app_name) == []


def test_a_cluster_build_builds_on_a_machine(
    fleet_nap: Nap, fleet: FleetClient, sample_app: SampleApp, app_name: str
) -> None:
    # The machines fetch the build context from nap at NAP_TEST_FLEET_CONTEXT_ADDRESS.
    address = os.environ.get("NAP_TEST_FLEET_CONTEXT_ADDRESS", "127.0.0.1")

    result = fleet_nap(
        "deploy",
        app_name,
        str(sample_app.path),
        "--json",
        NAP_FLEET_BUILD="cluster",
        NAP_FLEET_CONTEXT_ADDRESS=address,
        check=True,
    )

    assert f"building on the cluster: nap-{app_name}-r1-build.service" in result.stderr
    assert "(pushed by the build unit)" in result.stderr
    record = json.loads(result.stdout)
    assert record["image"].startswith(f"127.0.0.1:5000/{app_name}@sha256:")
    for url in urls(record):
        assert http_get(url) == "hello 1"
    assert f"nap-{app_name}-r1-build.service" not in app_units(fleet, app_name)
