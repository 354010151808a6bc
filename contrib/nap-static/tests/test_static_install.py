"""`nap plugins install|uninstall` in a fresh environment: nap installed from this
checkout into a new venv (no system site-packages), nap-static added with pip
through nap, a site deployed, the plugin removed, the next push of the site
refused while the old release keeps serving."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from apptypes import ROOT, app_name, base_images, new_app
from conftest import docker_engine, http_get, server
from sshd import SshServer

__all__ = ["app_name", "base_images", "docker_engine", "server"]


#: What a build leaves in a checkout: a copy without it builds from the sources alone.
LEFTOVERS = shutil.ignore_patterns(
    ".git", "build", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of this checkout (a stale build/ would leak old modules into a wheel)."""
    copy = tmp_path_factory.mktemp("src") / "nap"
    shutil.copytree(ROOT, copy, ignore=LEFTOVERS)
    return copy


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Iterator[Path]:
    """A new venv holding nap (from this checkout, not editable) and its dependencies."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    yield venv


def run(venv: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAP_", "PYTHON"))}
    env.update(NAP_HOME=str(home), NAP_DEPLOY_TIMEOUT="8", NAP_STOP_TIMEOUT="2", NAP_ROUTER="none")
    return subprocess.run(
        [str(venv / "bin" / "nap"), *args], env=env, capture_output=True, text=True, timeout=900
    )


def listed(venv: Path, home: Path) -> dict[str, Any]:
    result = run(venv, home, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {plugin["name"]: plugin for plugin in json.loads(result.stdout)}


def test_install_deploy_uninstall_refuse_and_the_old_release_serves(
    fresh_venv: Path, source: Path, app_name: str, base_images: None, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert "static" not in listed(fresh_venv, home)
    site = new_app(tmp_path / "site", {"index.html": "installed 1"})

    installed = run(fresh_venv, home, "plugins", "install", str(source / "contrib" / "nap-static"))
    assert installed.returncode == 0, installed.stderr
    plugin = listed(fresh_venv, home)["static"]
    assert (plugin["version"], plugin["hooks"], plugin["builtin"]) == (
        "0.1.0", ["detect", "build"], False
    )  # fmt: skip

    deployed = run(fresh_venv, home, "deploy", app_name, str(site.path), "--json")
    assert deployed.returncode == 0, deployed.stderr
    url = json.loads(deployed.stdout)["placements"][0]["url"]
    assert http_get(url) == "installed 1"

    removed = run(fresh_venv, home, "plugins", "uninstall", "nap-static")
    assert removed.returncode == 0, removed.stderr
    assert "static" not in listed(fresh_venv, home)

    site.write("index.html", "installed 2")
    site.commit("after uninstall")
    refused = run(fresh_venv, home, "deploy", app_name, str(site.path))
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.split("\n") if line.startswith("error: ")]
    assert len(errors) == 1 and "cannot tell how to build" in errors[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert http_get(url) == "installed 1"


def test_install_and_uninstall_refuse_what_is_not_a_plugin(
    fresh_venv: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    for args, says in [
        (("install", "--", "--index-url=evil"), "neither a plugin's name"),
        (("install", "--", "--index-url=http://evil.invalid"), "not a Python project"),
        (("install", "nap-static;id"), "neither a plugin's name"),
        (("install", str(tmp_path)), "not a Python project"),
        (("uninstall", "nap"), "cannot uninstall itself"),
        (("uninstall", "click"), "not a nap plugin"),
        (("uninstall", "no-such-dist"), "no distribution named"),
    ]:
        result = run(fresh_venv, home, "plugins", *args)
        assert result.returncode != 0, args
        assert result.stderr.strip().split("\n")[-1].startswith("error: "), result.stderr
        assert says in result.stderr, (args, result.stderr)


def test_plugins_install_is_never_run_over_ssh(server: SshServer) -> None:
    for command in (("plugins", "install", "nap-static"), ("plugins", "uninstall", "nap-static")):
        result = server.ssh(*command)

        assert result.returncode == 1
        assert result.stderr.startswith("error: nap does not run"), result.stderr


def test_apps_set_works_over_ssh(server: SshServer) -> None:
    chosen = server.ssh("apps", "set", "aremote", "app_type", "static")

    assert chosen.returncode == 0, chosen.stderr
    assert "app_type is static" in chosen.stderr


def test_plugins_install_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from nap_core.cli import command_line

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("NAP_ROUTER", "none")  # in process: no Caddy for the default NAP_HOME
    group, session = command_line()
    result = CliRunner().invoke(group, ["plugins", "install", "nap-static"], obj=session)

    assert result.exit_code == 1
    assert "run it as root" in result.output
