"""`nap run APP -- CMD` over the real sshd, through `nap shell`: the exit status,
stdin piped in, a TTY with `ssh -tt`, the app's config, nothing left behind."""

from __future__ import annotations

import subprocess
from typing import Any

from conftest import SampleApp
from sshd import SshServer, base_env
from test_processes import papp
from test_push import push

__all__ = ["papp"]  # the fixture, shared with test_processes


def ssh_run(
    server: SshServer, *words: str, tty: bool = False, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`ssh [-tt|-T] nap@HOST run ...`; ssh joins the words with spaces, nap splits them."""
    return subprocess.run(
        [*server.ssh_command(), "-tt" if tty else "-T", "nap@127.0.0.1", "run", *words],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=base_env(),
    )


def test_nap_run_over_ssh(
    server: SshServer, sample_app: SampleApp, papp: str, docker_engine: Any
) -> None:
    never = server.ssh("config", "set", f"{papp}-none", "A=1")
    assert never.returncode == 0, never.stderr
    refused = ssh_run(server, f"{papp}-none", "--", "/bin/busybox", "true")
    assert refused.returncode == 1
    assert refused.stderr == f"error: {papp}-none has no release yet: push it first\n"

    assert server.ssh("config", "set", papp, "GREETING=from-config").returncode == 0
    pushed = push(server, sample_app, papp, "master")
    assert pushed.returncode == 0, pushed.stderr

    status = ssh_run(server, papp, "--", "/bin/busybox", "sh", "-c", "'exit 7'")
    assert status.returncode == 7, status.stderr

    piped = ssh_run(server, papp, "--", "/bin/busybox", "tr", "a-z", "A-Z", stdin="piped in\n")
    assert (piped.returncode, piped.stdout) == (0, "PIPED IN\n")

    config = ssh_run(server, papp, "--", "/bin/busybox", "sh", "-c", "'echo $GREETING; ls /www'")
    assert config.stdout == "from-config\nindex.html\n"

    is_tty = "'[ -t 0 ] && [ -t 1 ] && echo tty || echo no-tty'"
    assert ssh_run(server, papp, "--", "/bin/busybox", "sh", "-c", is_tty).stdout == "no-tty\n"
    with_tty = ssh_run(server, papp, "--", "/bin/busybox", "sh", "-c", is_tty, tty=True)
    assert with_tty.returncode == 0
    assert with_tty.stdout.replace("\r\n", "\n").strip().splitlines()[-1] == "tty"

    assert docker_engine.containers.list(all=True, filters={"label": f"nap.oneoff={papp}"}) == []
