"""git push over SSH, end to end: a real sshd on 127.0.0.1, real git, engine and registry.

The forced command is the production line `command="nap shell --key NAME",restrict`
that `nap keys add` writes; the test sshd puts this venv's `nap` first on PATH.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import HTTPD_DOCKERFILE, SampleApp, http_get, remove_app_containers
from sshd import SshServer, free_port


def push(
    server: SshServer, app: SampleApp, name: str, *args: str, key: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`git push nap@127.0.0.1:NAME ...` from the sample app's work tree."""
    return subprocess.run(
        ["git", "-C", str(app.path), "push", server.url(name), *args],
        env=server.git_env(key),
        capture_output=True,
        text=True,
        timeout=600,
    )


def remote_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line.removeprefix("remote: ").rstrip()
        for line in result.stderr.splitlines()
        if line.startswith("remote: ")
    ]


def remote_head(server: SshServer, name: str) -> str:
    found = subprocess.run(
        ["git", "ls-remote", server.url(name), "refs/heads/master"],
        env=server.git_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.split()[0] if found.stdout else ""


def releases(server: SshServer, name: str) -> list[dict[str, Any]]:
    result = server.ssh("releases", name, "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_push_deploys_rejects_a_broken_build_and_recovers(
    server: SshServer, sample_app: SampleApp, app_name: str
) -> None:
    first = push(server, sample_app, app_name, "master")

    assert first.returncode == 0, first.stderr
    lines = remote_lines(first)
    assert any(line.startswith("-----> Building") for line in lines)
    assert lines[-2].startswith(f"=====> {app_name} release 1 is up")
    url = lines[-1].strip()
    assert http_get(url) == "hello 1"
    assert (server.home / "repos" / f"{app_name}.git").is_dir()

    sample_app.serve("hello 2")
    second = push(server, sample_app, app_name, "master")
    assert second.returncode == 0, second.stderr
    url = remote_lines(second)[-1].strip()
    assert http_get(url) == "hello 2"
    good = sample_app.git("rev-parse", "HEAD").strip()

    sample_app.write("Dockerfile", "FROM scratch\nCOPY no-such-file /x\n")
    sample_app.commit("broken")
    broken = push(server, sample_app, app_name, "master")

    assert broken.returncode != 0
    errors = [line for line in remote_lines(broken) if line.startswith("error: ")]
    assert len(errors) == 1 and "no-such-file" in errors[0]
    assert "pre-receive hook declined" in broken.stderr
    assert remote_head(server, app_name) == good
    assert http_get(url) == "hello 2"
    assert [(r["release"], r["status"]) for r in releases(server, app_name)] == [
        (3, "failed"),
        (2, "current"),
        (1, "previous"),
    ]

    sample_app.write("Dockerfile", HTTPD_DOCKERFILE)
    fixed_rev = sample_app.serve("hello 4")
    fixed = push(server, sample_app, app_name, "master")
    assert fixed.returncode == 0, fixed.stderr
    assert remote_lines(fixed)[-2].startswith(f"=====> {app_name} release 4 is up")
    assert http_get(remote_lines(fixed)[-1].strip()) == "hello 4"
    assert remote_head(server, app_name) == fixed_rev
    apps = server.ssh("apps", "--json")
    assert {"name": app_name, "release": 4} in json.loads(apps.stdout)

    # Root's local commands see the same state as the pushes.
    local = server.nap("releases", app_name, "--json")
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)[0]["release"] == 4


def test_clone_returns_the_pushed_history(
    server: SshServer, sample_app: SampleApp, app_name: str, tmp_path: Path
) -> None:
    assert push(server, sample_app, app_name, "master").returncode == 0
    for path in (app_name, f"{app_name}.git", f"/{app_name}", f"~/{app_name}"):
        target = tmp_path / f"clone-{len(path)}-{path[0]}"
        cloned = subprocess.run(
            ["git", "clone", "-q", f"nap@127.0.0.1:{path}", str(target)],
            env=server.git_env(),
            capture_output=True,
            text=True,
        )
        assert cloned.returncode == 0, cloned.stderr
        log = subprocess.run(
            ["git", "-C", str(target), "log", "--format=%H"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert log.stdout == sample_app.git("log", "--format=%H")


def test_a_push_to_another_branch_is_refused(
    server: SshServer, sample_app: SampleApp, app_name: str
) -> None:
    result = push(server, sample_app, app_name, "master:feature")

    assert result.returncode != 0
    [error] = [line for line in remote_lines(result) if line.startswith("error: ")]
    assert "only pushes to master or main deploy" in error
    assert remote_head(server, app_name) == ""


def test_cloning_an_unknown_app_is_refused(server: SshServer, tmp_path: Path) -> None:
    result = subprocess.run(
        ["git", "clone", "-q", "nap@127.0.0.1:nosuchapp", str(tmp_path / "c")],
        env=server.git_env(),
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "error: no app named nosuchapp: push it first" in result.stderr
    assert not (server.home / "repos" / "nosuchapp.git").exists()


def snapshot(server: SshServer) -> set[str]:
    """Every path under the test's directory (NAP_HOME and sshd's files), but the log."""
    return {
        str(path.relative_to(server.base))
        for path in server.base.rglob("*")
        if path.name != "sshd.log" and "locks" not in path.parts
    }


#: A file any shell that ran as `nap` could create (/tmp is world-writable); it must not appear.
CANARY = Path("/tmp") / f"nap-canary-{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("touch", str(CANARY)), id="touch-canary"),
        pytest.param((f"sh -c 'touch {CANARY}'",), id="sh-canary"),
        pytest.param((f"git-receive-pack 'x$(touch {CANARY})'",), id="dollar-canary"),
        pytest.param((f"git-receive-pack `touch {CANARY}`",), id="backtick-canary"),
        pytest.param((f"git-upload-pack 'x'; touch {CANARY}",), id="semicolon-canary"),
        pytest.param((f"apps && touch {CANARY}",), id="and-canary"),
        pytest.param((f"apps | touch {CANARY}",), id="pipe-canary"),
        pytest.param((), id="no-command"),
        pytest.param(("bash",), id="bash"),
        pytest.param(("sh", "-c", "id"), id="sh-c-id"),
        pytest.param(("git-receive-pack '../../etc'",), id="dotdot"),
        pytest.param(("git-receive-pack 'a; rm -rf ~'",), id="semicolon"),
        pytest.param(("git-receive-pack '$(id)'",), id="dollar-paren"),
        pytest.param(("git-receive-pack '`id`'",), id="backticks"),
        pytest.param(("git-receive-pack 'a\nb'",), id="newline"),
        pytest.param(("git-receive-pack 'ab'\nid",), id="newline-command"),
        pytest.param((f"git-receive-pack '{'a' * 200}'",), id="200-chars"),
        pytest.param(("git-upload-pack '/etc/passwd'",), id="upload-etc"),
        pytest.param(("git-receive-pack 'a' 'b'",), id="two-paths"),
        pytest.param(("scp", "-t", "/tmp/x"), id="scp"),
        pytest.param(("deploy", "x", "/etc"), id="deploy"),
        pytest.param(("keys", "add", "x", "-"), id="keys"),
        pytest.param(("server", "setup"), id="server"),
        pytest.param(("shell", "--key", "x"), id="shell"),
        pytest.param((" --version",), id="global-option"),
        pytest.param(("plugins",), id="group-alone"),
        pytest.param(("plugins", "--help", "list"), id="option-before-subcommand"),
        pytest.param(("releases",), id="usage-error"),
    ],
)
def test_refused_with_one_line_and_nothing_created(
    server: SshServer, command: tuple[str, ...]
) -> None:
    before = snapshot(server)

    result = server.ssh(*command)

    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert snapshot(server) == before
    assert not (server.home / "repos").exists()
    assert not CANARY.exists()


def test_an_unknown_key_is_refused(server: SshServer, sample_app: SampleApp) -> None:
    before = snapshot(server)

    result = server.ssh("help", key=server.stranger_key)
    pushed = push(server, sample_app, "someapp", "master", key=server.stranger_key)

    assert result.returncode == 255
    assert result.stderr.strip() == "nap@127.0.0.1: Permission denied (publickey)."
    assert pushed.returncode != 0 and "Permission denied (publickey)" in pushed.stderr
    assert snapshot(server) == before


def test_port_and_agent_forwarding_are_refused(server: SshServer) -> None:
    # -R asks the server at once; ExitOnForwardFailure turns its "no" into an exit.
    remote = server.ssh(
        "help", options=("-N", "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:9")
    )
    assert remote.returncode != 0
    assert "remote port forwarding failed" in remote.stderr.lower()

    # -L is opened on the client; the server refuses each connection through it.
    port = str(free_port())
    local = subprocess.Popen(
        [
            *server.ssh_command(log_level="INFO"),
            "-N",
            "-L",
            f"127.0.0.1:{port}:127.0.0.1:{server.port}",
            "nap@127.0.0.1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answer = b""
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", int(port)), 5) as conn:
                    answer = conn.recv(100)
                    break
            except ConnectionRefusedError:
                time.sleep(0.05)  # waiting for ssh to listen
        # Through a working forward sshd would greet us with "SSH-2.0-..."
        assert not answer.startswith(b"SSH-")
    finally:
        local.terminate()
        try:
            _, stderr = local.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # ssh can miss a SIGTERM that lands mid-poll
            local.kill()
            _, stderr = local.communicate()
    assert "administratively prohibited" in stderr

    sock = server.base / "agent.sock"
    agent_proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)  # waiting for the agent's socket
        agent = server.ssh("help", options=("-A",), env={"SSH_AUTH_SOCK": str(sock)})
    finally:
        agent_proc.terminate()
        agent_proc.wait(timeout=10)
    assert agent.returncode == 0
    assert "agent forwarding disabled" in server.log.read_text()


def test_the_allowed_commands_over_ssh(server: SshServer) -> None:
    helped = server.ssh("help")
    plugins = server.ssh("plugins", "list", "--json")
    apps = server.ssh("apps", "--json")
    unknown = server.ssh("releases", "nosuchapp")

    assert helped.returncode == 0 and "git push nap master" in helped.stdout
    assert plugins.returncode == 0
    assert "gitshell" in {p["name"] for p in json.loads(plugins.stdout)}
    assert apps.returncode == 0 and json.loads(apps.stdout) == []
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: no app named nosuchapp: deploy it first")
    assert len(unknown.stderr.splitlines()) == 1


def test_two_pushes_to_one_app_never_interleave(
    server: SshServer, sample_app: SampleApp, app_name: str, tmp_path: Path
) -> None:
    assert push(server, sample_app, app_name, "master").returncode == 0
    other = SampleApp(tmp_path / "other")
    subprocess.run(["cp", "-a", str(sample_app.path), str(other.path)], check=True)
    sample_app.serve("from a")
    other.serve("from b")

    procs = [
        subprocess.Popen(
            ["git", "-C", str(app.path), "push", server.url(app_name), "master"],
            env=server.git_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app in (sample_app, other)
    ]
    results = [(proc.wait(timeout=600), proc.communicate()[1]) for proc in procs]

    # Both started from release 1, so whichever went second was not a fast-forward:
    # git refuses it before it reaches the hook, and nothing of it deploys.
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    [(_, loser)] = [(code, err) for code, err in results if code != 0]
    assert "fetch first" in loser or "non-fast-forward" in loser
    assert_consistent(server, app_name, tmp_path)
    history = releases(server, app_name)
    assert [r["release"] for r in history] == [2, 1]


def test_two_first_pushes_of_a_new_app_at_once(
    server: SshServer, sample_app: SampleApp, app_name: str, tmp_path: Path
) -> None:
    other = SampleApp(tmp_path / "other")
    subprocess.run(["cp", "-a", str(sample_app.path), str(other.path)], check=True)
    other.serve("from b")

    procs = [
        subprocess.Popen(
            ["git", "-C", str(app.path), "push", server.url(app_name), "master"],
            env=server.git_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app in (sample_app, other)
    ]
    results = [(proc.wait(timeout=600), proc.communicate()[1]) for proc in procs]

    # sample_app's commit is an ancestor of other's: if it won, other fast-forwards
    # and deploys too; if other won, sample_app's push would rewind and is refused.
    succeeded = [code for code, _ in results].count(0)
    assert succeeded >= 1, results
    assert_consistent(server, app_name, tmp_path)
    # One release per push that got through, each of which served.
    assert [r["status"] for r in releases(server, app_name)] == (
        ["current", "previous"] if succeeded == 2 else ["current"]
    )


def test_two_forced_pushes_to_one_app_deploy_one_after_the_other(
    server: SshServer, sample_app: SampleApp, app_name: str, tmp_path: Path
) -> None:
    assert push(server, sample_app, app_name, "master").returncode == 0
    other = SampleApp(tmp_path / "other")
    subprocess.run(["cp", "-a", str(sample_app.path), str(other.path)], check=True)
    sample_app.serve("from a")
    other.serve("from b")

    procs = [
        subprocess.Popen(
            ["git", "-C", str(app.path), "push", "--force", server.url(app_name), "master"],
            env=server.git_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app in (sample_app, other)
    ]
    results = [(proc.wait(timeout=600), proc.communicate()[1]) for proc in procs]

    assert [code for code, _ in results] == [0, 0], results
    history = releases(server, app_name)
    assert [(r["release"], r["status"]) for r in history] == [
        (3, "current"),
        (2, "previous"),
        (1, "previous"),
    ]
    # The one that deployed last is the one the branch names and that answers.
    assert_consistent(server, app_name, tmp_path)


def test_pushes_to_three_apps_at_once(
    server: SshServer, sample_app: SampleApp, tmp_path: Path, docker_engine: Any
) -> None:
    names = [f"t{uuid.uuid4().hex[:8]}-{n}" for n in ("one", "two", "three")]
    try:
        procs = [
            subprocess.Popen(
                ["git", "-C", str(sample_app.path), "push", server.url(name), "master"],
                env=server.git_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in names
        ]
        for proc in procs:
            assert proc.wait(timeout=600) == 0, proc.communicate()[1]
        for name in names:
            assert_consistent(server, name, tmp_path)
    finally:
        for name in names:
            remove_app_containers(docker_engine, name)


def assert_consistent(server: SshServer, name: str, workdir: Path) -> None:
    """The branch, the current release and what answers all agree."""
    history = releases(server, name)
    current = [r for r in history if r["current"]]
    assert len(current) == 1
    assert current[0]["revision"] == remote_head(server, name)
    assert not [r for r in history if r["status"] == "deploying"]
    clone = workdir / f"check-{name}"
    subprocess.run(
        ["git", "clone", "-q", server.url(name), str(clone)],
        env=server.git_env(),
        check=True,
        capture_output=True,
    )
    expected = subprocess.run(
        ["git", "-C", str(clone), "show", f"{current[0]['revision']}:www/index.html"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert http_get(current[0]["placements"][0]["url"]) == expected


def test_a_push_waits_for_the_one_before_it(
    server: SshServer, sample_app: SampleApp, app_name: str
) -> None:
    # Stand in for a push in progress by holding the app's push lock.
    locks = server.home / "locks"
    locks.mkdir(exist_ok=True)
    holder = open(locks / f"{app_name}.push.lock", "w")  # noqa: SIM115
    nap_user = pwd.getpwnam("nap")
    for path in (locks, locks / f"{app_name}.push.lock"):
        os.chown(path, nap_user.pw_uid, nap_user.pw_gid)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        proc = subprocess.Popen(
            ["git", "-C", str(sample_app.path), "push", server.url(app_name), "master"],
            env=server.git_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith(f"-----> Another push to {app_name} is deploying; waiting")
        # Nothing was advertised or received yet: the branch does not exist.
        branch = server.home / "repos" / f"{app_name}.git" / "refs" / "heads" / "master"
        assert not branch.exists()
    finally:
        holder.close()
    rest = proc.stderr.read()
    assert proc.wait(timeout=600) == 0, rest
    assert "release 1 is up" in rest


def test_root_and_pushes_share_one_state(
    server: SshServer, sample_app: SampleApp, app_name: str
) -> None:
    # pytest's tmp_path is root's alone: the nap user that owns NAP_HOME cannot read it.
    unreadable = server.nap("deploy", app_name, str(sample_app.path))
    assert unreadable.returncode != 0
    assert unreadable.stderr.startswith(f"error: {sample_app.path} is not readable by nap")

    readable = server.base / "work"
    subprocess.run(["cp", "-a", str(sample_app.path), str(readable)], check=True)
    local = server.nap("deploy", app_name, str(readable), "--json")
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["release"] == 1

    # Everything root's deploy wrote belongs to nap, so the next push can use it.
    nap_uid = pwd.getpwnam("nap").pw_uid
    assert {p.stat().st_uid for p in server.home.rglob("*")} == {nap_uid}
    sample_app.git("pull", "-q", str(readable), "master")
    sample_app.serve("hello 2")
    pushed = push(server, sample_app, app_name, "master")
    assert pushed.returncode == 0, pushed.stderr
    assert http_get(remote_lines(pushed)[-1].strip()) == "hello 2"
    assert [r["release"] for r in releases(server, app_name)] == [2, 1]
