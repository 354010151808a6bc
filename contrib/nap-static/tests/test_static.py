"""nap-static against the real engine, registry, sshd and git: a site pushed over
SSH answers with its content, a content-only push reuses the server's layer,
and a Dockerfile wins unless the app chooses the static type."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from apptypes import app_name, base_images, new_app, pushed, step_cached
from conftest import (
    BUSYBOX,
    HTTPD_DOCKERFILE,
    Nap,
    docker_engine,
    http_get,
    nap,
    nap_home,
    server,
)
from sshd import SshServer

from nap_core.model import App, Tree
from nap_static import plugin

__all__ = ["app_name", "base_images", "docker_engine", "nap", "nap_home", "server"]


def test_a_site_pushed_over_ssh_answers_and_a_content_change_reuses_the_server_layer(
    server: SshServer, app_name: str, base_images: None, tmp_path: Path
) -> None:
    site = new_app(tmp_path / "site", {"index.html": "static 1", "about/index.html": "about"})

    url, lines = pushed(server, site, app_name)

    assert any("(static, " in line for line in lines if line.startswith("-----> Building"))
    assert http_get(url) == "static 1"
    assert http_get(url + "/about/") == "about"

    site.write("index.html", "static 2")
    site.commit("new content")
    url, lines = pushed(server, site, app_name)

    assert step_cached(lines, "RUN mkdir -p /srv/www")
    assert not step_cached(lines, "COPY . /srv/www")
    assert http_get(url) == "static 2"


def test_a_static_marker_and_a_procfile_web_line(
    server: SshServer, app_name: str, base_images: None, tmp_path: Path
) -> None:
    site = new_app(
        tmp_path / "site",
        {
            ".static": "",
            "public/index.html": "from public",
            "Procfile": 'web: exec httpd -f -p "$PORT" -h /srv/www/public\n',
        },
    )

    url, lines = pushed(server, site, app_name)

    assert any("web: exec httpd -f -p" in line and "(Procfile)" in line for line in lines)
    assert http_get(url) == "from public"


def test_a_dockerfile_wins_unless_the_app_chooses_static(
    nap: Nap, app_name: str, base_images: None, tmp_path: Path
) -> None:
    app = new_app(
        tmp_path / "both",
        {"Dockerfile": HTTPD_DOCKERFILE, "www/index.html": "dockerfile", "index.html": "static"},
    )
    shutil.copy(BUSYBOX, app.path / "busybox")
    app.commit("busybox")

    first = nap.deploy_json(app_name, app.path)
    assert http_get(first["placements"][0]["url"]) == "dockerfile"

    chosen = nap("apps", "set", app_name, "app_type", "static")
    assert chosen.returncode == 0, chosen.stderr
    # The same tree: rebuilt all the same, since the app's type changed.
    second = nap.deploy_json(app_name, app.path)
    assert second["release"] == 2 and not second["current"]
    assert http_get(second["placements"][0]["url"]) == "static"

    nap("apps", "set", app_name, "app_type", "", check=True)
    third = nap.deploy_json(app_name, app.path)
    assert http_get(third["placements"][0]["url"]) == "dockerfile"


def test_apps_set_refuses_what_is_not_an_app_type(nap: Nap) -> None:
    bad = nap("apps", "set", "aone", "app_type", "../x")

    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: ") and len(bad.stderr.strip().split("\n")) == 1
    unknown = nap("apps", "set", "aone", "colour", "red")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: ")


def test_detect_follows_herokus_rules(tmp_path: Path) -> None:
    def tree_of(files: dict[str, str]) -> Tree:
        app = new_app(tmp_path / f"t{len(list(tmp_path.iterdir()))}", files)
        return Tree(app.path / ".git", app.git("rev-parse", "HEAD").strip())

    app = App("aone")
    assert plugin.detect(app, tree_of({"index.html": "x"})) == "static"
    assert plugin.detect(app, tree_of({".static": "", "site/a.html": "x"})) == "static"
    assert plugin.detect(app, tree_of({"index.html": "x", "Dockerfile": "FROM scratch"})) is None
    assert plugin.detect(app, tree_of({"docs/index.html": "x"})) is None
