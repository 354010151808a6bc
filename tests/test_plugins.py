"""The plugin layer: discovery, listing, blocking, choosing the scheduler, and
the order of the hooks (every hook, deploy and day-2, has a test that calls it)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import Nap, SampleApp, http_get

from nap_core import hookspecs
from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import Action, Request
from nap_core.operations import Operations
from nap_core.output import Output
from nap_core.pipeline import deploy
from nap_core.plugins import plugin_manager
from nap_gitshell.repos import ensure_repo
from nap_gitshell.worktree import _push


def test_plugins_list_json_shows_every_hook_with_a_bundled_implementation(nap: Nap) -> None:
    listed = json.loads(nap("plugins", "list", "--json", check=True).stdout)

    fields = {"name", "version", "hooks", "builtin", "role", "active"}
    assert all(set(p) == fields for p in listed)
    bundled = {p["name"]: p for p in listed if p["builtin"]}
    assert {"core", "gitshell", "dockerfile", "registry", "local"} <= set(bundled)
    implemented = {hook for p in bundled.values() for hook in p["hooks"]}
    assert set(hookspecs.ORDER) <= implemented
    assert bundled["dockerfile"]["hooks"] == ["detect", "build"]
    assert bundled["local"]["version"] == "0.1.0"
    schedulers = {p["name"]: p["active"] for p in listed if p["role"] == "scheduler"}
    assert schedulers == {"local": True, "swarm": False, "fleet": False}
    assert bundled["fleet"]["hooks"][:3] == ["is_current", "build", "publish"]


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

    @hookimpl(tryfirst=True)
    def instances(self, app: Any) -> None:
        self.calls.append("instances")

    @hookimpl(tryfirst=True)
    def logs(self, app: Any) -> None:
        self.calls.append("logs")

    @hookimpl(tryfirst=True)
    def control(self, app: Any, action: Any) -> None:
        self.calls.append("control")

    @hookimpl(tryfirst=True)
    def run_once(self, app: Any, command: Any) -> None:
        self.calls.append("run_once")

    @hookimpl(tryfirst=True)
    def retire(self, app: Any, keep: Any) -> None:
        self.calls.append("retire")

    @hookimpl(tryfirst=True)
    def destroy(self, app: Any) -> None:
        self.calls.append("destroy")

    @hookimpl(tryfirst=True)
    def unpublish(self, image: Any) -> None:
        self.calls.append("unpublish")

    @hookimpl
    def register_commands(self, cli: Any) -> None:
        self.calls.append("register_commands")

    @hookimpl
    def apply_routes(self, routes: Any) -> None:
        self.calls.append("apply_routes")
        self.routes = routes

    @hookimpl
    def router_status(self, settings: Any) -> None:
        self.calls.append("router_status")


def test_the_recorder_implements_every_hook() -> None:
    # The recorder's run below is the test that calls each hook: a new hook
    # fails here until the recorder implements it and that test expects it.
    specs = {*hookspecs.ORDER, *hookspecs.OPERATIONS, *hookspecs.SERVICES, *hookspecs.ROUTER}
    implemented = {name for name in dir(Recorder) if hasattr(getattr(Recorder, name), "nap_impl")}
    assert implemented == specs
    assert specs == {
        name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "nap_spec")
    }


def test_a_plugin_sees_the_hooks_called_in_the_documented_order(
    nap_home: Path, sample_app: SampleApp, app_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"NAP_HOME": str(nap_home), "NAP_ROUTER": "none"}
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
    pm = plugin_manager(environ, extra=[("recorder", recorder)], settings=settings)

    outcome = deploy(Request("redeploy", bare, revision=head), settings, pm, Output())

    # retire, once the release is current: the switch, between schedule and report
    assert [call for call in recorder.calls if call != "retire"] == list(hookspecs.ORDER)
    assert recorder.calls == [
        "intake", "detect", "fetch", "is_current", "build", "publish", "render_units",
        "schedule", "retire", "report",
    ]  # fmt: skip
    assert http_get(outcome.release.placements[0].url) == "hello 1"

    recorder.calls.clear()
    deploy(Request("redeploy", bare, revision=head), settings, pm, Output())
    assert recorder.calls == ["intake", "detect", "fetch", "is_current", "report"]

    # Day-2 work, through the front door the CLI and SSH use.
    recorder.calls.clear()
    operations = Operations(settings, pm, Output(io.StringIO()))
    operations.instances(app_name)
    operations.logs(app_name, follow=False, lines=1, stream=io.StringIO())
    operations.control(app_name, Action.RESTART)
    assert operations.run(app_name, ("/bin/busybox", "true")) == 0
    operations.scale(app_name, 1)  # a release without a build
    operations.destroy(app_name, volumes=False)
    assert recorder.calls == [
        "instances", "logs", "control", "run_once", "render_units", "schedule", "retire",
        "report", "destroy", "unpublish", "unpublish",
    ]  # fmt: skip
    assert set(hookspecs.OPERATIONS) <= set(recorder.calls)

    recorder.calls.clear()
    pm.hook.register_commands(cli=click.Group("nap"))
    assert recorder.calls == ["register_commands"]


def test_a_router_gets_the_whole_table_once_the_release_is_current(
    nap_home: Path, sample_app: SampleApp, app_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"NAP_HOME": str(nap_home), "NAP_ROUTER": "recorder"}
    monkeypatch.setenv("NAP_HOME", str(nap_home))
    settings = Settings.load(environ)
    bare = ensure_repo(settings.repo_path(app_name))
    (bare / "hooks" / "pre-receive").unlink()
    _push(sample_app.path, bare, "HEAD:refs/heads/master", {**environ, "PATH": "/usr/bin:/bin"},
          Output())  # fmt: skip
    head = sample_app.git("rev-parse", "HEAD").strip()
    router = Recorder()
    pm = plugin_manager(environ, settings=settings, candidates={"router": {"recorder": router}})

    outcome = deploy(Request("redeploy", bare, revision=head), settings, pm, Output())

    assert pm.active["router"] == "recorder"
    # A first release replaces nothing: no retire; the router switches before the report.
    assert router.calls[-3:] == ["schedule", "apply_routes", "report"]
    [route] = router.routes
    assert route.app == app_name and route.domains == (f"{app_name}.localhost",)
    [placement] = outcome.release.placements
    assert [(u.host, u.port) for u in route.upstreams] == [(placement.host, placement.port)]
    assert outcome.release.urls == (f"http://{app_name}.localhost",)
    assert pm.hook.router_status(settings=settings) is None
    assert router.calls[-1] == "router_status"


def test_an_unknown_scheduler_is_one_line_listing_the_installed_ones_before_any_build(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    result = nap("deploy", app_name, str(sample_app.path), NAP_SCHEDULER="kubernetes")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "error: scheduler = 'kubernetes' is not an installed scheduler: "
        "choose one of fleet, local, swarm"
    )
    assert "Building" not in result.stderr


def test_a_disabled_scheduler_cannot_be_chosen(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    result = nap("deploy", app_name, str(sample_app.path), NAP_DISABLE_PLUGINS="local")

    assert "error: scheduler = 'local' is not an installed scheduler" in result.stderr


TOY = Path(__file__).parent / "toy_scheduler"


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The throwaway third-party scheduler, pip-installed into a directory of its own."""
    import shutil
    import subprocess
    import sys

    site = tmp_path_factory.mktemp("toy-site")
    source = shutil.copytree(TOY, site.parent / "toy-source")  # builds leave files behind
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    return site


@pytest.fixture(scope="module")
def toy_python(toy_site: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`nap` run by an interpreter whose site-packages hold the toy scheduler, as a
    pip install would leave it. Not PYTHONPATH: the pre-receive hook runs
    `python -I`, which ignores it (plugins are found where pip puts them)."""
    import subprocess
    import sys

    venv = tmp_path_factory.mktemp("toy-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = next(p for p in sys.path if p.endswith("site-packages"))
    (site / "toy.pth").write_text(
        f"import site; site.addsitedir({ours!r}); site.addsitedir({str(toy_site)!r})\n"
    )
    return str(venv / "bin" / "python")


def test_a_pip_installed_scheduler_is_chosen_by_name_and_deploys(
    nap: Nap, sample_app: SampleApp, app_name: str, toy_python: str
) -> None:
    env = {"NAP_SCHEDULER": "toy"}
    nap = Nap(nap.home, nap.env, python=toy_python)

    listed = json.loads(nap("plugins", "list", "--json", check=True, **env).stdout)
    record = nap.deploy_json(app_name, sample_app.path, **env)

    toy = next(p for p in listed if p["name"] == "toy")
    assert (toy["role"], toy["active"], toy["builtin"], toy["version"]) == (
        "scheduler", True, False, "0.0.1",
    )  # fmt: skip
    assert {p["name"]: p["active"] for p in listed if p["role"] == "scheduler"}["local"] is False
    assert record["scheduler"] == "toy" and record["current"] is False
    assert http_get(record["placements"][0]["url"]) == "hello 1"
    assert nap("ps", app_name, check=True, **env).stdout.startswith(f"nap-{app_name}-toy-1")
