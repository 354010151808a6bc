"""Process types on this host's engine, end to end: a Procfile's web, worker
and release entries, scale per type, a failing release command, an image whose
web command is only in its Procfile. Real git, engine and registry."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get

PROCFILE = """# the processes of a Heroku-style app
web: /bin/busybox httpd -f -p 8080 -h /www

worker: /bin/busybox sh -c 'echo "worker $HOSTNAME for $GREETING"; exec /bin/busybox sleep 999'
release: /bin/busybox sh -c 'echo "migrating for $GREETING"'
"""


@pytest.fixture
def papp(docker_engine: Any) -> Iterator[str]:
    """A fresh app name (prefix p); its containers, one-offs included, and volumes
    are removed after the test."""
    name = f"p{uuid.uuid4().hex[:8]}"
    yield name
    for label in (f"nap.app={name}", f"nap.oneoff={name}"):
        for container in docker_engine.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)
    for volume in docker_engine.volumes.list(filters={"label": f"nap.app={name}"}):
        volume.remove(force=True)


def by_process(nap: Nap, app: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for instance in json.loads(nap("ps", app, "--json", check=True).stdout):
        found.setdefault(instance["process"], []).append(instance)
    return found


def eventually(check: Callable[[], Any], what: str, seconds: float = 20) -> Any:
    """Poll ``check`` until it returns something truthy (a deadline, not a timing claim)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def worker_lines(client: Any, app: str, release: int) -> list[str]:
    """The line each running worker of ``release`` logged."""
    labels = [f"nap.app={app}", f"nap.release={release}", "nap.process=worker"]
    found = client.containers.list(filters={"label": labels})
    return [c.logs().decode().strip() for c in found]


def test_a_procfile_app_runs_web_and_workers_and_its_release_command(
    nap: Nap, sample_app: SampleApp, papp: str, docker_engine: Any
) -> None:
    sample_app.write("Procfile", PROCFILE)
    sample_app.commit("Procfile")
    nap("config", "set", papp, "GREETING=tests", check=True)

    first = nap("deploy", papp, str(sample_app.path), check=True)

    # The release command ran once, with the config, and its output is in the push.
    assert "       migrating for tests" in first.stderr.splitlines()
    assert "-----> Running the release command of release 1" in first.stderr
    # Workers default to 0 (Dokku's rule): only web runs, and ps says so.
    assert {k: len(v) for k, v in by_process(nap, papp).items()} == {"web": 1}
    assert "worker: scaled to 0" in nap("ps", papp, check=True).stdout

    scaled = nap("ps", "scale", papp, "worker=1", check=True)
    assert "release command" not in scaled.stderr  # a scale is no new release content
    processes = by_process(nap, papp)
    assert {k: len(v) for k, v in processes.items()} == {"web": 1, "worker": 1}
    [web] = processes["web"]
    assert http_get(web["url"]) == "hello 1"
    [worker] = processes["worker"]
    assert (worker["url"], worker["port"], worker["state"]) == ("", 0, "running")

    nap("ps", "scale", papp, "worker=2", check=True)
    lines = eventually(
        lambda: (found := worker_lines(docker_engine, papp, 3)) and all(found) and found,
        "two workers logged their line",
    )
    assert len(lines) == 2 and len(set(lines)) == 2
    assert all(line.startswith("worker ") and line.endswith(" for tests") for line in lines)
    # Only web gets $PORT and a published port.
    one = docker_engine.containers.list(
        filters={"label": [f"nap.app={papp}", "nap.process=worker"]}
    )[0]
    assert not any(e.startswith("PORT=") for e in one.attrs["Config"]["Env"])
    assert not any((one.attrs["NetworkSettings"]["Ports"] or {}).values())

    sample_app.serve("hello 2")
    again = nap.deploy_json(papp, sample_app.path)

    # The scale survives the redeploy; the release command ran again; web answers.
    processes = by_process(nap, papp)
    assert {k: len(v) for k, v in processes.items()} == {"web": 1, "worker": 2}
    assert {i["release"] for v in processes.values() for i in v} == {again["release"]}
    assert [p["process"] for p in again["placements"]] == ["web"]
    assert http_get(again["placements"][0]["url"]) == "hello 2"
    text = nap("ps", papp, check=True).stdout
    assert text.count(" worker ") == 2 and text.count(" web ") == 1

    # Units: one template per process type, the Procfile command in the worker's.
    release_dir = nap.home / "apps" / papp / "releases" / str(again["release"])
    unit = (release_dir / f"nap-{papp}-r{again['release']}-worker@.service").read_text()
    assert '"/bin/busybox" "sh" "-c"' in unit and "$$HOSTNAME" in unit
    assert "\nExecStop=/usr/bin/docker stop" in unit


def test_a_crashed_worker_is_restarted_and_shows_it(
    nap: Nap, sample_app: SampleApp, papp: str, docker_engine: Any
) -> None:
    sample_app.write(
        "Procfile",
        "web: /bin/busybox httpd -f -p 8080 -h /www\n"
        # It crashes (exit 1) once /crash exists, removing it first so that it runs again.
        "worker: /bin/busybox sh -c 'while [ ! -e /crash ]; do /bin/busybox sleep 0.2; done;"
        " /bin/busybox rm /crash; exit 1'\n",
    )
    sample_app.write("app.json", json.dumps({"formation": {"worker": {"quantity": 1}}}))
    sample_app.commit("a worker")
    nap.deploy_json(papp, sample_app.path)
    [worker] = by_process(nap, papp)["worker"]

    docker_engine.containers.get(worker["name"]).exec_run(["/bin/busybox", "touch", "/crash"])

    def restarted() -> Any:
        [now] = by_process(nap, papp)["worker"]
        return now if now["restarts"] >= 1 and now["state"] == "running" else None

    now = eventually(restarted, "the worker was restarted")
    assert now["name"] == worker["name"]
    assert "restarted 1x" in nap("ps", papp, check=True).stdout


def test_a_failing_release_command_rejects_the_push_and_starts_nothing(
    nap: Nap, sample_app: SampleApp, papp: str, docker_engine: Any
) -> None:
    sample_app.write("Procfile", "release: /bin/busybox echo fine\n")
    sample_app.commit("release command")
    first = nap.deploy_json(papp, sample_app.path)

    sample_app.write("Procfile", "release: /bin/busybox sh -c 'echo cannot migrate; exit 3'\n")
    sample_app.serve("hello 2")
    failed = nap("deploy", papp, str(sample_app.path))

    assert failed.returncode != 0
    assert "       cannot migrate" in failed.stderr.splitlines()
    assert failed.stderr.strip().splitlines()[-1] == (
        "error: the release command exited with status 3; release 1 still serves"
    )
    assert http_get(first["placements"][0]["url"]) == "hello 1"
    labels = {"label": [f"nap.app={papp}", "nap.release=2"]}
    assert docker_engine.containers.list(all=True, filters=labels) == []
    assert docker_engine.containers.list(all=True, filters={"label": f"nap.oneoff={papp}"}) == []
    records = json.loads(nap("releases", papp, "--json", check=True).stdout)
    assert [(r["release"], r["status"]) for r in records] == [(2, "failed"), (1, "current")]

    # A release command past release_timeout is killed and rejects the push too.
    sample_app.write("Procfile", "release: /bin/busybox sleep 60\n")
    sample_app.commit("slow release command")
    slow = nap("deploy", papp, str(sample_app.path), NAP_RELEASE_TIMEOUT="2")
    assert slow.returncode != 0
    assert slow.stderr.strip().splitlines()[-1] == (
        "error: the release command failed: it did not finish within 2 s; release 1 still serves"
    )
    assert http_get(first["placements"][0]["url"]) == "hello 1"
    assert docker_engine.containers.list(all=True, filters={"label": f"nap.oneoff={papp}"}) == []


def test_an_image_without_cmd_runs_the_web_command_of_its_procfile(
    nap: Nap, sample_app: SampleApp, papp: str
) -> None:
    sample_app.write("Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n")
    # No EXPOSE: the app listens on $PORT (5000 by default).
    sample_app.write("Procfile", "web: /bin/busybox httpd -f -p 5000 -h /www\n")
    sample_app.commit("no CMD")

    record = nap.deploy_json(papp, sample_app.path)

    assert http_get(record["placements"][0]["url"]) == "hello 1"


@pytest.mark.parametrize(
    ("procfile", "error"),
    [
        ("web: ok\nWorker: x\n", "error: Procfile line 2: 'Worker' is not a process type name"),
        ("# c\n\nweb\n", "error: Procfile line 3: expected 'name: command'"),
        ("web: a\nweb: b\n", "error: Procfile line 2: web is defined twice"),
        ("web: sh -c 'unbalanced\n", "error: Procfile line 1: cannot split the command"),
    ],
)
def test_a_bad_procfile_rejects_the_push_with_its_line_number(
    nap: Nap, sample_app: SampleApp, papp: str, procfile: str, error: str
) -> None:
    sample_app.write("Procfile", procfile)
    sample_app.commit("bad Procfile")

    result = nap("deploy", papp, str(sample_app.path))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(error)
    assert "Building" not in result.stderr


def test_a_config_change_runs_the_release_command_and_a_rollback_does_not(
    nap: Nap, sample_app: SampleApp, papp: str
) -> None:
    sample_app.write("Procfile", "release: /bin/busybox sh -c 'echo release with $GREETING'\n")
    sample_app.commit("release command")
    nap.deploy_json(papp, sample_app.path)

    changed = nap("config", "set", papp, "GREETING=new", check=True)
    assert "       release with new" in changed.stderr.splitlines()

    rolled = nap("rollback", papp, "1", check=True)
    assert "release command" not in rolled.stderr
