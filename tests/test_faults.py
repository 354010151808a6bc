"""A deploy killed at each stage: the previous release keeps serving, no lock
stays held, the dead release shows as failed at once, nothing of it is left
running once a command touches the app, and the next push deploys."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get
from faultlab import kill_when, release_containers, releases, start_deploy

from nap_core.locks import if_free

SLOW_BUILD = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sleep", "60"]
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def assert_recovered(nap: Nap, app: str, url: str, engine: Any) -> None:
    """The state a killed deploy must leave, checked by the next commands."""
    assert http_get(url) == "hello 1"
    assert releases(nap, app) == {2: "failed", 1: "current"}
    assert release_containers(engine, app, 2) == []  # removed by that command
    with if_free(nap.home, app) as free:
        assert free
    assert list((nap.home / "tmp").glob(f"{app}.*")) == []
    # Nor anything of the killed processes' own: git's HOME, the hook's answer.
    assert list((nap.home / "tmp").glob(".scratch-*")) == []
    assert list(nap.system_tmp.iterdir()) == []


@pytest.fixture
def first(nap: Nap, sample_app: SampleApp, app_name: str) -> str:
    """Release 1 of the sample app, serving 'hello 1'; its URL."""
    return str(nap.deploy_json(app_name, sample_app.path)["placements"][0]["url"])


def test_a_deploy_killed_after_its_containers_started_leaves_release_1_serving(
    nap: Nap, sample_app: SampleApp, app_name: str, first: str, docker_engine: Any
) -> None:
    sample_app.write("CHECKS", "WAIT=30\n/ hello\n")  # holds the deploy before the switch
    sample_app.serve("hello 2")

    deploy = start_deploy(nap, app_name, sample_app.path)
    kill_when(
        deploy,
        lambda: any(c.status == "running" for c in release_containers(docker_engine, app_name, 2)),
    )

    assert_recovered(nap, app_name, first, docker_engine)
    sample_app.write("CHECKS", "/ hello\n")
    sample_app.commit()
    record = nap.deploy_json(app_name, sample_app.path)
    assert record["release"] == 3
    assert http_get(record["placements"][0]["url"]) == "hello 2"


def test_a_deploy_killed_during_its_build_leaves_release_1_serving(
    nap: Nap, sample_app: SampleApp, app_name: str, first: str, docker_engine: Any
) -> None:
    sample_app.write("Dockerfile", SLOW_BUILD)
    sample_app.serve("hello 2")
    log = nap.home / "apps" / app_name / "releases" / "2" / "build.log"

    deploy = start_deploy(nap, app_name, sample_app.path)
    kill_when(deploy, lambda: log.is_file() and "sleep" in log.read_text())

    assert_recovered(nap, app_name, first, docker_engine)
