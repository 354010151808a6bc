"""The fleetctl commands of the etcd driver, against a stand-in fleetctl that
records its arguments and prints what fleetctl v1.0.0 prints."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from nap_fleet.client import FleetError, FleetUnit, Machine, UnitState
from nap_fleet.fleetctl import FleetctlClient

LISTINGS = {
    "list-unit-files": "nap-a-r1@.service\tinactive\tinactive\t-\n"
    "nap-a-r1@1.service\tlaunched\tlaunched\tfee101/10.0.0.1\n",
    "list-units": "nap-a-r1@1.service\tfee101/10.0.0.1\tloaded\tactive\trunning\n",
    "list-machines": "fee101\t10.0.0.1\trole=web,disk=ssd\nfee102\t10.0.0.2\t-\n",
    "cat": "[Service]\nExecStart=/usr/bin/docker run --publish ${COREOS_PUBLIC_IPV4}:8081:80 x\n",
}

SCRIPT = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
paths = [a for a in args if a.startswith("/")]
beside = sorted(os.listdir(os.path.dirname(paths[0]))) if paths else None
with open(os.environ["CALLS"], "a") as log:
    log.write(json.dumps({"args": args, "siblings": beside}) + "\\n")
command = [a for a in args if not a.startswith("--")][0]
if command == "destroy" and args[-1] == "broken.service":
    sys.stderr.write("Error destroying units: something fleet said\\n")
    sys.exit(1)
sys.stdout.write(json.loads(os.environ["LISTINGS"]).get(command, ""))
"""


@pytest.fixture
def fleetctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FleetctlClient, Path]:
    script = tmp_path / "fleetctl"
    script.write_text(SCRIPT)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("LISTINGS", json.dumps(LISTINGS))
    return FleetctlClient("http://etcd:2379", str(script), timeout=5), calls


def recorded(calls: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in calls.read_text().splitlines()]


BASE = ["--driver=etcd", "--endpoint=http://etcd:2379", "--request-timeout=5"]


def test_listings_parse_fleetctls_full_tables(fleetctl: tuple[FleetctlClient, Path]) -> None:
    client, calls = fleetctl

    assert client.units() == [
        FleetUnit("nap-a-r1@.service", "inactive", "inactive", ""),
        FleetUnit("nap-a-r1@1.service", "launched", "launched", "fee101"),
    ]
    assert client.states() == [
        UnitState("nap-a-r1@1.service", "fee101", "loaded", "active", "running")
    ]
    assert client.machines() == [
        Machine("fee101", "10.0.0.1", (("disk", "ssd"), ("role", "web"))),
        Machine("fee102", "10.0.0.2", ()),
    ]
    assert [c["args"] for c in recorded(calls)] == [
        [*BASE, "list-unit-files", "--full", "--no-legend", "--fields=unit,dstate,state,target"],
        [*BASE, "list-units", "--full", "--no-legend", "--fields=unit,machine,load,active,sub"],
        [*BASE, "list-machines", "--full", "--no-legend", "--fields=machine,ip,metadata"],
    ]


def test_units_are_submitted_and_started_without_blocking(
    fleetctl: tuple[FleetctlClient, Path],
) -> None:
    client, calls = fleetctl
    text = "[Service]\nExecStart=/bin/true\n"

    client.submit("nap-a-r2@.service", text, "inactive")
    client.submit("nap-a-r2@1.service", text, "launched")
    client.set_state("nap-a-r2@1.service", "loaded")
    client.set_state("nap-a-r2@1.service", "launched")
    client.destroy("nap-a-r1@1.service")

    found = recorded(calls)
    commands = [[a for a in c["args"] if a not in BASE] for c in found]  # type: ignore[union-attr]
    assert [c[:-1] if c[-1].startswith("/") else c for c in commands] == [
        ["submit"],
        ["start", "--no-block"],
        ["stop", "--no-block", "nap-a-r2@1.service"],
        ["start", "--no-block", "nap-a-r2@1.service"],
        ["destroy", "nap-a-r1@1.service"],
    ]
    # The instance is started from a file named after it, beside its template's file.
    assert commands[1][-1].endswith("/nap-a-r2@1.service")
    assert found[1]["siblings"] == ["nap-a-r2@.service"]


def test_fleetctls_own_words_reach_the_user(fleetctl: tuple[FleetctlClient, Path]) -> None:
    client, _ = fleetctl

    with pytest.raises(FleetError, match="fleetctl destroy: Error destroying units: something"):
        client.destroy("broken.service")


def test_a_missing_fleetctl_says_how_to_configure_it(tmp_path: Path) -> None:
    client = FleetctlClient("http://etcd:2379", str(tmp_path / "nope"))

    with pytest.raises(FleetError, match=r"set fleet\.fleetctl"):
        client.units()
    with pytest.raises(FleetError):
        client.journal("x.service", 10, False, io.StringIO())


def test_published_ports_read_each_launched_unit(fleetctl: tuple[FleetctlClient, Path]) -> None:
    client, calls = fleetctl

    assert client.published_ports() == {8081}
    assert [c["args"][len(BASE) :] for c in recorded(calls)][1:] == [
        ["cat", "nap-a-r1@1.service"]  # the inactive template is not read
    ]
