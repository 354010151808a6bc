"""The fleet units nap renders: exact text (golden files), what systemd makes of
them, the API's option list, and operator overrides."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import attrs
import pytest
from sample import APP, CONFIG, DIGEST, GOLDEN, IMAGE, RELEASE, settings

from nap_core.errors import NapError
from nap_core.model import Process, ProcessTable, Unit
from nap_fleet import units

#: NAP_UPDATE_GOLDEN=1 rewrites the golden files after a deliberate template change.
UPDATE = os.environ.get("NAP_UPDATE_GOLDEN") == "1"


def rendered(tmp_path: Path) -> dict[str, Unit]:
    """The sample's units, as the hook renders them with no port taken."""
    found = units.render_release(APP, IMAGE, RELEASE, CONFIG, settings(tmp_path), taken=set())
    return {unit.kind: unit for unit in found}


def golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    return path.read_text()


@pytest.mark.parametrize(
    ("kind", "name", "golden_name"),
    [
        ("build", "nap-shop-r3-build.service", "build.service"),
        ("run", "nap-shop-r3@.service", "run.service"),
    ],
)
def test_units_match_the_golden_files(tmp_path: Path, kind: str, name: str, golden_name: str):
    unit = rendered(tmp_path)[kind]

    assert unit.name == name
    assert unit.text == golden(golden_name, unit.text)


def test_the_api_gets_the_run_unit_as_options(tmp_path: Path) -> None:
    options = [o.to_dict() for o in units.options(rendered(tmp_path)["run"].text)]

    text = json.dumps(options, indent=1) + "\n"
    assert text == golden("run.options.json", text)


def systemd_verify(directory: Path, name: str) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: scripts/install.sh installs the systemd package")
    return subprocess.run(
        [analyze, "verify", str(directory / name)], capture_output=True, text=True, check=False
    )


def test_rendered_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    found = rendered(tmp_path / "home")
    directory = tmp_path / "units"
    directory.mkdir()
    for unit in found.values():
        (directory / unit.name).write_text(unit.text)
    # systemd verifies an instance, reading the template from the same directory.
    checked = ["nap-shop-r3@1.service", "nap-shop-r3-build.service"]

    for name in checked:
        result = systemd_verify(directory, name)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout + result.stderr == "", result.stdout + result.stderr


def test_systemd_analyze_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    text = rendered(tmp_path / "home")["run"].text.replace("/usr/bin/docker stop", "docker-stop")
    (tmp_path / "broken@.service").write_text(text)

    assert systemd_verify(tmp_path, "broken@1.service").returncode != 0


def test_a_template_in_nap_home_overrides_the_shipped_one(tmp_path: Path) -> None:
    override = tmp_path / "templates" / "fleet"
    override.mkdir(parents=True)
    shipped = (Path(units.__file__).parent / "templates" / "run.service").read_text()
    (override / "run.service").write_text(shipped.replace("Restart=on-failure", "Restart=always"))

    found = rendered(tmp_path)

    assert "Restart=always" in found["run"].text
    assert "Restart=on-failure" not in found["run"].text
    assert found["build"].text == (GOLDEN / "build.service").read_text()


def test_an_override_naming_an_unknown_variable_fails(tmp_path: Path) -> None:
    override = tmp_path / "templates" / "fleet"
    override.mkdir(parents=True)
    (override / "build.service").write_text("[Service]\nExecStart={{ no_such_thing }}\n")

    with pytest.raises(Exception, match="no_such_thing"):
        rendered(tmp_path)


def test_machines_pull_the_same_digest_from_their_registry(tmp_path: Path) -> None:
    run = rendered(tmp_path)["run"].text

    assert f'docker pull "10.77.0.1:5000/shop@{IMAGE.digest}"' in run
    assert "127.0.0.1:5000" not in run


def test_without_fleet_registry_machines_use_the_registry(tmp_path: Path) -> None:
    plain = settings(tmp_path)
    fleet = dict(plain.file_values["fleet"])
    del fleet["registry"]
    config = units.Settings(
        home=tmp_path, file_values={**plain.file_values, "fleet": fleet}, environ={}
    )

    run = units.render_release(APP, IMAGE, RELEASE, CONFIG, config)[1].text

    assert f'docker pull "127.0.0.1:5000/shop@{IMAGE.digest}"' in run


def test_a_release_beside_serving_ones_takes_the_next_free_port(tmp_path: Path) -> None:
    taken = {8080, 8081}
    run = units.render_release(APP, IMAGE, RELEASE, CONFIG, settings(tmp_path), taken=taken)[1]

    assert "--publish ${COREOS_PUBLIC_IPV4}:8082:8080" in run.text
    assert units.published_ports(run.text) == (8082,)
    assert units.host_ports((8080, 8081), {8080}) == [(8081, 8080), (8082, 8081)]
    with pytest.raises(NapError, match="no free host port"):
        units.host_ports((65535,), {65535})


def test_config_values_are_quoted_for_systemd() -> None:
    lines = units.environment_lines({"A": 'x "y" 5% \\'})

    assert lines == ['"A=x \\"y\\" 5%% \\\\"']
    with pytest.raises(NapError, match="line break"):
        units.environment_lines({"A": "two\nlines"})


def test_options_parse_continuations_comments_and_repeats() -> None:
    text = "# c\n[Service]\nExecStart=/bin/a \\\n  --b\n; c\nEnvironment=X=1\nEnvironment=Y=2\n"

    assert [o.to_dict() for o in units.options(text)] == [
        {"section": "Service", "name": "ExecStart", "value": "/bin/a --b"},
        {"section": "Service", "name": "Environment", "value": "X=1"},
        {"section": "Service", "name": "Environment", "value": "Y=2"},
    ]
    with pytest.raises(NapError, match="line 1"):
        units.options("NoSection=1\n")


def test_metadata_comes_from_the_settings(tmp_path: Path) -> None:
    config = units.Settings(
        home=tmp_path, file_values={}, environ={"NAP_FLEET_METADATA": "role=web,disk=ssd"}
    )

    assert units.metadata(APP, config) == ["role=web", "disk=ssd"]


def test_unit_names_parse_back() -> None:
    assert units.release_of("nap-shop-r3@1.service", APP) == 3
    assert units.release_of("nap-shop-r3@.service", APP) == 3
    assert units.release_of("nap-shop-2-r3@1.service", APP) is None
    assert units.is_app_unit("nap-shop-r12-build.service", APP)
    assert not units.is_app_unit("nap-shopping-r1@1.service", APP)


def test_the_docs_show_the_units_exactly_as_rendered() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "schedulers" / "fleet.md").read_text()

    for name in ("run.service", "build.service"):
        assert (GOLDEN / name).read_text() in docs, f"docs/schedulers/fleet.md: update {name}"


def test_one_template_per_process_type_with_the_procfile_command(tmp_path: Path) -> None:
    web = Process("web", ("/bin/server", "--port", "$PORT", "50%"))
    table = ProcessTable(processes=(web, Process("worker", ("/bin/worker",))))
    release = attrs.evolve(RELEASE, processes=table)
    [_, run, worker] = units.render_release(APP, IMAGE, release, CONFIG, settings(tmp_path))

    [start] = [line for line in run.text.split("\n") if line.startswith("ExecStart=")]
    assert start.endswith(f'@{DIGEST}" "/bin/server" "--port" "$$PORT" "50%%"')
    assert worker.name == "nap-shop-r3-worker@.service"
    [start] = [line for line in worker.text.split("\n") if line.startswith("ExecStart=")]
    assert "--publish" not in start and "--env PORT" not in start
    assert start.endswith(f'@{DIGEST}" "/bin/worker"')
    assert "Conflicts=nap-shop-r3-worker@*.service" in worker.text
    assert units.process_of("nap-shop-r3-worker@2.service") == "worker"
    assert units.process_of("nap-shop-r3@2.service") == "web"
    assert units.release_of("nap-shop-r3-worker@2.service", APP) == 3
