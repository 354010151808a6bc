"""Unit tests of the Node app type's detection and generated Dockerfile (no engine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from apptypes import new_app

from nap_core.config import Settings
from nap_core.errors import BuildFailed
from nap_core.model import App, Tree
from nap_node import plugin


def settings(**env: str) -> Settings:
    return Settings(home=Path("/nonexistent"), environ=env)


def generate(tmp_path: Path, package: object, **env: str) -> tuple[str, list[str]]:
    (tmp_path / "package.json").write_text(json.dumps(package))
    return plugin.generate(tmp_path, settings(**env))


def test_package_files_are_installed_before_the_code(tmp_path: Path) -> None:
    text, said = generate(tmp_path, {"name": "x"})

    lines = text.split("\n")
    assert lines[0] == "FROM node:24-slim"
    assert lines.index("COPY package.json /app/") < lines.index("RUN npm install --omit=dev")
    assert lines.index("RUN npm install --omit=dev") < lines.index("COPY . /app")
    assert lines[-2] == 'CMD ["/bin/sh", "-c", "npm start"]'
    assert said[0] == "Node.js: using node:24-slim (node.base_image)"


@pytest.mark.parametrize(
    ("wanted", "base"),
    [("20", "node:20-slim"), ("^22.1.0", "node:22-slim"), ("~18", "node:18-slim"),
     ("20.x", "node:20-slim")],
)  # fmt: skip
def test_engines_node_of_one_major_picks_the_base(tmp_path: Path, wanted: str, base: str) -> None:
    text, _ = generate(tmp_path, {"engines": {"node": wanted}})

    assert text.startswith(f"FROM {base}\n")


def test_a_range_keeps_the_configured_base_and_says_so(tmp_path: Path) -> None:
    text, said = generate(tmp_path, {"engines": {"node": ">=18 <23"}}, NAP_NODE_BASE_IMAGE="n:1")

    assert text.startswith("FROM n:1\n")
    assert (
        said[0]
        == "Node.js: engines.node is '>=18 <23', not one version: using n:1 (node.base_image)"
    )


def test_a_lockfile_means_npm_ci(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text("{}")
    text, _ = generate(tmp_path, {})

    assert "COPY package.json package-lock.json /app/\nRUN npm ci --omit=dev\n" in text


@pytest.mark.parametrize("package", ["[1]", "{not json"])
def test_a_bad_package_json_fails_the_build(tmp_path: Path, package: str) -> None:
    (tmp_path / "package.json").write_text(package)

    with pytest.raises(BuildFailed, match=r"package\.json is not"):
        plugin.generate(tmp_path, settings())


def test_detect(tmp_path: Path) -> None:
    def detect(files: dict[str, str]) -> str | None:
        app = new_app(tmp_path / f"t{len(list(tmp_path.iterdir()))}", files)
        head = app.git("rev-parse", "HEAD").strip()
        return plugin.detect(App("aone"), Tree(app.path / ".git", head))

    assert detect({"package.json": "{}"}) == "node"
    assert detect({"package.json": "{}", "requirements.txt": ""}) == "node"
    assert detect({"package.json": "{}", "Dockerfile": "FROM scratch"}) is None
    assert detect({"index.html": ""}) is None
