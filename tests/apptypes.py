"""Helpers for the app-type plugins' tests (contrib/nap-*/tests): the stand-in base
images, sample apps without a Dockerfile, pushes over the real sshd, and reading
the engine's build output.

contrib tests import from here (and the fixtures they need from conftest):
tests/ is put on sys.path by :func:`use_nap_tests` in each contrib test module.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import SampleApp
from sshd import SshServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def base_images(docker_engine: Any) -> None:
    """The default base images, as local stand-ins (scripts/base-images.sh).

    They are cached on the engine (labelled ``org.nap.stand-in=true``) and kept
    after the session; an image of the same name that is not a stand-in is used
    as it is. ``bash scripts/base-images.sh --remove`` untags the stand-ins.
    """
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "base-images.sh")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/base-images.sh failed:\n{done.stdout}\n{done.stderr}")


def new_app(path: Path, files: dict[str, str]) -> SampleApp:
    """A git work tree at ``path`` holding ``files``, committed."""
    path.mkdir(parents=True)
    app = SampleApp(path)
    app.git("init", "-q", "-b", "master")
    app.git("config", "user.email", "test@example.invalid")
    app.git("config", "user.name", "test")
    for name, text in files.items():
        app.write(name, text)
    app.commit("first")
    return app


def push(server: SshServer, app: SampleApp, name: str) -> subprocess.CompletedProcess[str]:
    """`git push nap@127.0.0.1:NAME master` from the app's work tree."""
    return subprocess.run(
        ["git", "-C", str(app.path), "push", server.url(name), "master"],
        env=server.git_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def remote_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the server printed during a push (git's ``remote:`` lines), unprefixed."""
    return [
        line.removeprefix("remote: ").rstrip()
        for line in result.stderr.split("\n")
        if line.startswith("remote: ")
    ]


def pushed(server: SshServer, app: SampleApp, name: str) -> tuple[str, list[str]]:
    """Push, require success; the URL the push names and the push's output lines."""
    result = push(server, app, name)
    assert result.returncode == 0, result.stderr
    lines = remote_lines(result)
    assert lines[-2].startswith(f"=====> {name} release"), lines[-5:]
    return lines[-1].strip(), lines


def step_cached(lines: list[str], instruction: str) -> bool:
    """Whether the build step ``instruction`` (``RUN pip install ...``) was taken from
    the engine's cache, read from the classic builder's output
    (``Step N/M : INSTRUCTION`` then `` ---> Using cache``)."""
    stripped = [line.strip() for line in lines]
    for i, line in enumerate(stripped):
        if line.startswith("Step ") and line.endswith(f" : {instruction}"):
            return i + 1 < len(stripped) and stripped[i + 1] == "---> Using cache"
    raise AssertionError(f"no build step {instruction!r} in the output:\n" + "\n".join(lines))


@pytest.fixture
def app_name(docker_engine: Any) -> Any:
    """A fresh app name (prefix ``a``); its containers and local images go after the test."""
    import uuid

    from conftest import remove_app_containers

    name = f"a{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    for image in docker_engine.images.list(name=f"127.0.0.1:5000/{name}"):
        for tag in image.tags:
            if tag.startswith(f"127.0.0.1:5000/{name}:"):
                docker_engine.images.remove(tag, noprune=False)


def second_name(docker_engine: Any, name: str, of: str) -> Any:
    """Tag the stand-in ``of`` as ``name`` too (``python:3.12-slim``), if nothing has
    that name; yields the name and removes the tag afterwards only if it made it."""
    created = False
    try:
        docker_engine.images.get(name)
    except Exception:
        repository, _, tag = name.rpartition(":")
        docker_engine.images.get(of).tag(repository, tag)
        created = True
    yield name
    if created:
        docker_engine.images.remove(name)
