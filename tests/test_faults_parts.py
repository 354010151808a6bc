"""The parts a deploy needs, failing under it: the registry, the Docker engine
and Caddy stopped with SIGSTOP (a hang) or killed with SIGKILL (a crash) during
a deploy; NAP_HOME's disk filling up; an app's port taken while it was stopped.

Every part stopped here is a private one (tests/faultparts.py): never the
shared registry, engine, or anyone's Caddy. The expected outcome, each time: one
``error:`` line, the push rejected, release 1 still serving and current, nap.db
intact, no lock held; once the part is back, the next push deploys. Caddy is the
exception the router's design makes: it is not part of a release, so a router
that is down fails only the route update (docs/faults.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import faultparts as parts
import pytest
from conftest import HTTPD_DOCKERFILE, Nap, SampleApp, http_get
from faultparts import PrivateRegistry, db_is_intact, wait_for
from routerlab import get

from nap_core.locks import if_free

pytestmark = [pytest.mark.docker, pytest.mark.parts]

SLOW_BUILD = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sleep", "3"]
COPY www /www
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""

#: The publish deadline in these tests (the registry's first answer gets as long).
PUBLISH_TIMEOUT = "3"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[PrivateRegistry]:
    started = PrivateRegistry(tmp_path / "registry")
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def fnap(nap: Nap, registry: PrivateRegistry, docker_engine: Any) -> Iterator[Nap]:
    """``nap`` publishing to the private registry; the app's local tags go after."""
    nap.env.update(NAP_REGISTRY=registry.address, NAP_PUBLISH_TIMEOUT=PUBLISH_TIMEOUT)
    yield nap
    for image in docker_engine.images.list(name=f"{registry.address}/*"):
        for tag in image.tags:
            if tag.startswith(f"{registry.address}/"):
                docker_engine.images.remove(tag)


@pytest.fixture
def fapp(docker_engine: Any) -> Iterator[str]:
    """A fresh app name (prefix ``fp``); its containers, image names and registry
    manifests on the shared engine and registry go after."""
    from conftest import remove_app_containers

    name = f"fp{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    parts.forget_images(docker_engine, name)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def releases(nap: Nap, app: str) -> dict[int, str]:
    listed = json.loads(nap("releases", app, "--json", check=True).stdout)
    return {r["release"]: r["status"] for r in listed}


def assert_nothing_lost(
    nap: Nap, app: str, url: str, sample: SampleApp, revision: str, serving: bool = True
) -> None:
    """Release 1 serves and is current, the push was rejected, nap.db is fine, no lock."""
    if serving:
        assert http_get(url) == "hello 1"
    assert releases(nap, app) == {2: "failed", 1: "current"}
    bare = nap.home / "repos" / f"{app}.git"
    assert subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "refs/heads/master"],
        capture_output=True, text=True, check=True,
    ).stdout.strip() == revision  # fmt: skip
    assert db_is_intact(nap.home)
    with if_free(nap.home, app) as free:
        assert free


@pytest.mark.parametrize("how", [signal.SIGSTOP, signal.SIGKILL], ids=["hang", "crash"])
def test_the_registry_stopped_during_a_deploy_rejects_the_push_with_one_line(
    fnap: Nap, registry: PrivateRegistry, sample_app: SampleApp, fapp: str, how: int
) -> None:
    first = fnap.deploy_json(fapp, sample_app.path)
    url, revision = first["placements"][0]["url"], first["revision"]
    sample_app.serve("hello 2")
    log = fnap.home / "apps" / fapp / "releases" / "2" / "build.log"

    deploy = parts.start_deploy(fnap, fapp, sample_app.path)
    wait_for(lambda: log.is_file())  # building: the publish comes next
    registry.signal(how)
    # A bound on a hang, not a speed claim: the deadline is PUBLISH_TIMEOUT seconds.
    out, err = deploy.communicate(timeout=60)

    assert deploy.returncode != 0
    assert "Traceback" not in out + err
    [line] = error_lines(err)
    assert registry.address in line
    assert "running and not stopped" in line, line  # what to check
    assert_nothing_lost(fnap, fapp, url, sample_app, revision)

    if how == signal.SIGSTOP:
        registry.signal(signal.SIGCONT)
    else:
        registry.start()  # the same storage: release 1's image is still there
    record = fnap.deploy_json(fapp, sample_app.path)
    assert record["release"] == 3
    assert http_get(record["placements"][0]["url"]) == "hello 2"


def test_start_and_restart_when_another_process_holds_the_port_say_so_in_one_line(
    nap: Nap, sample_app: SampleApp, fapp: str
) -> None:
    record = nap.deploy_json(fapp, sample_app.path)
    host, port = record["placements"][0]["host"], record["placements"][0]["port"]
    nap("stop", fapp, check=True)

    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((host, port))
        squatter.listen()
        for command in ("start", "restart"):
            result = nap(command, fapp)
            assert result.returncode != 0
            assert "Traceback" not in result.stdout + result.stderr
            [line] = error_lines(result.stderr)
            assert f"{host}:{port} is in use by another process" in line, line

    nap("start", fapp, check=True)  # the port is free again
    assert http_get(record["placements"][0]["url"]) == "hello 1"


@pytest.fixture
def caddy(docker_engine: Any) -> Iterator[Any]:
    """A NAP_HOME with its own Caddy on this suite's fixed ports, stopped by pid after."""
    from routerlab import RouterHome

    home = RouterHome(dict(os.environ))
    home.http_port, home.https_port = parts.HTTP_PORT, parts.HTTPS_PORT
    home.nap.env.update(
        NAP_ROUTER_HTTP_PORT=str(parts.HTTP_PORT),
        NAP_ROUTER_HTTPS_PORT=str(parts.HTTPS_PORT),
        NAP_ROUTER_ADMIN=f"127.0.0.1:{parts.ADMIN_PORT}",
        NAP_ROUTER_ADMIN_TIMEOUT="2",
        NAP_ROUTER_DRAIN="1",
    )
    try:
        yield home
    finally:
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(home.caddy_pid(), signal.SIGCONT)  # type: ignore[arg-type]
        home.stop()


@pytest.mark.parametrize("how", [signal.SIGSTOP, signal.SIGKILL], ids=["hang", "crash"])
def test_caddy_stopped_during_a_deploy_fails_only_the_route_update_and_recovers(
    caddy: Any, sample_app: SampleApp, fapp: str, how: int
) -> None:
    nap, host = caddy.nap, f"{fapp}.localhost"
    nap("deploy", fapp, str(sample_app.path), check=True)
    assert get(parts.HTTP_PORT, host) == (200, "hello 1")
    pid = caddy.caddy_pid()
    sample_app.serve("hello 2")
    log = nap.home / "apps" / fapp / "releases" / "2" / "build.log"

    deploy = parts.start_deploy(nap, fapp, sample_app.path)
    wait_for(lambda: log.is_file())  # building: the switch comes next
    os.kill(pid, how)
    out, err = deploy.communicate(timeout=60)  # a bound on a hang, not a speed claim

    assert "Traceback" not in out + err
    assert error_lines(err) == []
    assert deploy.returncode == 0, err  # the release answers; the router is not part of it
    assert releases(nap, fapp) == {2: "current", 1: "previous"}
    assert db_is_intact(nap.home)
    wait_for(lambda: not caddy.drain_pids())  # the drain of release 1 takes the lock a while
    with if_free(nap.home, fapp) as free:
        assert free
    if how == signal.SIGSTOP:
        [warning] = [line for line in err.splitlines() if "could not be updated" in line]
        assert f"pid {pid}) did not answer within 2 s" in warning, warning
        assert "nap router reload" in err
        os.kill(pid, signal.SIGCONT)
        nap("router", "reload", check=True)
    else:
        assert caddy.caddy_pid() not in (None, pid)  # the switch started a new one
    assert get(parts.HTTP_PORT, host) == (200, "hello 2")


@pytest.fixture
def full_home(tmp_path: Path, docker_engine: Any, fapp: str) -> Iterator[Nap]:
    """``nap`` with NAP_HOME on a 16 MB tmpfs of its own, unmounted after."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    home = mount / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAP_") and k != "DOCKER_HOST"}
    env.update(NAP_HOME=str(home), NAP_DEPLOY_TIMEOUT="8", NAP_STOP_TIMEOUT="2", NAP_ROUTER="none")
    try:
        yield Nap(home, env)  # the app's containers and images go with ``fapp``
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(home: Path, leave: int = 0) -> Path:
    """Fill NAP_HOME's file system up to ``leave`` bytes free; the filling file."""
    import shutil

    path = home.parent / "fill"
    with path.open("ab") as file:
        while (free := shutil.disk_usage(home).free - leave) > 0:
            try:
                file.write(bytes(min(free, 1 << 20)))
                file.flush()
            except OSError:
                break
    return path


STAGES = ["intake", "checkout", "build"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_full_nap_home_fails_the_deploy_in_one_line_and_loses_nothing(
    full_home: Path, sample_app: SampleApp, fapp: str, stage: str, docker_engine: Any
) -> None:
    nap = full_home
    first = nap.deploy_json(fapp, sample_app.path)
    url = first["placements"][0]["url"]
    if stage == "build":  # filled while the image builds: the state's writes find no room
        sample_app.write("Dockerfile", SLOW_BUILD)
    sample_app.serve("hello 2")
    log = nap.home / "apps" / fapp / "releases" / "2" / "build.log"

    if stage == "intake":  # no room for the pushed objects
        filled = fill(nap.home)
    elif stage == "checkout":  # room for the push, not for the checked-out tree (busybox)
        filled = fill(nap.home, leave=512 << 10)
    deploy = parts.start_deploy(nap, fapp, sample_app.path)
    if stage == "build":
        wait_for(lambda: log.is_file() and "sleep" in log.read_text())
        filled = fill(nap.home)
    out, err = deploy.communicate(timeout=120)  # a bound on a hang, not a speed claim

    assert deploy.returncode != 0
    assert "Traceback" not in out + err
    [line] = error_lines(err)
    assert f"NAP_HOME ({nap.home}) is full" in line, line
    assert http_get(url) == "hello 1"
    listed = releases(nap, fapp)  # readable while the disk is still full
    assert listed[1] == "current"
    assert listed.get(2, "failed") == "failed"  # never left deploying
    assert db_is_intact(nap.home)
    with if_free(nap.home, fapp) as free:
        assert free

    filled.unlink()
    record = nap.deploy_json(fapp, sample_app.path)
    assert http_get(record["placements"][0]["url"]) == "hello 2"
    tags = {tag for image in docker_engine.images.list() for tag in image.tags}
    if 2 in listed:  # it failed after its build: its image is not kept
        assert f"127.0.0.1:5000/{fapp}:2" not in tags


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[parts.PrivateDockerd]:
    """A private dockerd in netns napfp0 and a registry for it, torn down by pid and name."""
    started = parts.PrivateDockerd()
    registry = PrivateRegistry(tmp_path / "registry", parts.ENGINE_REGISTRY_PORT, parts.HOST_IP)
    try:
        started.up()
        registry.start()
        yield started
    finally:
        registry.stop()
        started.down()


def first_release_on(
    engine: Any, nap: Nap, app: str, sample: SampleApp, **settings: str
) -> tuple[str, str]:
    """Point ``nap`` at the private engine and its registry, with ``settings``, and
    deploy release 1 of ``app`` there; its URL and revision."""
    nap.env.update(
        DOCKER_HOST=engine.socket, NAP_HOST=parts.NS_IP,
        NAP_REGISTRY=f"{parts.HOST_IP}:{parts.ENGINE_REGISTRY_PORT}", **settings,
    )  # fmt: skip
    first = nap.deploy_json(app, sample.path)
    return first["placements"][0]["url"], first["revision"]


@pytest.mark.parametrize("how", [signal.SIGSTOP, signal.SIGKILL], ids=["hang", "crash"])
def test_the_engine_stopped_during_a_deploy_rejects_the_push_with_one_line(
    nap: Nap, engine: Any, sample_app: SampleApp, fapp: str, how: int
) -> None:
    url, revision = first_release_on(engine, nap, fapp, sample_app,
                                     NAP_BUILD_TIMEOUT="4", NAP_PUBLISH_TIMEOUT="4")  # fmt: skip
    sample_app.write("Dockerfile", SLOW_BUILD)
    sample_app.serve("hello 2")
    log = nap.home / "apps" / fapp / "releases" / "2" / "build.log"

    deploy = parts.start_deploy(nap, fapp, sample_app.path)
    wait_for(lambda: log.is_file() and "sleep" in log.read_text())
    engine.signal(how)
    out, err = deploy.communicate(timeout=120)  # a bound on a hang, not a speed claim

    assert deploy.returncode != 0
    assert "Traceback" not in out + err
    [line] = error_lines(err)
    assert "dockerd is running and not stopped" in line or "build" in line, line
    assert http_get(url) == "hello 1"  # release 1's container runs on without its engine
    if how == signal.SIGSTOP:
        engine.signal(signal.SIGCONT)
    else:
        # The restarted engine stops the containers it finds (no live-restore): the
        # next push brings the app back.
        engine.restart_after_crash()
    assert_nothing_lost(nap, fapp, url, sample_app, revision, serving=how == signal.SIGSTOP)

    sample_app.write("Dockerfile", HTTPD_DOCKERFILE)
    sample_app.commit()
    # A bound, not a speed claim: an engine just restarted after a crash, on a loaded
    # machine, took more than the fixture's 8 s to bring a new container's network up.
    record = nap.deploy_json(fapp, sample_app.path, NAP_DEPLOY_TIMEOUT="60")
    assert record["release"] == 3
    assert http_get(record["placements"][0]["url"]) == "hello 2"


def test_the_engine_hanging_as_the_release_starts_rejects_the_push_within_engine_timeout(
    nap: Nap, engine: Any, sample_app: SampleApp, fapp: str
) -> None:
    # Past the build and the push, a scheduler's requests are the SDK's short ones; a
    # stopped engine left each waiting for the SDK's read timeout (120 s), then failed
    # as an internal error. The new release waits 3 s before its check, so the engine
    # stops while nap still has requests to make (at least the liveness check after it).
    url, revision = first_release_on(engine, nap, fapp, sample_app,
                                     NAP_ENGINE_TIMEOUT="3", NAP_PUBLISH_FIRST="true")  # fmt: skip
    sample_app.write("CHECKS", "WAIT=3\n/ hello 2\n")
    sample_app.serve("hello 2")
    log = nap.home / "apps" / fapp / "releases" / "2" / "build.log"

    deploy = parts.start_deploy(nap, fapp, sample_app.path)
    wait_for(lambda: log.is_file() and "Starting release 2" in log.read_text())
    engine.signal(signal.SIGSTOP)
    try:
        out, err = deploy.communicate(timeout=60)  # a bound on a hang, not a speed claim
    finally:
        engine.signal(signal.SIGCONT)

    assert deploy.returncode != 0
    assert "Traceback" not in out + err
    [line] = error_lines(err)
    assert "did not answer within 3 s (engine_timeout)" in line, line
    assert "dockerd is running and not stopped" in line, line
    assert_nothing_lost(nap, fapp, url, sample_app, revision)
    # The next command that touches the app removes what the failed release started.
    nap("ps", fapp, check=True)
    client = docker.DockerClient(base_url=engine.socket, version="auto")
    listed = client.containers.list(all=True, filters={"label": f"nap.app={fapp}"})
    assert {c.labels["nap.release"] for c in listed} == {"1"}

    sample_app.commit()
    record = nap.deploy_json(fapp, sample_app.path)
    assert record["release"] == 3
    assert http_get(record["placements"][0]["url"]) == "hello 2"
