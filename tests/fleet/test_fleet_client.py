"""The HTTP requests ApiClient makes, against a small recording server that
answers like fleet's v1 API (pagination, error entities, 404 on DELETE)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from nap_fleet.client import ApiClient, FleetError, FleetUnit, Machine, UnitState


class Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, Any]]] = []
    answers: ClassVar[dict[tuple[str, str], tuple[int, Any]]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.requests.append((self.command, self.path, body))
        status, payload = self.answers.get((self.command, self.path), (204, None))
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[ApiClient, type[Recorder]]]:
    Recorder.requests, Recorder.answers = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ApiClient(f"http://127.0.0.1:{server.server_port}/", timeout=5), Recorder
    server.shutdown()
    server.server_close()


def test_submit_puts_the_options_and_desired_state(api: tuple[ApiClient, Any]) -> None:
    client, recorder = api

    client.submit("nap-a-r1@1.service", "[Service]\nExecStart=/bin/x\n", "launched")

    assert recorder.requests == [
        (
            "PUT",
            "/fleet/v1/units/nap-a-r1@1.service",
            {
                "desiredState": "launched",
                "options": [{"section": "Service", "name": "ExecStart", "value": "/bin/x"}],
            },
        )
    ]


def test_lists_follow_every_page(api: tuple[ApiClient, Any]) -> None:
    client, recorder = api
    recorder.answers = {
        ("GET", "/fleet/v1/units"): (
            200,
            {
                "units": [
                    {
                        "name": "a.service",
                        "desiredState": "launched",
                        "machineID": "m1",
                        "options": [
                            {
                                "section": "Service",
                                "name": "ExecStart",
                                "value": "/usr/bin/docker run"
                                " --publish ${COREOS_PUBLIC_IPV4}:8081:8080 x",
                            }
                        ],
                    }
                ],
                "nextPageToken": "p2",
            },
        ),
        ("GET", "/fleet/v1/units?nextPageToken=p2"): (
            200,
            {"units": [{"name": "b.service", "desiredState": "inactive"}]},
        ),
        ("GET", "/fleet/v1/state"): (
            200,
            {
                "states": [
                    {
                        "name": "a.service",
                        "machineID": "m1",
                        "systemdLoadState": "loaded",
                        "systemdActiveState": "active",
                        "systemdSubState": "running",
                    }
                ]
            },
        ),
        ("GET", "/fleet/v1/machines"): (
            200,
            {"machines": [{"id": "m1", "primaryIP": "10.0.0.1", "metadata": {"role": "web"}}]},
        ),
    }

    assert client.units() == [
        FleetUnit("a.service", "launched", "", "m1"),
        FleetUnit("b.service", "inactive", "", ""),
    ]
    assert client.states() == [UnitState("a.service", "m1", "loaded", "active", "running")]
    assert client.machines() == [Machine("m1", "10.0.0.1", (("role", "web"),))]
    assert client.published_ports() == {8081}


def test_destroying_a_unit_already_gone_is_fine(api: tuple[ApiClient, Any]) -> None:
    client, recorder = api
    recorder.answers = {
        ("DELETE", "/fleet/v1/units/gone.service"): (
            404,
            {"error": {"code": 404, "message": "unit does not exist"}},
        )
    }

    client.destroy("gone.service")
    client.set_state("x.service", "loaded")

    assert recorder.requests == [
        ("DELETE", "/fleet/v1/units/gone.service", None),
        ("PUT", "/fleet/v1/units/x.service", {"desiredState": "loaded"}),
    ]


def test_fleets_error_message_reaches_the_user(api: tuple[ApiClient, Any]) -> None:
    client, recorder = api
    recorder.answers = {
        ("PUT", "/fleet/v1/units/bad.service"): (
            400,
            {"error": {"code": 400, "message": "invalid unit options"}},
        )
    }

    with pytest.raises(FleetError, match="400 invalid unit options"):
        client.submit("bad.service", "[Service]\nExecStart=/bin/x\n", "launched")


def test_an_unreachable_endpoint_says_which_setting_to_check() -> None:
    with pytest.raises(
        FleetError, match=r"cannot reach fleet at http://127\.0\.0\.1:9/.*fleet\.endpoint"
    ):
        ApiClient("http://127.0.0.1:9/", timeout=2).units()
