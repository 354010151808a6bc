"""Who may touch which app, over the real sshd: admins reach everything; a user
key reaches only the apps its ACL names, and never what needs an admin."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SampleApp, make_sample_app, remove_app_containers
from sshd import SshServer
from test_push import push


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def denied(result: subprocess.CompletedProcess[str], text: str = "") -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors and "Traceback" not in result.stderr, result.stderr
    assert text in errors[0], result.stderr
    return errors[0]


@pytest.fixture
def apps(docker_engine: Any) -> Iterator[list[str]]:
    names = [f"h{uuid.uuid4().hex[:8]}" for _ in range(2)]
    yield names
    for name in names:
        remove_app_containers(docker_engine, name)


def test_a_user_key_reaches_only_the_apps_its_acl_names(
    server: SshServer, sample_app: SampleApp, tmp_path: Path, apps: list[str]
) -> None:
    mine, theirs = apps
    bob = server.stranger_key
    ok(server.nap("keys", "add", "bob", f"{bob}.pub"))
    roles = json.loads(ok(server.nap("keys", "list", "--json")).stdout)
    assert [(k["name"], k["role"]) for k in roles] == [("alice", "admin"), ("bob", "user")]

    # Without an ACL: no push (not even of a new app), no read, no clone.
    denied(push(server, sample_app, mine, "master", key=bob), "may not access")
    ok(push(server, sample_app, mine, "master"))  # alice, the first key: an admin
    ok(push(server, make_sample_app(tmp_path / "other"), theirs, "master"))
    for command in (
        ("releases", mine),
        ("config", "show", mine),
        ("config", "set", mine, "A=1"),
        ("logs", mine),
        ("ps", "scale", mine, "2"),
        ("rollback", mine),
        ("restart", mine),
    ):
        denied(server.ssh(*command, key=bob), f"key bob may not access {mine}")
    clone = subprocess.run(
        ["git", "clone", "-q", server.url(mine), str(tmp_path / "clone")],
        env=server.git_env(bob),
        capture_output=True,
        text=True,
    )
    assert clone.returncode != 0 and "may not access" in clone.stderr
    assert json.loads(ok(server.ssh("apps", "--json", key=bob)).stdout) == []

    # An admin grants bob one app, over SSH.
    denied(server.ssh("acl", "add", mine, "bob", key=bob), "not an admin")
    ok(server.ssh("acl", "add", mine, "bob"))
    assert json.loads(ok(server.ssh("acl", "list", mine, "--json")).stdout) == ["bob"]

    sample_app.serve("bob was here")
    ok(push(server, sample_app, mine, "master", key=bob))
    ok(server.ssh("config", "set", mine, "SECRET=s3", key=bob))
    assert ok(server.ssh("config", "show", mine, key=bob)).stdout == "SECRET=********\n"
    ok(server.ssh("releases", mine, key=bob))
    ok(server.ssh("ps", mine, key=bob))
    listed = json.loads(ok(server.ssh("apps", "--json", key=bob)).stdout)
    assert [a["name"] for a in listed] == [mine]
    # ... still not what needs an admin, and not the other app.
    denied(server.ssh("config", "show", mine, "--reveal", key=bob), "not an admin")
    denied(server.ssh("apps", "destroy", mine, "--force", key=bob), "not an admin")
    denied(server.ssh("acl", "list", mine, key=bob), "not an admin")
    denied(server.ssh("releases", theirs, key=bob), f"may not access {theirs}")
    denied(push(server, sample_app, theirs, "master", "--force", key=bob), "may not access")

    # The admin can do all; a revoked key is out again.
    revealed = json.loads(ok(server.ssh("config", "show", mine, "--reveal", "--json")).stdout)
    assert revealed == {"SECRET": "s3"}
    ok(server.ssh("acl", "remove", mine, "bob"))
    denied(server.ssh("releases", mine, key=bob), "may not access")
    ok(server.ssh("apps", "destroy", theirs, "--force"))


def test_removing_a_key_forgets_its_role_and_grants(server: SshServer) -> None:
    bob = f"{server.stranger_key}.pub"
    ok(server.nap("keys", "add", "bob", bob, "--admin"))
    ok(server.nap("acl", "add", "happ", "bob"))
    ok(server.nap("keys", "remove", "bob"))
    ok(server.nap("keys", "add", "bob", bob))

    assert json.loads(ok(server.nap("keys", "list", "--json")).stdout)[1]["role"] == "user"
    assert json.loads(ok(server.nap("acl", "list", "happ", "--json")).stdout) == []


def test_a_silent_push_is_cut_after_session_timeout_and_frees_the_lock(
    sample_app: SampleApp, apps: list[str]
) -> None:
    from sshd import SshServer as Server

    server = Server(extra_env={"NAP_SESSION_TIMEOUT": "2"})
    server.start()
    try:
        app = apps[0]
        silent = subprocess.Popen(
            [*server.ssh_command(), "-T", "nap@127.0.0.1", f"git-receive-pack '{app}'"],
            stdin=subprocess.PIPE,  # never written: the client says nothing
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            silent.wait(timeout=120)  # stdin stays open: ssh sends no EOF either
        finally:
            silent.kill()
        assert silent.stderr is not None and silent.stdin is not None
        err = silent.stderr.read()
        silent.stdin.close()
        assert silent.returncode != 0
        assert "sent nothing within 2 s (session_timeout)" in err
        ok(push(server, sample_app, app, "master"))  # the push lock is free
    finally:
        server.stop()
