"""nap server setup and the state directory of the `nap` user."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys

from conftest import NAP
from sshd import SshServer, base_env


def test_the_nap_user_and_root_share_var_lib_nap() -> None:
    server = SshServer()  # runs `nap server setup`, which creates the nap user if missing
    try:
        server.start()
        account = pwd.getpwnam("nap")
        probe = "from nap_core.paths import default_home; print(default_home())"
        as_nap = subprocess.run(
            ["runuser", "-u", "nap", "--", sys.executable, "-c", probe],
            env=base_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        as_root = subprocess.run(
            [sys.executable, "-c", probe], env=base_env(), capture_output=True, text=True
        )

        assert as_nap.stdout.strip() == as_root.stdout.strip() == "/var/lib/nap"
        assert account.pw_dir == "/var/lib/nap"
        assert account.pw_shell == "/bin/sh"
        assert "nap" in grp.getgrnam("docker").gr_mem
        stat = server.home.stat()
        assert (stat.st_uid, stat.st_gid) == (account.pw_uid, account.pw_gid)
        assert stat.st_mode & 0o777 == 0o750
    finally:
        server.stop()


def test_setup_needs_root() -> None:
    result = subprocess.run(
        ["runuser", "-u", "nobody", "--", *NAP, "server", "setup"],
        env={**base_env(), "NAP_HOME": "/nonexistent/nap"},
        capture_output=True,
        text=True,
        cwd="/",
    )

    assert result.returncode == 1
    assert result.stderr == "error: nap server setup creates a system user: run it as root\n"
    assert not os.path.exists("/nonexistent/nap")
