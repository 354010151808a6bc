"""The plugin layer: discovery, listing, blocking, and the order of the hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get

from nap_core import hookspecs
from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import Request
from nap_core.output import Output
from nap_core.pipeline import deploy
from nap_core.plugins import plugin_manager
from nap_gitshell.repos import ensure_repo
from nap_gitshell.worktree import _push


def test_plugins_list_json_shows_every_hook_with_a_bundled_implementation(nap: Nap) -> None:
    listed = json.loads(nap("plugins", "list", "--json", check=True).stdout)

    assert all(set(p) == {"name", "version", "hooks", "builtin"} for p in listed)
    bundled = {p["name"]: p for p in listed if p["builtin"]}
    assert {"core", "gitshell", "dockerfile", "registry", "local"} <= set(bundled)
    implemented = {hook for p in bundled.values() for hook in p["hooks"]}
    assert set(hookspecs.ORDER) <= implemented
    assert bundled["dockerfile"]["hooks"] == ["detect", "build"]
    assert bundled["local"]["version"] == "0.1.0"


def test_plugins_list_prints_one_line_per_plugin(nap: Nap) -> None:
    text = nap("plugins", "list", check=True).stdout

    assert "dockerfile 0.1.0 (bundled): detect, build" in text.splitlines()


def test_nap_disable_plugins_blocks_a_plugin(nap: Nap) -> None:
    listed = json.loads(
        nap("plugins", "list", "--json", NAP_DISABLE_PLUGINS="registry, local").stdout
    )

    assert {p["name"] for p in listed} & {"registry", "local"} == set()


class Recorder:
    """A throwaway plugin that implements every hook, records the call, and
    lets the bundled plugins do the work (returns None)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl(tryfirst=True)
    def intake(self, request: Any, settings: Any) -> None:
        self.calls.append("intake")

    @hookimpl(tryfirst=True)
    def detect(self, app: Any, tree: Any) -> None:
        self.calls.append("detect")

    @hookimpl(tryfirst=True)
    def fetch(self, push: Any, workdir: Any) -> None:
        self.calls.append("fetch")

    @hookimpl(tryfirst=True)
    def is_current(self, app: Any, source: Any, config: Any, last: Any, settings: Any) -> None:
        self.calls.append("is_current")

    @hookimpl(tryfirst=True)
    def build(self, app: Any, source: Any, app_type: Any, release: Any) -> None:
        self.calls.append("build")

    @hookimpl(tryfirst=True)
    def publish(self, image: Any) -> None:
        self.calls.append("publish")

    @hookimpl(tryfirst=True)
    def render_units(self, app: Any, image: Any, release: Any, config: Any) -> None:
        self.calls.append("render_units")

    @hookimpl(tryfirst=True)
    def schedule(self, units: Any, app: Any, release: Any) -> None:
        self.calls.append("schedule")

    @hookimpl
    def report(self, release: Any, current: bool, output: Any) -> None:
        self.calls.append("report")


def test_a_plugin_sees_the_hooks_called_in_the_documented_order(
    nap_home: Path, sample_app: SampleApp, app_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"NAP_HOME": str(nap_home)}
    settings = Settings.load(environ)
    bare = ensure_repo(settings.repo_path(app_name))
    # Land the revision in the bare repo without running the hook, then deploy it in-process.
    monkeypatch.setenv("NAP_HOME", str(nap_home))
    (bare / "hooks" / "pre-receive").unlink()
    _push(
        sample_app.path,
        bare,
        "HEAD:refs/heads/master",
        {**environ, "PATH": "/usr/bin:/bin"},
        Output(),
    )
    head = sample_app.git("rev-parse", "HEAD").strip()
    recorder = Recorder()
    pm = plugin_manager(environ, extra=[("recorder", recorder)])

    outcome = deploy(Request("redeploy", bare, revision=head), settings, pm, Output())

    assert recorder.calls == list(hookspecs.ORDER)
    assert recorder.calls == [
        "intake", "detect", "fetch", "is_current", "build", "publish", "render_units",
        "schedule", "report",
    ]  # fmt: skip
    assert http_get(outcome.release.placements[0].url) == "hello 1"

    recorder.calls.clear()
    deploy(Request("redeploy", bare, revision=head), settings, pm, Output())
    assert recorder.calls == ["intake", "detect", "fetch", "is_current", "report"]
