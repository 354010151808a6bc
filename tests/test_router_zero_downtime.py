"""Redeploys behind the router drop no request (local scheduler, real Caddy).

A bounded loop of requests (about 20 per second, loopback, a new connection
each) runs through the deploys; the tests assert on failures and content,
never on time.
"""

from __future__ import annotations

from typing import Any

from conftest import SampleApp
from routerlab import RequestLoop, RouterHome, get


def test_five_redeploys_under_load_fail_no_request_and_end_on_the_new_content(
    router: RouterHome, sample_app: SampleApp, rapp: str, docker_engine: Any
) -> None:
    router.nap("deploy", rapp, str(sample_app.path), check=True)
    host = f"{rapp}.localhost"

    with RequestLoop(router.http_port, host) as loop:
        for n in range(2, 7):
            sample_app.serve(f"hello {n}")
            router.nap("deploy", rapp, str(sample_app.path), check=True)
            # Requests keep flowing while the old release drains.
            assert get(router.http_port, host) == (200, f"hello {n}")

    assert loop.sent >= 20
    assert loop.failures == []
    assert loop.bodies[-1] == "hello 6"
    assert {f"hello {n}" for n in range(1, 7)} >= set(loop.bodies)


def test_a_release_failing_its_health_check_under_load_never_gets_traffic(
    router: RouterHome, sample_app: SampleApp, rapp: str, docker_engine: Any
) -> None:
    router.nap("deploy", rapp, str(sample_app.path), check=True)
    host = f"{rapp}.localhost"
    sample_app.write("CHECKS", "ATTEMPTS=2\n/ready-marker ok\n")
    sample_app.serve("broken release")

    with RequestLoop(router.http_port, host) as loop:
        result = router.nap("deploy", rapp, str(sample_app.path))
        assert result.returncode != 0
        assert "health check" in result.stderr and "release 1 still serves" in result.stderr
        assert get(router.http_port, host) == (200, "hello 1")

    loop.assert_never_failed()
    assert set(loop.bodies) == {"hello 1"}
    names = [c.name for c in docker_engine.containers.list(filters={"label": f"nap.app={rapp}"})]
    assert names == [f"nap-{rapp}-r1.1"]
