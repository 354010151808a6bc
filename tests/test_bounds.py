"""Hostile pushes are bounded: files read as git blobs, never through a symlink;
a git bomb or an oversized pack refused before checkout; a silent build, huge
CHECKS waits and a slow app fail within their deadlines; locks say who holds them.
Real git, Docker engine and registry (`nap deploy`)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get, remove_app_containers

from nap_core import health
from nap_core.errors import DeployBusy, NapError
from nap_core.locks import take
from nap_core.model import Check


@pytest.fixture
def happ(docker_engine: Any) -> Iterator[str]:
    """A fresh app name of this test file's own; its containers and tags go after."""
    name = f"h{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    for image in docker_engine.images.list(name=f"127.0.0.1:5000/{name}"):
        for tag in image.tags:
            if tag.startswith(f"127.0.0.1:5000/{name}:"):
                docker_engine.images.remove(tag)


def failed_with(result: subprocess.CompletedProcess[str], text: str) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert text in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def disk_use(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*"))


@pytest.mark.parametrize("name", ["CHECKS", ".dockerignore", "Dockerfile"])
@pytest.mark.parametrize("target", ["/dev/zero", "NAP_HOME/nap.db", "/etc"])
def test_a_symlinked_file_nap_reads_is_refused(
    nap: Nap, sample_app: SampleApp, happ: str, name: str, target: str
) -> None:
    nap.deploy_json(happ, sample_app.path)  # nap.db exists, release 1 serves
    link = sample_app.path / name
    link.unlink(missing_ok=True)
    link.symlink_to(target.replace("NAP_HOME", str(nap.home)))
    sample_app.commit("a symlink")

    result = nap("deploy", happ, str(sample_app.path))

    failed_with(result, f"{name} is a symlink in the push")
    assert "SQLite" not in result.stderr and "root:" not in result.stderr


def test_a_huge_dockerignore_is_refused_before_the_build(
    nap: Nap, sample_app: SampleApp, happ: str
) -> None:
    sample_app.write(".dockerignore", "x\n" * 600_000)
    sample_app.commit("1.2 MB of .dockerignore")

    failed_with(nap("deploy", happ, str(sample_app.path)), ".dockerignore is 1200000 bytes")


def git_bomb(app: SampleApp, width: int = 10, depth: int = 7) -> None:
    """Commit a tree of width**depth files made of one blob and `depth` trees."""

    def git(*args: str, stdin: str = "") -> str:
        return subprocess.run(
            ["git", "-C", str(app.path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    blob = git("hash-object", "-w", "--stdin", stdin="boom\n")
    entry = f"100644 blob {blob}"
    for _ in range(depth):
        listing = "".join(f"{entry}\t{i}\n" for i in range(width))
        entry = f"040000 tree {git('mktree', stdin=listing)}"
    root = git("write-tree")
    listing = git("ls-tree", root) + "\n" + f"{entry}\tbomb\n"
    commit = git("commit-tree", git("mktree", stdin=listing), "-p", "HEAD", "-m", "bomb")
    git("update-ref", "HEAD", commit)  # never in the work tree: it would check the bomb out


def test_a_git_bomb_is_refused_before_checkout_and_the_lock_released(
    nap: Nap, sample_app: SampleApp, happ: str
) -> None:
    first = nap.deploy_json(happ, sample_app.path)
    git_bomb(sample_app)  # 10 million files, a pack of a few kB

    result = nap("deploy", happ, str(sample_app.path))

    failed_with(result, "more than 100000 files (max_tree_files)")
    assert disk_use(nap.home) < 50_000_000
    assert list((nap.home / "tmp").iterdir()) == []
    assert http_get(first["placements"][0]["url"]) == "hello 1"
    # Both locks are free again: the next push deploys.
    sample_app.git("reset", "--hard", "-q", "HEAD~1")
    sample_app.serve("after the bomb")
    assert nap.deploy_json(happ, sample_app.path)["release"] == 2


def test_a_pack_over_max_push_size_is_refused(nap: Nap, sample_app: SampleApp, happ: str) -> None:
    sample_app.write("big.bin", os.urandom(400_000).hex())
    sample_app.commit("800 kB of noise")

    result = nap("deploy", happ, str(sample_app.path), NAP_MAX_PUSH_SIZE="100000")

    assert result.returncode != 0
    assert "maximum allowed size" in result.stderr, result.stderr
    bare = nap.home / "repos" / f"{happ}.git"
    assert disk_use(bare / "objects") < 200_000


def test_a_bad_session_timeout_rejects_a_local_deploy_in_one_line(
    nap: Nap, sample_app: SampleApp, happ: str
) -> None:
    # The hook reads session_timeout itself (a local `nap deploy` has no nap shell
    # before it): it took "soon" for 60 s before, and the CLI repeated its error.
    first = nap.deploy_json(happ, sample_app.path)
    sample_app.serve("hello 2")

    result = nap("deploy", happ, str(sample_app.path), NAP_SESSION_TIMEOUT="soon")

    failed_with(result, "session_timeout must be a number, not 'soon'")
    assert http_get(first["placements"][0]["url"]) == "hello 1"


def test_a_build_that_sleeps_for_ever_fails_at_build_timeout(
    nap: Nap, sample_app: SampleApp, happ: str, docker_engine: Any
) -> None:
    first = nap.deploy_json(happ, sample_app.path)
    sample_app.write(
        "Dockerfile",
        (sample_app.path / "Dockerfile").read_text() + 'RUN ["/bin/busybox", "sleep", "100000"]\n',
    )
    sample_app.commit("a silent step")

    result = nap("deploy", happ, str(sample_app.path), NAP_BUILD_TIMEOUT="5")

    failed_with(result, "did not finish within 5 s (build_timeout)")
    log = (nap.home / "apps" / happ / "releases" / "2" / "build.log").read_text()
    [step] = re.findall(r"Running in ([0-9a-f]{12})", log)
    # by id only: listing every container fails on someone else's removed meanwhile
    assert docker_engine.containers.list(all=True, sparse=True, filters={"id": step}) == []
    assert http_get(first["placements"][0]["url"]) == "hello 1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("WAIT=9e9", "longer than deploy_timeout"),
        ("WAIT=inf", "finite"),
        ("TIMEOUT=nan", "finite"),
        ("WAIT=-1", "at least 0"),
        ("ATTEMPTS=1e9", "ATTEMPTS must be a whole number"),
        ("ATTEMPTS=2.5", "ATTEMPTS must be a whole number"),
        ("TIMEOUT=0", "more than 0"),
        ("/ok\x0bExecStart=x", "U+000B"),
        ("/a b\u2028/c", "U+2028"),
    ],
)
def test_checks_values_are_clamped(line: str, message: str) -> None:
    with pytest.raises(NapError, match=re.escape(message)):
        health.parse(f"{line}\n/\n", deploy_timeout=30)


def test_huge_checks_waits_fail_the_push_at_once(
    nap: Nap, sample_app: SampleApp, happ: str
) -> None:
    sample_app.write("CHECKS", "WAIT=9e9\n/ hello\n")
    sample_app.commit("wait for centuries")

    failed_with(nap("deploy", happ, str(sample_app.path)), "CHECKS line 1: WAIT=9e9")


@pytest.fixture
def dripping_server() -> Iterator[int]:
    """An HTTP server that answers one byte per second, for ever."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                for byte in b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 10_000:
                    if stop.wait(1):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_a_probe_bounds_the_whole_response(dripping_server: int) -> None:
    reason = health.probe(Check("/", "never"), "127.0.0.1", dripping_server, timeout=2)

    assert reason is not None and "timed out" in reason


def test_checks_against_a_slow_app_stop_at_the_deploy_deadline(dripping_server: int) -> None:
    checks = health.parse("TIMEOUT=3\nATTEMPTS=100\n/ never\n")

    with pytest.raises(NapError, match="deploy deadline"):
        health.verify(checks, "127.0.0.1", dripping_server, 7, time.monotonic() + 4)


def test_a_lock_wait_is_bounded_and_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "happ.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from nap_core.locks import take; "
            "take(Path(sys.argv[1]), doing='deploy of happ'); print('held', flush=True); "
            "time.sleep(600)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        told: list[str] = []

        with pytest.raises(DeployBusy, match=rf"pid {holder.pid} \(deploy of happ\)"):
            take(path, told.append, timeout=0.5)

        assert told == [f"pid {holder.pid} (deploy of happ)"]
    finally:
        holder.kill()
        holder.wait()
    os.close(take(path, timeout=5))  # free once its holder is gone


def test_the_tree_size_counts_every_copy_of_a_blob(tmp_path: Path) -> None:
    from nap_core.tree import PushTooLarge, Tree

    repo = tmp_path / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)

    def git(*args: str, stdin: str = "") -> str:
        return subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    blob = git("hash-object", "-w", "--stdin", stdin="x" * 10_000)
    tree = git("mktree", stdin="".join(f"100644 blob {blob}\tf{i}\n" for i in range(20)))

    Tree(repo, tree).check_bounds(max_files=20, max_bytes=200_000)
    with pytest.raises(PushTooLarge, match="more than 199999 bytes"):
        Tree(repo, tree).check_bounds(max_files=20, max_bytes=199_999)
    with pytest.raises(PushTooLarge, match="more than 19 files"):
        Tree(repo, tree).check_bounds(max_files=19, max_bytes=1 << 30)
