"""Checkout hygiene: git ignores system and global config (a pushed
.gitattributes starts no filter), the hook's Python runs isolated, env files
are private even when they existed before."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from conftest import Nap, SampleApp, remove_app_containers

from nap_docker.envfile import write_env_file
from nap_gitshell.repos import hook_text


def test_a_pushed_gitattributes_starts_no_filter(
    nap: Nap, sample_app: SampleApp, tmp_path: Path, docker_engine: Any
) -> None:
    marker = tmp_path / "filter-ran"
    home = tmp_path / "operator-home"
    home.mkdir()
    # A filter the server's user configured (git-lfs installs itself like this).
    (home / ".gitconfig").write_text(f'[filter "evil"]\n\tsmudge = "touch {marker}; cat"\n')
    sample_app.write(".gitattributes", "* filter=evil\n")
    sample_app.commit("ask for a filter")
    app = f"h{uuid.uuid4().hex[:8]}"
    try:
        nap.deploy_json(app, sample_app.path, HOME=str(home))
    finally:
        remove_app_containers(docker_engine, app)

    assert not marker.exists()


def test_env_files_are_private_even_when_they_existed(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text("OLD=1\n")
    path.chmod(0o644)

    write_env_file(path, {"SECRET": "x"})

    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == "SECRET=x\n"


def test_the_hook_runs_python_isolated() -> None:
    assert " -I -m nap_gitshell.hook " in hook_text()
