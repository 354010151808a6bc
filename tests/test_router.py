"""The router on the local scheduler: real Caddy, engine, registry and git.

Each test has its own NAP_HOME, its own Caddy (stopped by pid afterwards) on
free ports, and app names starting with ``r``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from typing import Any

import pytest
from conftest import NAP, Nap, SampleApp, http_get
from routerlab import RouterHome, get


def host_bindings(client: Any, app: str) -> list[Any]:
    found = []
    for container in client.containers.list(filters={"label": f"nap.app={app}"}):
        found.extend(b for b in (container.attrs["NetworkSettings"]["Ports"] or {}).values() if b)
    return found


def test_two_apps_behind_one_port_each_by_its_host_and_nap_404_for_others(
    router: RouterHome, sample_app: SampleApp, rapp: str, rapp2: str, docker_engine: Any
) -> None:
    nap = router.nap
    first = nap("deploy", rapp, str(sample_app.path), check=True)
    sample_app.serve("the other app")
    nap("deploy", rapp2, str(sample_app.path), check=True)

    assert get(router.http_port, f"{rapp}.localhost") == (200, "hello 1")
    assert get(router.http_port, f"{rapp2}.localhost") == (200, "the other app")
    status, body = get(router.http_port, "nobody.localhost")
    assert status == 404 and "No app answers at this address" in body and "nap" in body
    # The push names the stable address first, then the instance.
    lines = [line.strip() for line in first.stderr.splitlines()]
    done = next(i for i, line in enumerate(lines) if line.startswith("=====> "))
    assert lines[done + 1] == f"http://{rapp}.localhost:{router.http_port}"
    assert lines[done + 2].startswith("http://") and lines[done + 2].endswith(":8080")
    # Behind the router, nothing is published on the host; placements are container addresses.
    assert host_bindings(docker_engine, rapp) == []
    record = json.loads(nap("deploy", rapp, str(sample_app.path), "--json", check=True).stdout)
    [placement] = record["placements"]
    assert placement["host"] != "127.0.0.1" and placement["port"] == 8080
    assert record["urls"] == [f"http://{rapp}.localhost:{router.http_port}"]
    ps = json.loads(nap("ps", rapp, "--json", check=True).stdout)
    assert [(i["host"], i["port"]) for i in ps] == [(placement["host"], 8080)]


def test_publish_ports_keeps_host_ports_behind_the_router(
    router: RouterHome, sample_app: SampleApp, rapp: str, docker_engine: Any
) -> None:
    record = router.nap.deploy_json(rapp, sample_app.path, NAP_LOCAL_PUBLISH_PORTS="true")

    [placement] = record["placements"]
    assert placement["host"] == "127.0.0.1"
    assert len(host_bindings(docker_engine, rapp)) == 1
    assert get(router.http_port, f"{rapp}.localhost") == (200, "hello 1")


def test_custom_domains_are_validated_owned_by_one_app_and_routed(
    router: RouterHome, sample_app: SampleApp, rapp: str, rapp2: str
) -> None:
    nap = router.nap
    nap("deploy", rapp, str(sample_app.path), check=True)
    nap("deploy", rapp2, str(sample_app.path), check=True)

    added = nap("domains", "add", rapp, "www.example.test", check=True)
    assert added.stdout.split() == [
        f"http://{rapp}.localhost:{router.http_port}",
        f"http://www.example.test:{router.http_port}",
    ]
    assert get(router.http_port, "www.example.test") == (200, "hello 1")
    listed = json.loads(nap("domains", "list", rapp, "--json", check=True).stdout)
    assert listed == [f"{rapp}.localhost", "www.example.test"]

    for app, domain, says in [
        (rapp2, "www.example.test", f"belongs to the app {rapp}"),
        (rapp2, "WWW.Example.test", "invalid domain"),
        (rapp2, "*.example.test", "invalid domain"),
        (rapp2, "10.0.0.1", "invalid domain"),
        (rapp2, "a..b", "invalid domain"),
        (rapp2, "evil.test\nHost: x", "invalid domain"),
        (rapp2, f"{rapp}.localhost", "reserved for apps"),
    ]:
        refused = nap("domains", "add", app, domain)
        assert refused.returncode != 0
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: "), domain
        assert says in refused.stderr, domain
    assert json.loads(nap("domains", "list", rapp2, "--json", check=True).stdout) == [
        f"{rapp2}.localhost"
    ]

    nap("domains", "remove", rapp, "www.example.test", check=True)
    assert get(router.http_port, "www.example.test")[0] == 404


def test_caddy_killed_comes_back_with_every_route_at_the_next_command(
    router: RouterHome, sample_app: SampleApp, rapp: str, rapp2: str
) -> None:
    nap = router.nap
    nap("deploy", rapp, str(sample_app.path), check=True)
    nap("deploy", rapp2, str(sample_app.path), check=True)
    nap("domains", "add", rapp2, "shop.example.test", check=True)
    pid = router.caddy_pid()
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    with pytest.raises(OSError):
        get(router.http_port, f"{rapp}.localhost", timeout=2)
    assert nap("router", "status").returncode == 1

    result = nap("apps", check=True)

    assert "started it with every route" in result.stderr
    assert router.caddy_pid() not in (None, pid)
    for host in (f"{rapp}.localhost", f"{rapp2}.localhost", "shop.example.test"):
        assert get(router.http_port, host) == (200, "hello 1")
    assert nap("router", "status").returncode == 0


def test_with_caddy_unable_to_start_the_deploy_succeeds_and_says_what_to_run(
    router: RouterHome, sample_app: SampleApp, rapp: str
) -> None:
    # Something else holds the router's port: Caddy cannot start.
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("0.0.0.0", router.http_port))
        squatter.listen()
        result = router.nap("deploy", rapp, str(sample_app.path), "--json")

        assert result.returncode == 0, result.stderr
        assert "the router could not be updated" in result.stderr
        assert "nap router reload" in result.stderr
        record = json.loads(result.stdout)
        assert record["urls"] == []
        [placement] = record["placements"]
        assert http_get(placement["url"]) == "hello 1"  # the instance serves
    # Once the port is free, the command it named brings the route.
    router.nap("router", "reload", check=True)
    assert get(router.http_port, f"{rapp}.localhost") == (200, "hello 1")


def test_drain_never_stops_the_current_release(
    router: RouterHome, sample_app: SampleApp, rapp: str, docker_engine: Any
) -> None:
    router.nap("deploy", rapp, str(sample_app.path), check=True)

    router.nap("drain", rapp, "1", check=True, NAP_ROUTER_DRAIN="0")

    assert get(router.http_port, f"{rapp}.localhost") == (200, "hello 1")
    assert len(docker_engine.containers.list(filters={"label": f"nap.app={rapp}"})) == 1


def test_a_drain_whose_nap_home_went_meanwhile_leaves_no_new_one(nap: Nap) -> None:
    # A `nap drain` outlives the push that started it; a test's or a bench's NAP_HOME
    # may be gone when it wakes. Taking the app's lock and opening nap.db would make
    # an empty home again (seen: a bench's temporary directory, back with nap.db and
    # locks/ after its removal).
    gone = nap.home / "gone"

    done = nap("drain", "someapp", "3", NAP_HOME=str(gone), NAP_ROUTER_DRAIN="0", check=True)

    assert "has no nap.db any more: nothing to retire" in done.stderr
    assert not gone.exists()


def test_an_instance_started_again_on_a_new_address_is_followed_by_the_router(
    router: RouterHome, sample_app: SampleApp, rapp: str, docker_engine: Any
) -> None:
    nap = router.nap
    record = nap.deploy_json(rapp, sample_app.path)
    [placement] = record["placements"]
    nap("stop", rapp, check=True)
    # Take the address it had, so that it comes back on another one.
    squatter = docker_engine.containers.run(
        record["image"], ["/bin/busybox", "sleep", "600"], name=f"{rapp}-squatter", detach=True
    )
    try:
        squatter.reload()
        nap("start", rapp, check=True)

        assert get(router.http_port, f"{rapp}.localhost") == (200, "hello 1")
        [instance] = json.loads(nap("ps", rapp, "--json", check=True).stdout)
        if squatter.attrs["NetworkSettings"]["IPAddress"] == placement["host"]:
            assert instance["host"] != placement["host"]  # it did move, and was followed
    finally:
        squatter.remove(force=True)


def test_an_instance_failing_the_apps_health_check_gets_no_request(
    router: RouterHome, sample_app: SampleApp, rapp: str, docker_engine: Any
) -> None:
    sample_app.write("CHECKS", "/health.txt ok\n")
    sample_app.write("www/health.txt", "ok\n")
    sample_app.commit("with a health check")
    router.nap("deploy", rapp, str(sample_app.path), check=True, NAP_REPLICAS="2")
    host = f"{rapp}.localhost"
    sick = docker_engine.containers.get(f"nap-{rapp}-r1.2")

    sick.exec_run(["/bin/busybox", "sh", "-c", "rm /www/health.txt; echo sick > /www/index.html"])

    # The router's active check (every 2 s) takes it out; wait for that, with a deadline.
    deadline = time.monotonic() + 30
    streak = 0
    while streak < 20 and time.monotonic() < deadline:
        streak = streak + 1 if get(router.http_port, host) == (200, "hello 1") else 0
    answers = [get(router.http_port, host) for _ in range(40)]
    assert answers == [(200, "hello 1")] * 40


def test_a_destroyed_app_leaves_the_router(
    router: RouterHome, sample_app: SampleApp, rapp: str, rapp2: str
) -> None:
    nap = router.nap
    nap("deploy", rapp, str(sample_app.path), check=True)
    nap("deploy", rapp2, str(sample_app.path), check=True)
    nap("domains", "add", rapp, "gone.example.test", check=True)

    nap("apps", "destroy", rapp, "--force", check=True)

    assert get(router.http_port, f"{rapp}.localhost")[0] == 404
    assert get(router.http_port, "gone.example.test")[0] == 404
    assert get(router.http_port, f"{rapp2}.localhost") == (200, "hello 1")
    # Its domain is free again.
    nap("domains", "add", rapp2, "gone.example.test", check=True)


def test_the_web_port_is_the_first_expose_unless_the_app_names_another(
    router: RouterHome, sample_app: SampleApp, rapp: str
) -> None:
    sample_app.write("other/index.html", "the other port")
    sample_app.write(
        "Dockerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nCOPY other /other\n"
        "EXPOSE 8080 9090\n"
        'CMD ["/bin/busybox", "sh", "-c", "/bin/busybox httpd -p 9090 -h /other;'
        ' exec /bin/busybox httpd -f -p 8080 -h /www"]\n',
    )
    sample_app.commit("two ports")
    first = router.nap.deploy_json(rapp, sample_app.path)
    assert get(router.http_port, f"{rapp}.localhost") == (200, "hello 1")
    assert [(p["port"], p.get("web", True)) for p in first["placements"]] == [
        (8080, True),
        (9090, False),
    ]

    override = {f"NAP_APPS_{rapp.upper()}_WEB_PORT": "9090"}
    router.nap("config", "set", rapp, "CHANGED=1", check=True, **override)

    assert get(router.http_port, f"{rapp}.localhost") == (200, "the other port")


MIGRATE_QUEUED = "/proc/sys/net/ipv4/tcp_migrate_req"


def test_caddy_started_as_root_has_the_kernel_hand_queued_connections_over(nap: Nap) -> None:
    # Caddy 2.6 binds a new listener at each reload and closes the old one; with
    # tcp_migrate_req at 0 the connections queued on the old one are reset (measured
    # with Caddy alone: 271 of 17,928 new-connection requests over 200 reloads; 0 or 1
    # with it at 1). The setting is per network namespace: this one's own starts at 0,
    # and the host's is left as it is.
    script = f"""
        trap 'kill "$(cat {nap.home}/router/caddy/caddy.pid)" 2>/dev/null' EXIT
        ip link set lo up
        cat {MIGRATE_QUEUED}
        {" ".join(NAP)} router reload >/dev/null
        cat {MIGRATE_QUEUED}
        echo 0 > {MIGRATE_QUEUED}  # as if the nap user had started it
        {" ".join(NAP)} router status
    """
    env = {**nap.env, "NAP_ROUTER": "caddy", "NAP_ROUTER_HTTP_PORT": "8080"}
    env["NAP_ROUTER_HTTPS_PORT"] = "8443"

    done = subprocess.run(
        ["unshare", "--net", "--", "sh", "-ec", script],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    before, after, status = done.stdout.splitlines()
    assert (before, after) == ("0", "1")
    assert status.endswith(
        "a reload resets the connections queued on Caddy's port:"
        " as root, `sysctl -w net.ipv4.tcp_migrate_req=1` (docs/router.md)"
    )
