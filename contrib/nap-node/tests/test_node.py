"""nap-node against the real engine, registry, sshd and git: a Node app pushed over
SSH answers, a code-only push reuses the dependency layer, a lockfile installs
with npm ci, engines.node picks the base image."""

from __future__ import annotations

import json
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

SERVER_JS = """\
const http = require("http");
const isNumber = require("is-number");
http.createServer((req, res) => {{
  res.end(isNumber(5) ? "{content}" : "no dependency");
}}).listen(process.env.PORT);
"""


def package(name: str, **extra: Any) -> str:
    data = {
        "name": name,
        "version": "1.0.0",
        "scripts": {"start": "node server.js"},
        "dependencies": {"is-number": "7.0.0"},
        **extra,
    }
    return json.dumps(data, indent=2)


def test_a_node_app_answers_and_a_code_change_reuses_the_dependency_layer(
    server: SshServer, app_name: str, base_images: None, tmp_path: Path
) -> None:
    # The package's name is this test's own, so the first install is real.
    app = new_app(
        tmp_path / "app",
        {"package.json": package(app_name), "server.js": SERVER_JS.format(content="node 1")},
    )

    url, lines = pushed(server, app, app_name)

    assert any("(node, " in line for line in lines if line.startswith("-----> Building"))
    assert any("web: npm start (default)" in line for line in lines)
    assert not step_cached(lines, "RUN npm install --omit=dev")
    assert http_get(url) == "node 1"

    app.write("server.js", SERVER_JS.format(content="node 2"))
    app.commit("code only")
    url, lines = pushed(server, app, app_name)

    assert step_cached(lines, "COPY package.json /app/")
    assert step_cached(lines, "RUN npm install --omit=dev")
    assert not any("added 1 package" in line for line in lines)
    assert http_get(url) == "node 2"


LOCK = {
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "node_modules/is-number": {
            "version": "7.0.0",
            "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",
            "integrity": "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9"
            "cGvNp6NZWZUBlbGXYxxng==",
        }
    },
}


@pytest.fixture
def node_20(docker_engine: Any, base_images: None) -> Iterator[str]:
    """``node:20-slim`` as a second name of the stand-in, if there is none yet."""
    yield from second_name(docker_engine, "node:20-slim", of="node:24-slim")


def test_a_lockfile_installs_with_npm_ci_on_the_engines_version_and_a_procfile_runs(
    server: SshServer, app_name: str, node_20: str, tmp_path: Path
) -> None:
    lock = {"name": app_name, "version": "1.0.0", **LOCK}
    lock["packages"] = {
        "": {"name": app_name, "version": "1.0.0", "dependencies": {"is-number": "7.0.0"}},
        **LOCK["packages"],  # type: ignore[dict-item]
    }
    app = new_app(
        tmp_path / "app",
        {
            "package.json": package(app_name, engines={"node": "20.x"}),
            "package-lock.json": json.dumps(lock, indent=2),
            "server.js": SERVER_JS.format(content="locked"),
            "Procfile": "web: node server.js\n",
        },
    )

    url, lines = pushed(server, app, app_name)

    assert any("engines.node asks for 20: using node:20-slim" in line for line in lines)
    assert any(line.strip() == "Step 1/7 : FROM node:20-slim" for line in lines), lines
    assert any(line.strip().endswith(": RUN npm ci --omit=dev") for line in lines)
    assert any("web: node server.js (Procfile)" in line for line in lines)
    assert http_get(url) == "locked"
