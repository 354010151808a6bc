"""Every error a client sees is one short `error:` line with a non-zero exit:
no traceback, no server path, at most a short prefix of a hostile value;
unexpected exceptions are logged on the server under a reference."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import NAP, Nap, SampleApp, remove_app_containers


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert len(lines[0]) <= 500
    return lines[0]


def test_a_huge_release_number_is_one_line(
    nap: Nap, sample_app: SampleApp, docker_engine: Any
) -> None:
    app = f"h{uuid.uuid4().hex[:8]}"
    try:
        nap.deploy_json(app, sample_app.path)
        line = one_error(nap("rollback", app, "99999999999999999999999"))
        assert "99999999999999999999999" in line and "range" in line
        one_error(nap("logs", app, "-n", "9" * 5000))
    finally:
        remove_app_containers(docker_engine, app)


@pytest.mark.parametrize(
    "args",
    [
        ("releases", "a" * 100_000),
        ("config", "set", "happ", "K" * 100_000 + "=1"),
        ("config", "set", "happ", "K=" + "v\u2028" * 20_000),
        ("ps", "scale", "happ", "9" * 100_000),
        ("no-such-command-" + "x" * 100_000,),
        ("keys", "add", "k" * 100_000, "/dev/null"),
    ],
    ids=["app", "key", "value", "scale", "command", "keyname"],
)
def test_hostile_values_come_back_short(nap: Nap, args: tuple[str, ...]) -> None:
    line = one_error(nap(*args))
    assert "\u2028" not in line


def test_an_unexpected_error_is_logged_with_a_reference(nap: Nap) -> None:
    (nap.home / "nap.db").write_bytes(b"this is not a database" * 100)

    line = one_error(nap("apps"))

    [reference] = re.findall(r"reference ([0-9a-f]{12})", line)
    assert str(nap.home) not in line and "DatabaseError" in line
    log = (nap.home / "logs" / "errors.log").read_text()
    assert f"reference {reference}" in log and "Traceback" in log
    assert (nap.home / "logs" / "errors.log").stat().st_mode & 0o777 == 0o600


@pytest.fixture
def nap_owned_home() -> Any:
    """A NAP_HOME that belongs to the `nap` user (made by `nap server setup`)."""
    base = Path(tempfile.mkdtemp(prefix="nap-errors-", dir="/tmp"))
    base.chmod(0o755)
    home = base / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAP_", "GIT_"))}
    env["NAP_ROUTER"] = "none"  # no Caddy on port 80 from this test
    setup = subprocess.run(
        [*NAP, "server", "setup", "--home", str(home)], env=env, capture_output=True, text=True
    )
    assert setup.returncode == 0, setup.stderr
    yield home, env
    shutil.rmtree(base)


def test_root_as_owner_with_an_interpreter_the_owner_cannot_read(nap_owned_home: Any) -> None:
    home, env = nap_owned_home
    private = Path(tempfile.mkdtemp(prefix="nap-private-python-"))  # mode 0700, root's
    try:
        venv = private / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        site = next((venv / "lib").glob("python3*/site-packages"))
        ours = next(Path(p) for p in sys.path if p.endswith("site-packages"))
        (site / "nap.pth").write_text(f"import site; site.addsitedir({str(ours)!r})\n")
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "nap", "apps"],
            env={**env, "NAP_HOME": str(home)},
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(private)

    line = one_error(result)
    assert "cannot read nap's Python" in line and "install nap where nap can read it" in line
