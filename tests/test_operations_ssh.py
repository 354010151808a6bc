"""Every day-2 command over the real sshd, through `nap shell`, as the `nap` user:
same names and output as locally."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import SampleApp, http_get
from sshd import SshServer
from test_push import push


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return result


def current_url(server: SshServer, name: str) -> str:
    records = json.loads(ok(server.ssh("releases", name, "--json")).stdout)
    [current] = [r for r in records if r["current"]]
    return str(current["placements"][0]["url"])


def test_day_2_commands_over_ssh(
    server: SshServer, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    ok(push(server, sample_app, app_name, "master"))
    sample_app.serve("hello 2")
    ok(push(server, sample_app, app_name, "master"))

    # config: set (a release without a build, the value never printed), show, unset
    changed = ok(server.ssh("config", "set", app_name, "SECRET=sesame-42"))
    assert "sesame-42" not in changed.stdout + changed.stderr
    assert "Building" not in changed.stderr
    [container] = docker_engine.containers.list(filters={"label": f"nap.app={app_name}"})
    env = container.exec_run(["/bin/busybox", "env"]).output.decode()
    assert "SECRET=sesame-42" in env.splitlines()
    assert ok(server.ssh("config", "show", app_name)).stdout == "SECRET=********\n"
    revealed = ok(server.ssh("config", "show", app_name, "--reveal", "--json")).stdout
    assert json.loads(revealed) == {"SECRET": "sesame-42"}
    ok(server.ssh("config", "unset", app_name, "SECRET"))
    assert ok(server.ssh("config", "show", app_name)).stdout == ""

    # rollback: release 2's image is served again by a new release, without a build
    rolled = ok(server.ssh("rollback", app_name, "1"))
    assert "Building" not in rolled.stderr
    assert http_get(current_url(server, app_name)) == "hello 1"

    # ps and scale
    ok(server.ssh("ps", "scale", app_name, "2"))
    instances = json.loads(ok(server.ssh("ps", app_name, "--json")).stdout)
    assert [i["state"] for i in instances] == ["running", "running"]
    assert {http_get(i["url"]) for i in instances} == {"hello 1"}

    # logs, stop, start, restart
    assert ok(server.ssh("logs", app_name, "-n", "5")).returncode == 0
    assert "exited" in ok(server.ssh("stop", app_name)).stdout
    assert "running" in ok(server.ssh("start", app_name)).stdout
    assert "running" in ok(server.ssh("restart", app_name)).stdout
    assert http_get(current_url(server, app_name)) == "hello 1"

    # destroy: refused without --force, then everything is gone
    refused = server.ssh("apps", "destroy", app_name)
    assert refused.returncode != 0 and "--force" in refused.stderr
    ok(server.ssh("apps", "destroy", app_name, "--force"))
    assert json.loads(ok(server.ssh("apps", "--json")).stdout) == []
    assert docker_engine.containers.list(all=True, filters={"label": f"nap.app={app_name}"}) == []


@pytest.mark.parametrize(
    "command",
    [
        ("deploy", "x", "/etc"),
        ("keys", "list"),
        ("server", "setup"),
        ("apps", "--json", "destroy", "x", "--force"),
        ("config",),
        ("shell",),
    ],
)
def test_commands_that_stay_local_are_refused_over_ssh(
    server: SshServer, command: tuple[str, ...]
) -> None:
    result = server.ssh(*command)

    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
