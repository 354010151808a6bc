"""nap-python against the real engine, registry, sshd and git: Python apps pushed
over SSH answer, a code-only push reuses the dependency layer, a Procfile's web
line and the documented defaults both run, runtime.txt picks the base image."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from apptypes import app_name, base_images, new_app, pushed, second_name, step_cached
from conftest import docker_engine, http_get, server
from sshd import SshServer

__all__ = ["app_name", "base_images", "docker_engine", "server"]

INSTALL = "RUN pip install -r requirements.txt"

WSGI_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"{content}"]
"""

PLAIN_APP = """\
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"{content}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.HTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
"""


def test_a_procfile_app_answers_and_a_code_change_reuses_the_dependency_layer(
    server: SshServer, app_name: str, base_images: None, tmp_path: Path
) -> None:
    app = new_app(
        tmp_path / "app",
        {
            # The comment makes the file this test's own, so the first install is real.
            "requirements.txt": f"gunicorn\n# {app_name}\n",
            "app.py": WSGI_APP.format(content="python 1"),
            "Procfile": "web: gunicorn app:app\n",
        },
    )

    url, lines = pushed(server, app, app_name)

    assert any("(python, " in line for line in lines if line.startswith("-----> Building"))
    assert any("web: gunicorn app:app (Procfile)" in line for line in lines)
    assert not step_cached(lines, INSTALL)
    assert any("Successfully installed gunicorn" in line for line in lines)
    assert http_get(url) == "python 1"

    app.write("app.py", WSGI_APP.format(content="python 2"))
    app.commit("code only")
    url, lines = pushed(server, app, app_name)

    assert step_cached(lines, "COPY requirements.txt /app/")
    assert step_cached(lines, INSTALL)
    assert not any("Successfully installed" in line for line in lines)
    assert http_get(url) == "python 2"


@pytest.mark.parametrize(
    ("requirements", "code", "command"),
    [
        ("# no dependencies\n", PLAIN_APP, "exec python app.py"),
        ("gunicorn==23.0.0\n", WSGI_APP, 'exec gunicorn --bind "0.0.0.0:$PORT" app:app'),
    ],
    ids=["python-app.py", "gunicorn"],
)
def test_without_a_procfile_the_documented_default_answers(
    server: SshServer,
    app_name: str,
    base_images: None,
    tmp_path: Path,
    requirements: str,
    code: str,
    command: str,
) -> None:
    app = new_app(
        tmp_path / "app",
        {"requirements.txt": requirements, "app.py": code.format(content="default")},
    )

    url, lines = pushed(server, app, app_name)

    assert any(f"web: {command} (default)" in line for line in lines), lines
    assert http_get(url) == "default"


def test_a_pyproject_app_installs_its_project_dependencies(
    server: SshServer, app_name: str, base_images: None, tmp_path: Path
) -> None:
    app = new_app(
        tmp_path / "app",
        {
            "pyproject.toml": f'[project]\nname = "{app_name}"\nversion = "1"\n'
            'dependencies = ["gunicorn"]\n',
            "app.py": WSGI_APP.format(content="pyproject 1"),
        },
    )

    url, lines = pushed(server, app, app_name)

    assert any("dependencies: pyproject.toml" in line for line in lines)
    assert http_get(url) == "pyproject 1"

    app.write("app.py", WSGI_APP.format(content="pyproject 2"))
    app.commit("code only")
    url, lines = pushed(server, app, app_name)

    assert step_cached(lines, "COPY pyproject.toml /app/")
    assert http_get(url) == "pyproject 2"


@pytest.fixture
def python_312(docker_engine: Any, base_images: None) -> Iterator[str]:
    """``python:3.12-slim`` as a second name of the stand-in, if there is none yet."""
    yield from second_name(docker_engine, "python:3.12-slim", of="python:3.14-slim")


def test_runtime_txt_picks_the_base_image_of_its_version(
    server: SshServer, app_name: str, python_312: str, tmp_path: Path
) -> None:
    app = new_app(
        tmp_path / "app",
        {
            "requirements.txt": "",
            "runtime.txt": "python-3.12\n",
            "app.py": PLAIN_APP.format(content="on 3.12"),
        },
    )

    url, lines = pushed(server, app, app_name)

    assert any("runtime.txt asks for 3.12: using python:3.12-slim" in line for line in lines)
    assert any(line.strip() == "Step 1/7 : FROM python:3.12-slim" for line in lines), lines
    assert http_get(url) == "on 3.12"


def test_a_pipfile_app_installs_with_pipenv_and_runs_the_gunicorn_default(
    server: SshServer, app_name: str, base_images: None, tmp_path: Path
) -> None:
    app = new_app(
        tmp_path / "app",
        {
            "Pipfile": f'# {app_name}\n[packages]\ngunicorn = "*"\n',
            "app.py": WSGI_APP.format(content="pipfile"),
        },
    )

    url, lines = pushed(server, app, app_name)

    assert any("dependencies: Pipfile;" in line for line in lines), lines
    assert any("exec gunicorn --bind" in line and "(default)" in line for line in lines)
    assert http_get(url) == "pipfile"
