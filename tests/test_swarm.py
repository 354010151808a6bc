"""nap deploy on a real 3-node Docker Swarm (the lab in tests/lab/swarm), end to end.

The lab is started once for the session and torn down after. Deploys go through
the real `nap deploy APP PATH --json`; ports are published in host mode, the one
mode that works on kernels without IPVS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import swarm_lab
from conftest import NAP, Nap, SampleApp

from nap_docker.probe import answers

pytestmark = pytest.mark.swarm


@pytest.fixture
def swarm_nap(nap: Nap, lab: swarm_lab.Lab) -> Nap:
    """`nap` pointed at the lab."""
    return Nap(nap.home, {**nap.env, **lab.env()})


@pytest.fixture
def swarm_app(lab: swarm_lab.Lab, docker_engine: Any) -> Iterator[str]:
    """A fresh app name; its service, volumes and built images are removed after the test."""
    import docker.errors

    name = f"sw{uuid.uuid4().hex[:8]}"
    yield name
    manager = lab.client(1)
    with contextlib.suppress(docker.errors.NotFound):
        manager.services.get(f"nap-{name}").remove()
    deadline = time.monotonic() + 30
    for index in swarm_lab.NODES:
        try:
            client = lab.client(index)
            for volume in client.volumes.list(filters={"label": f"nap.app={name}"}):
                while True:  # a removed task's container may still hold it for a moment
                    try:
                        volume.remove()
                        break
                    except docker.errors.APIError:
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.5)
        except docker.errors.DockerException:
            pass  # a node a test killed
    # By tag, never by ID: identical builds share one image with other apps' tags.
    repository = f"{swarm_lab.FORWARD}/{name}"
    for image in docker_engine.images.list(name=repository):
        for tag in image.tags:
            if tag.rpartition(":")[0] == repository:
                with contextlib.suppress(docker.errors.APIError):
                    docker_engine.images.remove(tag)


def get(url: str, timeout: float = 2) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def eventually(check: Any, seconds: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; a deadline, not a speed claim."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.5)


class DayTwo:
    """The active scheduler's instances hook, called in-process: a polling loop
    asks many times a second, which the `nap ps` command would make slow."""

    def __init__(self, nap: Nap, app: str, replicas: int) -> None:
        from nap_core.config import Settings
        from nap_core.model import App
        from nap_core.plugins import plugin_manager
        from nap_core.state import State

        self.settings = Settings.load({**nap.env, "NAP_REPLICAS": str(replicas)})
        self.pm = plugin_manager(settings=self.settings)
        self.app = App(app)
        state = State(self.settings.home)
        release = state.current(self.app)
        state.close()
        assert release is not None
        self.release = release

    def instances(self) -> list[Any]:
        return list(
            self.pm.hook.instances(app=self.app, release=self.release, settings=self.settings)
        )


def hosts_of(record: dict[str, Any]) -> list[str]:
    return sorted(p["host"] for p in record["placements"])


def test_three_replicas_land_on_three_nodes_and_each_answers(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    record = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="3")

    assert record["scheduler"] == "swarm"
    assert record["image"].startswith(f"{swarm_lab.FORWARD}/{swarm_app}@sha256:")
    assert hosts_of(record) == sorted(swarm_lab.ADDRESSES)
    for placement in record["placements"]:
        assert placement["url"] == f"http://{placement['host']}:{placement['port']}"
        assert get(placement["url"]) == "hello 1"
    # The nodes run the same digest, pulled from the registry as they see it.
    service = lab.client(1).services.get(f"nap-{swarm_app}")
    digest = record["image"].split("@", 1)[1]
    spec = service.attrs["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == (
        f"{swarm_lab.REGISTRY}/{swarm_app}@{digest}"
    )
    assert spec["Mode"]["Replicated"]["Replicas"] == 3
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"
    # The stack file is the record of the release.
    stack = swarm_nap.home / "apps" / swarm_app / "releases" / "1" / f"nap-{swarm_app}.stack.yml"
    text = stack.read_text()
    assert f'image: "{swarm_lab.REGISTRY}/{swarm_app}@{digest}"' in text  # a quoted YAML scalar
    assert 'mode: "host"' in text
    assert "replicas: 3" in text
    # ... and a file the docker CLI accepts for `docker stack deploy`.
    checked = subprocess.run(
        ["docker", "stack", "config", "--compose-file", str(stack)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert "endpoint_mode: dnsrr" in checked.stdout

    again = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="3")

    assert again["current"] is True
    assert again["release"] == 1
    assert hosts_of(again) == sorted(swarm_lab.ADDRESSES)


def test_config_vars_reach_the_tasks_but_not_the_stack_file(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    swarm_nap.deploy_json(swarm_app, sample_app.path)

    changed = swarm_nap("config", "set", swarm_app, "API_TOKEN=s3cr3t-value", check=True)

    assert "s3cr3t-value" not in changed.stdout + changed.stderr
    assert "Building" not in changed.stderr
    record = json.loads(swarm_nap("releases", swarm_app, "--json", check=True).stdout)[0]
    assert record["release"] == 2 and record["current"]
    spec = lab.client(1).services.get(f"nap-{swarm_app}").attrs["Spec"]
    assert "API_TOKEN=s3cr3t-value" in spec["TaskTemplate"]["ContainerSpec"]["Env"]
    release_dir = swarm_nap.home / "apps" / swarm_app / "releases" / "2"
    stack = (release_dir / f"nap-{swarm_app}.stack.yml").read_text()
    assert "s3cr3t-value" not in stack
    assert "API_TOKEN" in stack  # named, so an operator knows it comes from the env file
    env_file = release_dir / "env"
    assert "API_TOKEN=s3cr3t-value" in env_file.read_text()
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert get(record["placements"][0]["url"]) == "hello 1"


class RequestLoop:
    """Requests every node address, round after round, until stopped or bounded out."""

    def __init__(self, urls: list[str], max_rounds: int = 2000, max_seconds: float = 150) -> None:
        self.urls = urls
        self.max_rounds = max_rounds
        self.max_seconds = max_seconds
        self.rounds: list[list[str | None]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self.stop.is_set() and len(self.rounds) < self.max_rounds:
            if time.monotonic() > deadline:
                break
            answers: list[str | None] = []
            for url in self.urls:
                try:
                    answers.append(get(url, timeout=1))
                except OSError:
                    answers.append(None)
            self.rounds.append(answers)
            time.sleep(0.05)

    def __enter__(self) -> RequestLoop:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def test_a_redeploy_rolls_to_the_new_image_with_a_node_answering_throughout(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    first = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="3")
    urls = sorted({p["url"] for p in first["placements"]})
    assert len(urls) == 3
    sample_app.serve("hello 2")

    with RequestLoop(urls) as loop:
        second = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="3")
        # A few more rounds after the deploy returned.
        time.sleep(1)

    assert second["release"] == 2
    assert len(loop.rounds) > 20
    dark = [i for i, answers in enumerate(loop.rounds) if not any(answers)]
    assert dark == [], f"no node answered in rounds {dark}"
    seen = {answer for answers in loop.rounds for answer in answers if answer}
    assert seen <= {"hello 1", "hello 2"}
    failed = sum(answer is None for answers in loop.rounds for answer in answers)
    print(f"rolling update: {failed} failed of {3 * len(loop.rounds)} requests")
    assert sorted({p["url"] for p in second["placements"]}) == urls  # same addresses
    for url in urls:
        assert get(url) == "hello 2"
    image = lab.client(1).services.get(f"nap-{swarm_app}").attrs["Spec"]["TaskTemplate"]
    assert image["ContainerSpec"]["Image"].endswith(second["image"].split("@", 1)[1])


def test_a_release_that_exits_at_once_is_rolled_back_and_the_push_rejected(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    first = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="3")
    dockerfile = (sample_app.path / "Dockerfile").read_text()
    sample_app.write("Dockerfile", dockerfile.replace('"httpd", "-f"', '"false", "-f"'))
    sample_app.serve("hello 2")

    result = swarm_nap("deploy", swarm_app, str(sample_app.path), "--json", NAP_REPLICAS="3")

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert "rolled release 2 back" in last
    assert last.endswith("; release 1 still serves")
    for placement in first["placements"]:
        assert get(placement["url"]) == "hello 1"
    spec = lab.client(1).services.get(f"nap-{swarm_app}").attrs["Spec"]
    assert spec["Labels"]["nap.release"] == "1"
    releases = json.loads(swarm_nap("releases", swarm_app, "--json", check=True).stdout)
    assert {r["release"]: r["status"] for r in releases}[2] == "failed"

    # The rolled-back status the failure left does not fail the next, good deploy.
    sample_app.write("Dockerfile", dockerfile)
    sample_app.serve("hello 3")
    third = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="3")
    assert third["release"] == 3
    for placement in third["placements"]:
        assert get(placement["url"]) == "hello 3"


def test_a_killed_node_s_tasks_reschedule_and_nap_reports_the_new_placements(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    # Two replicas on three nodes: a host-mode port leaves a free node to move to.
    first = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="2")
    day_two = DayTwo(swarm_nap, swarm_app, replicas=2)
    hosts = hosts_of(first)
    assert len(set(hosts)) == 2
    # Kill a worker (the single manager must live), one that runs a task.
    victim = next(i for i in (2, 3) if swarm_lab.node_address(i) in hosts)
    victim_address = swarm_lab.node_address(victim)
    killed = time.monotonic()
    os.kill(lab.dockerd_pid(victim), signal.SIGKILL)
    try:

        def moved() -> list[Any] | None:
            found = [i for i in day_two.instances() if i.state == "running"]
            hosts = sorted(i.host for i in found)
            if (
                len(hosts) == 2
                and victim_address not in hosts
                and all(answers(i.host, i.port) for i in found)
            ):
                return found
            return None

        eventually(moved, 60, "rescheduling away from the killed node")
        took = time.monotonic() - killed
        print(f"node {victim} killed: its task runs and answers elsewhere after {took:.1f} s")
        record = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="2")
        assert record["current"] is True
        assert record["release"] == 1
        assert len(record["placements"]) == 2
        assert victim_address not in hosts_of(record)
        for placement in record["placements"]:
            assert get(placement["url"]) == "hello 1"
    finally:
        lab.restart_node(victim)


def test_day_two_operations_list_stop_start_restart_log_and_destroy(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    sample_app.write(
        "Dockerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nVOLUME /data\nEXPOSE 8080\n"
        'CMD ["/bin/busybox", "sh", "-c", '
        '"echo started; exec /bin/busybox httpd -f -v -p 8080 -h /www"]\n',
    )
    sample_app.commit("volume and a log line")
    record = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="2")

    def nap(*args: str) -> str:
        return swarm_nap(*args, NAP_REPLICAS="2", check=True).stdout

    listed = json.loads(nap("ps", swarm_app, "--json"))
    assert sorted(i["host"] for i in listed) == hosts_of(record)
    assert {i["state"] for i in listed} == {"running"}
    assert all(i["port"] == record["placements"][0]["port"] for i in listed)

    assert nap("stop", swarm_app) == ""
    for placement in record["placements"]:
        with pytest.raises(OSError):
            get(placement["url"], timeout=1)
    assert nap("start", swarm_app).count("running") == 2
    nap("restart", swarm_app)

    # The swarm reconciles on its own: a new task that fails at once (its host-mode
    # port still held by the one it replaces) is replaced in turn. Seen once in CI.
    def two_instances() -> list[Any] | None:
        found: list[Any] = json.loads(nap("ps", swarm_app, "--json"))
        return found if len(found) == 2 else None

    restarted = eventually(two_instances, 30, "two instances after the restart")
    for instance in restarted:
        assert get(instance["url"]) == "hello 1"

    text = eventually(
        lambda: (t := nap("logs", swarm_app, "-n", "0")).count("started") >= 2 and t,
        20,
        "the start lines in the service logs",
    )
    for line in text.splitlines():
        assert line.startswith(f"nap-{swarm_app}.")
    volumes = [
        v.name
        for i in swarm_lab.NODES
        for v in lab.client(i).volumes.list(filters={"label": f"nap.app={swarm_app}"})
    ]
    assert volumes and all(name.startswith(f"nap-{swarm_app}_data-") for name in volumes)

    nap("apps", "destroy", swarm_app, "--force", "--volumes")

    assert f"nap-{swarm_app}" not in [s.name for s in lab.client(1).services.list()]
    for i in swarm_lab.NODES:
        assert lab.client(i).volumes.list(filters={"label": f"nap.app={swarm_app}"}) == []


def test_a_release_that_never_answers_is_rolled_back_by_nap_at_the_deadline(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="2")
    dockerfile = (sample_app.path / "Dockerfile").read_text()
    # Runs (so Swarm sees nothing wrong) but never listens.
    never = dockerfile.replace('"httpd", "-f", "-p", "8080", "-h", "/www"]', '"sleep", "3600"]')
    assert never != dockerfile
    sample_app.write("Dockerfile", never)
    sample_app.commit("never listens")

    result = swarm_nap(
        "deploy", swarm_app, str(sample_app.path), NAP_REPLICAS="2", NAP_DEPLOY_TIMEOUT="25"
    )

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "had 0 of 2 replicas answering after 25 s" in last
    assert last.endswith("; release 1 still serves")
    assert "rolling nap-" in result.stderr  # nap asked Swarm for the rollback
    spec = lab.client(1).services.get(f"nap-{swarm_app}").attrs["Spec"]
    assert spec["Labels"]["nap.release"] == "1"
    # With 2 replicas on 3 nodes the rolled-back tasks may sit on other nodes than
    # before: ask where they run now.
    running = DayTwo(swarm_nap, swarm_app, replicas=2).instances()
    assert len(running) == 2
    for instance in running:
        assert instance.release == 1
        assert get(instance.url) == "hello 1"
    # Pushing release 1's tree again reports where it serves now, without a build.
    sample_app.write("Dockerfile", dockerfile)
    sample_app.commit("back to release 1's tree")
    again = swarm_nap.deploy_json(swarm_app, sample_app.path, NAP_REPLICAS="2")
    assert again["current"] is True
    assert again["release"] == 1
    assert sorted(p["url"] for p in again["placements"]) == sorted(i.url for i in running)


def test_a_first_release_that_fails_leaves_no_service(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    dockerfile = (sample_app.path / "Dockerfile").read_text()
    sample_app.write("Dockerfile", dockerfile.replace('"httpd", "-f"', '"false", "-f"'))
    sample_app.commit("exits at once")

    result = swarm_nap("deploy", swarm_app, str(sample_app.path))

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "failed on napswarm-node" in last
    assert last.endswith("; nothing was running")
    assert f"nap-{swarm_app}" not in [s.name for s in lab.client(1).services.list()]


def test_more_host_mode_replicas_than_nodes_fail_and_say_why(
    swarm_nap: Nap, sample_app: SampleApp, swarm_app: str, lab: swarm_lab.Lab
) -> None:
    result = swarm_nap(
        "deploy", swarm_app, str(sample_app.path), NAP_REPLICAS="4", NAP_DEPLOY_TIMEOUT="15"
    )

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "had 3 of 4 replicas answering" in last
    assert "host-mode port already in use" in last
    assert last.endswith("; nothing was running")
    assert f"nap-{swarm_app}" not in [s.name for s in lab.client(1).services.list()]


# Process types: web and worker are separate services, each with its own replica
# count; the release command runs on the manager's engine before either rolls.
# (Here, not in a module of their own: a second module importing the session's
# `lab` fixture would make a second lab fixture, waiting forever on the first's lock.)


@pytest.fixture
def swarm_papp(lab: swarm_lab.Lab) -> Iterator[str]:
    """A fresh app name (prefix p); every service of it is removed after the test."""
    import docker.errors

    name = f"p{uuid.uuid4().hex[:8]}"
    yield name
    manager = lab.client(1)
    for service in manager.services.list(filters={"label": f"nap.app={name}"}):
        with contextlib.suppress(docker.errors.NotFound):
            service.remove()


def replicas_of(lab: swarm_lab.Lab, app: str) -> dict[str, tuple[int, str, int]]:
    """Each service of the app: (replicas, process label, published ports)."""
    found = {}
    for service in lab.client(1).services.list(filters={"label": f"nap.app={app}"}):
        spec = service.attrs["Spec"]
        found[spec["Name"]] = (
            spec["Mode"]["Replicated"]["Replicas"],
            spec["Labels"]["nap.process"],
            len(spec.get("EndpointSpec", {}).get("Ports", []) or []),
        )
    return found


def test_web_and_worker_are_separate_services_with_their_own_replicas(
    swarm_nap: Nap, sample_app: SampleApp, swarm_papp: str, lab: swarm_lab.Lab
) -> None:
    sample_app.write(
        "Procfile",
        "web: /bin/busybox httpd -f -p 8080 -h /www\n"
        "worker: /bin/busybox sh -c 'echo worker up; exec /bin/busybox sleep 999'\n"
        "release: /bin/busybox echo migrating on the manager\n",
    )
    formation = {"web": {"quantity": 2}, "worker": {"quantity": 3}}
    sample_app.write("app.json", json.dumps({"formation": formation}))
    sample_app.commit("web and worker")

    result = swarm_nap("deploy", swarm_papp, str(sample_app.path), "--json")

    assert result.returncode == 0, result.stderr
    assert "       migrating on the manager" in result.stderr.splitlines()
    record = json.loads(result.stdout)
    assert len(record["placements"]) == 2
    assert {p["process"] for p in record["placements"]} == {"web"}
    assert {get(p["url"]) for p in record["placements"]} == {"hello 1"}
    web, worker = f"nap-{swarm_papp}", f"nap-{swarm_papp}-worker"
    assert replicas_of(lab, swarm_papp) == {web: (2, "web", 1), worker: (3, "worker", 0)}
    listed = json.loads(swarm_nap("ps", swarm_papp, "--json", check=True).stdout)
    assert sorted(i["process"] for i in listed) == ["web", "web", "worker", "worker", "worker"]
    spec = lab.client(1).services.get(worker).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Args"][:2] == ["/bin/busybox", "sh"]
    assert not any(e.startswith("PORT=") for e in spec.get("Env", []))

    def worker_logged() -> bool:
        text = swarm_nap("logs", swarm_papp, "-n", "20", check=True).stdout
        return f"nap-{swarm_papp}-worker." in text and "worker up" in text

    eventually(worker_logged, 30, "the workers' lines in nap logs")

    swarm_nap("ps", "scale", swarm_papp, "worker=1", check=True)

    assert replicas_of(lab, swarm_papp) == {web: (2, "web", 1), worker: (1, "worker", 0)}
    listed = json.loads(swarm_nap("ps", swarm_papp, "--json", check=True).stdout)
    assert sorted(i["process"] for i in listed) == ["web", "web", "worker"]

    swarm_nap("apps", "destroy", swarm_papp, "--force", check=True)
    assert replicas_of(lab, swarm_papp) == {}


def test_a_release_phase_killed_with_its_deploy_is_removed_by_the_next_command(
    swarm_nap: Nap, sample_app: SampleApp, swarm_papp: str, lab: swarm_lab.Lab
) -> None:
    # The release phase runs in a one-off container on the manager's engine; a deploy
    # SIGKILLed meanwhile leaves it running, with nobody to remove it but clean-up.
    sample_app.write("Procfile", "web: /bin/busybox httpd -f -p 8080 -h /www\n"
                     "release: /bin/busybox sleep 120\n")  # fmt: skip
    sample_app.commit("a slow release phase")
    deploy = subprocess.Popen(
        [*NAP, "deploy", swarm_papp, str(sample_app.path)], env=swarm_nap.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    manager = lab.client(1)
    label = {"label": f"nap.oneoff={swarm_papp}"}
    try:
        eventually(lambda: manager.containers.list(filters=label), 60, "the release phase")
    finally:
        os.killpg(deploy.pid, signal.SIGKILL)
        deploy.wait(10)
    assert manager.containers.list(filters=label)  # it outlived its deploy

    swarm_nap("releases", swarm_papp, check=True)

    assert manager.containers.list(all=True, filters=label) == []
