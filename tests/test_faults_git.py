"""Faults on git's side: a damaged bare repository (local `nap deploy` and a push
over the real sshd), and a pusher cut off after the switch, before git moved
the branch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get
from faultlab import POSTDEPLOY, kill_home_processes, release_containers, releases, remove_app
from sshd import SshServer

from nap_core.locks import if_free


@pytest.fixture
def fkapp(docker_engine: Any) -> Iterator[str]:
    """A fresh app name; what it left on the engine goes after."""
    name = f"fk{uuid.uuid4().hex[:8]}"
    yield name
    remove_app(docker_engine, name)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "safe.directory=*", "--git-dir", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def objects(repo: Path) -> list[Path]:
    return [path for path in (repo / "objects").rglob("*") if path.is_file()]


def empty_objects(repo: Path) -> None:
    for path in objects(repo):
        path.chmod(0o644)
        path.write_bytes(b"")


def truncated_pack(repo: Path) -> None:
    git(repo, "repack", "-adq")
    for pack in (repo / "objects" / "pack").glob("*.pack"):
        pack.chmod(0o644)
        os.truncate(pack, 200)


def broken_head(repo: Path) -> None:
    (repo / "HEAD").write_text("garbage\n")


def broken_ref(repo: Path) -> None:
    (repo / "refs" / "heads" / "master").write_text("not a hash\n")


def ref_to_nothing(repo: Path) -> None:
    (repo / "refs" / "heads" / "master").write_text("01" * 20 + "\n")


def missing_blob(repo: Path) -> None:
    """The busybox blob, which the next push reuses and so does not send."""
    oid = git(repo, "rev-parse", "master:busybox")
    path = repo / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    path.write_bytes(b"")


def damaged_old_tree(repo: Path) -> None:
    """The tree of the deployed commit: git itself trips on it while receiving."""
    oid = git(repo, "rev-parse", "master^{tree}")
    path = repo / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    path.write_bytes(b"")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty objects": empty_objects,
    "truncated pack": truncated_pack,
    "broken HEAD": broken_head,
    "broken ref": broken_ref,
    "ref to a missing object": ref_to_nothing,
    "a missing blob": missing_blob,
    "a damaged tree git reads": damaged_old_tree,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_local_deploy_into_a_damaged_repository_says_so_in_one_error_line(
    nap: Nap, sample_app: SampleApp, fkapp: str, damage: str
) -> None:
    url = nap.deploy_json(fkapp, sample_app.path)["placements"][0]["url"]
    repo = nap.home / "repos" / f"{fkapp}.git"
    DAMAGE[damage](repo)
    sample_app.serve("hello 2")

    result = nap("deploy", fkapp, str(sample_app.path))  # bounded: Nap's timeout
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and ("damaged" in last or "corrupt" in last), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert http_get(url) == "hello 1"
    assert set(releases(nap, fkapp).values()) <= {"current", "failed"}

    shutil.rmtree(repo)  # what the error tells the operator to do
    assert http_get(nap.deploy_json(fkapp, sample_app.path)["placements"][0]["url"]) == "hello 2"


def push(server: SshServer, app: SampleApp, name: str, **popen: Any) -> Any:
    argv = ["git", "-C", str(app.path), "push", server.url(name), "master"]
    if popen:
        return subprocess.Popen(argv, env=server.git_env(), **popen)
    return subprocess.run(argv, env=server.git_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "damage", ["empty objects", "broken HEAD", "a missing blob", "a damaged tree git reads"]
)
def test_a_push_into_a_damaged_repository_says_so_in_one_error_line(
    server: SshServer, sample_app: SampleApp, fkapp: str, damage: str
) -> None:
    assert push(server, sample_app, fkapp).returncode == 0
    repo = server.home / "repos" / f"{fkapp}.git"
    DAMAGE[damage](repo)
    sample_app.serve("hello 2")

    result = push(server, sample_app, fkapp)
    assert result.returncode != 0
    # nap's line comes from the hook (as "remote: ") or from nap shell (as is).
    lines = [line.removeprefix("remote: ").strip() for line in result.stderr.splitlines()]
    naps = [line for line in lines if line.startswith("error: ") and "repository" in line]
    assert len(naps) == 1 and "is damaged" in naps[0], result.stderr
    assert "Traceback" not in result.stderr

    shutil.rmtree(repo)
    assert push(server, sample_app, fkapp).returncode == 0
    listed = server.ssh("releases", fkapp, "--json")
    assert '"status": "current"' in listed.stdout


@pytest.fixture
def patient_server() -> Iterator[SshServer]:
    """The test sshd, with a client silent for 5 s counted as gone (session_timeout)."""
    started = SshServer({"NAP_SESSION_TIMEOUT": "5"})
    try:
        started.start()
        yield started
    finally:
        kill_home_processes(started.home)  # if a deploy still hangs: the test failed
        started.stop()


def test_a_pusher_cut_off_between_the_switch_and_the_ref_update_leaves_a_consistent_state(
    patient_server: SshServer, sample_app: SampleApp, fkapp: str, docker_engine: Any
) -> None:
    """git stops reading the hook's output once the client is gone: the deploy must
    still end (not block on a full pipe, holding the locks), and git move the branch."""
    server = patient_server
    assert push(server, sample_app, fkapp).returncode == 0
    # postdeploy runs once release 2 is current, before the hook ends and git moves
    # master; its output, after the cut, is more than a pipe holds.
    sample_app.write(
        "app.json", POSTDEPLOY % "/bin/busybox sh -c 'sleep 3; /bin/busybox seq 1 40000'"
    )
    head = sample_app.serve("hello 2")
    pusher = push(
        server,
        sample_app,
        fkapp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not any(c.status == "running" for c in release_containers(docker_engine, fkapp, 2)):
        assert pusher.poll() is None, "the push ended before release 2 started"
        assert time.monotonic() < deadline, "release 2 never started"
        time.sleep(0.1)
    while not docker_engine.containers.list(filters={"label": f"nap.oneoff={fkapp}"}):
        assert time.monotonic() < deadline, "postdeploy never ran"
        time.sleep(0.1)
    os.killpg(pusher.pid, signal.SIGKILL)  # git push and its ssh client
    pusher.wait(10)

    # The server side finishes on its own: the hook ends, the locks go.
    while True:
        with if_free(server.home, fkapp) as free:
            if free:
                break
        assert time.monotonic() < deadline, "the push's locks stayed held"
        time.sleep(0.2)

    listed = {r["release"]: r for r in server_releases(server, fkapp)}
    current = [n for n, r in listed.items() if r["status"] == "current"]
    assert len(current) == 1
    running = {
        c.labels["nap.release"]
        for c in docker_engine.containers.list(filters={"label": f"nap.app={fkapp}"})
    }
    assert running == {str(current[0])}  # the release that runs is the one called current
    assert docker_engine.containers.list(all=True, filters={"label": f"nap.oneoff={fkapp}"}) == []

    again = push(server, sample_app, fkapp)
    assert again.returncode == 0, again.stderr
    assert remote_head(server, fkapp) == head
    final = {r["release"]: r for r in server_releases(server, fkapp)}
    serving = next(r for r in final.values() if r["status"] == "current")
    assert http_get(serving["placements"][0]["url"]) == "hello 2"


def server_releases(server: SshServer, app: str) -> list[dict[str, Any]]:
    import json

    result = server.ssh("releases", app, "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def remote_head(server: SshServer, app: str) -> str:
    found = subprocess.run(
        ["git", "ls-remote", server.url(app), "refs/heads/master"],
        env=server.git_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.split()[0] if found.stdout else ""
