"""Many pushes at once over the real sshd: every app ends with its last pushed
content, release numbers have no gap and no duplicate, and no lock stays held."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import SampleApp, http_get, make_sample_app, remove_app_containers
from sshd import SshServer

from nap_core.locks import if_free

APPS = 10
#: A push git refuses because another landed first is git's answer, not a failure.
STALE = ("fetch first", "non-fast-forward", "stale info", "cannot lock ref")


@pytest.fixture
def many_apps(tmp_path: Path, docker_engine: Any) -> Iterator[list[tuple[str, SampleApp]]]:
    """Ten apps, each a work tree whose HEAD~1 serves v1 and HEAD serves v2."""
    found = []
    for index in range(APPS):
        app = make_sample_app(tmp_path / f"app{index}", f"app {index} v1")
        app.serve(f"app {index} v2")
        found.append((f"c{uuid.uuid4().hex[:8]}", app))
    yield found
    for name, _ in found:
        remove_app_containers(docker_engine, name)


def test_twenty_concurrent_pushes_to_ten_apps_all_land(
    server: SshServer, many_apps: list[tuple[str, SampleApp]]
) -> None:
    def push(job: tuple[str, SampleApp, str]) -> subprocess.CompletedProcess[str]:
        name, app, revision = job
        return subprocess.run(
            ["git", "-C", str(app.path), "push", server.url(name), f"{revision}:refs/heads/master"],
            env=server.git_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )

    jobs = [(name, app, rev) for name, app in many_apps for rev in ("HEAD~1", "HEAD")]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(push, jobs))

    for (name, _, revision), result in zip(jobs, results, strict=True):
        if result.returncode != 0:
            assert revision == "HEAD~1" and any(s in result.stderr for s in STALE), result.stderr
    for index, (name, app) in enumerate(many_apps):
        listed = json.loads(server.ssh("releases", name, "--json").stdout)
        numbers = [r["release"] for r in listed]
        assert numbers == list(range(len(numbers), 0, -1)), numbers  # no gap, no duplicate
        assert {r["status"] for r in listed} <= {"current", "previous"}
        current = next(r for r in listed if r["status"] == "current")
        assert current["revision"] == app.git("rev-parse", "HEAD").strip()
        assert http_get(current["placements"][0]["url"]) == f"app {index} v2"
        with if_free(server.home, name) as free:
            assert free
