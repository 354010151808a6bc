"""Many apps (issue 14, scale): what must not grow with their number.

- the routing table and the host ports in use are read from nap.db in a fixed
  number of queries;
- apps that answer alike (stopped apps' 503, HTTPS redirects) share one Caddy
  route, so Caddy, which provisions its whole configuration on every change,
  gets one route per running app, not per recorded one;
- ``nap stop`` makes the router answer 503 at once (no route to a dead address),
  ``nap start`` and the next release route to the app again.

Real Caddy on free ports (tests/routerlab.py), real nap.db; app names start with ``sc``.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from conftest import SampleApp, remove_app_containers, remove_app_tags
from routerlab import RouterHome, get

from nap_caddy.config import render
from nap_core import routing
from nap_core.config import Settings
from nap_core.domains import add_domain, app_domains, certificate
from nap_core.model import App, AppConfig, Check, HealthChecks, Placement, Release
from nap_core.plugins import plugin_manager
from nap_core.route import CertificateRef, Route, Upstream
from nap_core.state import State


@pytest.fixture
def scapp(docker_engine: Any) -> Iterator[str]:
    """A fresh app name of this file's (prefix ``sc``); its containers and tags go after."""
    name = f"sc{uuid.uuid4().hex[:8]}"
    yield name
    remove_app_containers(docker_engine, name)
    remove_app_tags(docker_engine, name)


def record(
    state: State, name: str, *placements: Placement, checks: HealthChecks | None = None
) -> None:
    """An app with one current release at ``placements`` (nothing runs)."""
    app = App(name)
    state.ensure_app(app)
    draft = Release(app, 0, "f" * 40, "e" * 40, "d", "local", checks=checks or HealthChecks())
    release = state.new_release(draft, AppConfig())
    state.make_current(attrs.evolve(release, placements=placements))


def stop(state: State, name: str) -> None:
    with state.transaction() as db:
        db.execute("UPDATE apps SET stopped = 1 WHERE name = ?", (name,))


def settings_of(home: Path, **env: str) -> Settings:
    return Settings.load({"NAP_HOME": str(home), "NAP_ROUTER_HTTP_PORT": "8080", **env})


def by_app(state: State, settings: Settings) -> list[Route]:
    """The table as the router had it before: read app by app."""
    found = []
    for row in state.apps():
        app = App(row["name"])
        release = state.current(app)
        if release is None:
            continue
        webs = dict.fromkeys(Upstream(p.host, p.port) for p in release.placements if p.web)
        first = release.checks.checks[0] if release.checks.checks else None
        domains = app_domains(state, app, settings)
        found.append(
            Route(app.name, domains, tuple(webs), certificate(state, app), False, True, first)
        )
    return found


def test_the_table_is_read_in_the_same_few_queries_for_any_number_of_apps(tmp_path: Path) -> None:
    settings = settings_of(tmp_path)
    state = State(tmp_path)
    queries: list[str] = []

    def count(apps: int) -> int:
        for i in range(len(state.apps()), apps):
            record(state, f"sc{i:03}", Placement.http("u", "10.1.0.1", 8000 + i))
        queries.clear()
        state.db.set_trace_callback(queries.append)
        table = routing.routes(state, settings)
        state.db.set_trace_callback(None)
        assert len(table) == apps
        return len(queries)

    try:
        assert count(3) == count(60)
    finally:
        state.close()


def test_the_ports_in_use_are_every_current_placement_of_the_scheduler(tmp_path: Path) -> None:
    state = State(tmp_path)
    try:
        record(
            state, "sca", Placement.http("u", "127.0.0.1", 5001), Placement.http("u", "::1", 5002)
        )
        record(state, "scb", Placement.http("u", "127.0.0.1", 5001))
        record(state, "scc", Placement.http("u", "127.0.0.1", 5003))
        record(state, "scc", Placement.http("u", "127.0.0.1", 5004))  # 5003: not current any more
        state.ensure_app(App("scd"))
        queries: list[str] = []
        state.db.set_trace_callback(queries.append)

        assert state.ports_in_use("local") == {5001, 5002, 5004}
        assert state.ports_in_use("swarm") == frozenset()
        assert len(queries) == 2
    finally:
        state.close()


def test_the_table_read_at_once_is_the_table_read_app_by_app(tmp_path: Path) -> None:
    settings = settings_of(tmp_path)
    state = State(tmp_path)
    try:
        check = HealthChecks((Check("/up", "ok"),))
        web, other = Placement.http("u", "10.1.0.1", 80), Placement.http("u", "10.1.0.1", 81, False)
        record(state, "sca", web, other, Placement.http("v", "10.1.0.2", 80), checks=check)
        record(state, "scb", Placement.http("u", "10.1.0.3", 80))
        state.ensure_app(App("scnever"))  # recorded, never deployed: no route
        add_domain(state, App("sca"), "www.sca.example.test", settings)
        add_domain(state, App("sca"), "api.sca.example.test", settings)
        with state.transaction() as db:
            db.execute(
                "INSERT INTO certificates VALUES ('scb', '/c', '/k', '[\"scb.localhost\"]', 9e9, 0)"
            )

        table = routing.routes(state, settings)

        assert list(table) == by_app(state, settings)
        assert table[0].upstreams == (Upstream("10.1.0.1", 80), Upstream("10.1.0.2", 80))
        assert table[1].certificate == CertificateRef(
            Path("/c"), Path("/k"), ("scb.localhost",), 9e9
        )
        # Stopped: the same route, no upstream (the router answers 503 at once).
        stop(state, "scb")
        assert routing.routes(state, settings)[1].upstreams == ()
    finally:
        state.close()


def test_apps_that_answer_alike_share_one_caddy_route(tmp_path: Path) -> None:
    running = [
        Route(f"r{i}", (f"r{i}.localhost",), (Upstream("10.0.0.1", 9000 + i),)) for i in range(3)
    ]
    stopped = [Route(f"s{i}", (f"s{i}.localhost", f"www.s{i}.test"), ()) for i in range(200)]
    secure = [
        Route(f"t{i}", (f"t{i}.example.com",), (Upstream("10.0.0.2", 80),), acme=True)
        for i in range(2)
    ]

    config = render(
        (*running, *stopped, *secure),
        settings_of(tmp_path, NAP_ROUTER_ACME_EMAIL="a@b.c"),
        "unix//s",
        "/d",
    )

    plain = config["apps"]["http"]["servers"]["http"]["routes"]
    https = config["apps"]["http"]["servers"]["https"]["routes"]
    # 3 running apps, 1 route for every stopped app, 1 redirect for both HTTPS apps, the 404.
    assert len(plain) == 3 + 1 + 1 + 1
    [shared] = [r for r in plain if r["handle"][0].get("status_code") == 503]
    assert sorted(shared["match"][0]["host"]) == sorted(h for r in stopped for h in r.domains)
    [redirect] = [r for r in plain if r["handle"][0].get("status_code") == 308]
    assert redirect["match"][0]["host"] == ["t0.example.com", "t1.example.com"]
    # Both HTTPS apps proxy to the same upstream: one route there too.
    assert len(https) == 2 and https[0]["match"][0]["host"] == ["t0.example.com", "t1.example.com"]


class Upstreams:
    """Two small HTTP servers on loopback answering their own name: real upstreams."""

    def __init__(self) -> None:
        self.servers = [self._serve(name) for name in ("one", "two")]
        self.ports = [server.server_address[1] for server in self.servers]

    def _serve(self, name: str) -> http.server.ThreadingHTTPServer:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(name.encode())

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def test_a_thousand_stopped_apps_answer_503_and_two_running_ones_answer(router: RouterHome) -> None:
    upstreams = Upstreams()
    settings = Settings.load(router.nap.env)
    state = State(router.home)
    try:
        for port, name in zip(upstreams.ports, ("scone", "sctwo"), strict=True):
            record(state, name, Placement.http("u", "127.0.0.1", port))
        # 1000 stopped apps, as the bench writes them: each with scone's release, at a
        # placement where nothing listens (127.0.0.1:9).
        row = dict(state.db.execute("SELECT * FROM releases WHERE app = 'scone'").fetchone())
        row["placements"] = json.dumps([Placement.http("u", "127.0.0.1", 9).to_dict()])
        columns, marks = ", ".join(row), ", ".join("?" * len(row))
        names = [f"scs{i}" for i in range(1000)]
        with state.transaction() as db:
            db.executemany(
                "INSERT INTO apps (name, created, current, stopped) VALUES (?, 0, ?, 1)",
                [(name, row["number"]) for name in names],
            )
            db.executemany(
                f"INSERT INTO releases ({columns}) VALUES ({marks})",
                [tuple({**row, "app": name}.values()) for name in names],
            )

        routing.apply(state, settings, plugin_manager(router.nap.env, settings=settings))

        loaded = json.loads((router.home / "router" / "caddy" / "caddy.json").read_text())
        assert len(loaded["apps"]["http"]["servers"]["http"]["routes"]) == 2 + 1 + 1
        assert get(router.http_port, "scone.localhost") == (200, "one")
        assert get(router.http_port, "sctwo.localhost") == (200, "two")
        for i in (0, 499, 999):
            status, body = get(router.http_port, f"scs{i}.localhost")
            assert status == 503 and "no running instance" in body
        assert get(router.http_port, "scs1000.localhost")[0] == 404
    finally:
        state.close()
        upstreams.close()


def test_a_stopped_app_answers_503_at_once_and_again_once_started(
    router: RouterHome, sample_app: SampleApp, scapp: str
) -> None:
    nap = router.nap
    nap("deploy", scapp, str(sample_app.path), check=True)
    host = f"{scapp}.localhost"

    nap("stop", scapp, check=True)

    # A 503 from nap's page at once, not a proxy retrying a dead address for 10 s.
    status, body = get(router.http_port, host, timeout=3)
    assert status == 503 and "no running instance" in body
    # It stays stopped when Caddy has to be started again with every route.
    pid = router.caddy_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    nap("apps", check=True)
    assert get(router.http_port, host, timeout=3)[0] == 503

    nap("start", scapp, check=True)
    assert get(router.http_port, host) == (200, "hello 1")

    nap("stop", scapp, check=True)
    sample_app.serve("hello 2")
    nap("deploy", scapp, str(sample_app.path), check=True)  # a new release runs: routed again
    assert get(router.http_port, host) == (200, "hello 2")


def test_a_redeploy_with_no_change_gives_the_router_the_table_only_if_the_app_moved(
    router: RouterHome, sample_app: SampleApp, scapp: str, docker_engine: Any
) -> None:
    nap = router.nap
    record = nap.deploy_json(scapp, sample_app.path)
    config = router.home / "router" / "caddy" / "caddy.json"
    loaded = config.stat().st_ino

    again = nap.deploy_json(scapp, sample_app.path)

    # Nothing moved: the stable address is reported, and no configuration was loaded.
    assert again["release"] == record["release"] and again["current"] is True
    assert again["urls"] == [f"http://{scapp}.localhost:{router.http_port}"]
    assert config.stat().st_ino == loaded
    # Restarted behind nap's back on another address: the next redeploy routes there.
    [container] = docker_engine.containers.list(filters={"label": f"nap.app={scapp}"})
    address = record["placements"][0]["host"]
    container.stop(timeout=1)
    squatter = docker_engine.containers.run(
        record["image"], ["/bin/busybox", "sleep", "600"], name=f"{scapp}-squatter", detach=True
    )
    try:
        container.start()
        container.reload()
        moved = container.attrs["NetworkSettings"]["IPAddress"] != address

        nap("deploy", scapp, str(sample_app.path), check=True)

        assert get(router.http_port, f"{scapp}.localhost") == (200, "hello 1")
        assert (config.stat().st_ino != loaded) == moved
    finally:
        squatter.remove(force=True)
