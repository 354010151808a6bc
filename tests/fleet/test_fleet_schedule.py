"""The exact fleet calls of a deploy, a redeploy, a failed release and an
unplaceable one, against a recording fake of the client (unit tests of the
hooks; tests/fleet/test_fleet_cluster.py runs the same against real fleet)."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
import pytest
from fake_fleet import FakeFleet
from sample import APP, CONFIG, IMAGE, RELEASE, settings

from nap_core.errors import DeployFailed, NapError
from nap_core.model import Action, Placement, Process, ProcessTable, Release
from nap_core.output import Output
from nap_fleet import plugin, rollout
from nap_fleet import units as units_module

R1 = [
    ("submit", "nap-shop-r1@.service", "inactive"),
    ("submit", "nap-shop-r1@1.service", "launched"),
    ("submit", "nap-shop-r1@2.service", "launched"),
]


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> FakeFleet:
    fake = FakeFleet(machines=3)
    monkeypatch.setattr(plugin, "client", lambda settings: fake)
    monkeypatch.setattr(rollout, "answers", lambda host, port: True)
    monkeypatch.setattr(rollout, "POLL", 0.01)
    monkeypatch.setattr(rollout, "SETTLE", 0.0)
    return fake


def deploy(
    home: Path,
    number: int,
    previous: Release | None = None,
    replicas: str = "2",
    workers: int | None = None,
) -> tuple[list[Placement], str]:
    config = attrs.evolve(settings(home), environ={"NAP_DEPLOY_TIMEOUT": "0.5"})
    app_config = attrs.evolve(CONFIG, replicas=int(replicas))
    release = attrs.evolve(RELEASE, number=number)
    if workers is not None:
        app_config = attrs.evolve(app_config, formation=(("worker", workers),))
        table = ProcessTable(processes=(Process("web"), Process("worker", ("/bin/worker",))))
        release = attrs.evolve(release, processes=table)
    from nap_core.state import State

    with State(home) as state:
        in_use = state.ports_in_use("fleet")
    units = plugin.render_units(
        app=APP,
        image=IMAGE,
        release=release,
        config=app_config,
        previous=previous,
        ports_in_use=in_use,
        settings=config,
    )
    assert units is not None
    stream = io.StringIO()
    placements = plugin.schedule(
        units=units,
        app=APP,
        image=IMAGE,
        release=release,
        config=app_config,
        previous=previous,
        settings=config,
        output=Output(stream),
    )
    assert placements is not None
    return placements, stream.getvalue()


def test_a_first_deploy_submits_the_template_and_launches_each_replica(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    placements, _ = deploy(tmp_path, 1)

    # Names in use are refused before any write.
    assert fleet.calls.index(("units",)) < fleet.calls.index(R1[0])
    assert fleet.writes == R1
    assert placements == [
        Placement.http("nap-shop-r1@1.service", "10.0.0.1", 8080),
        Placement.http("nap-shop-r1@2.service", "10.0.0.2", 8080),
    ]


def test_a_redeploy_launches_new_names_then_destroys_the_old_units(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    deploy(tmp_path, 1)
    previous = attrs.evolve(RELEASE, number=1)
    del fleet.calls[:]

    placements, out = deploy(tmp_path, 2, previous)

    assert fleet.writes == [
        ("submit", "nap-shop-r2@.service", "inactive"),
        ("submit", "nap-shop-r2@1.service", "launched"),
        ("submit", "nap-shop-r2@2.service", "launched"),
        ("destroy", "nap-shop-r1@1.service"),
        ("destroy", "nap-shop-r1@2.service"),
        ("destroy", "nap-shop-r1@.service"),
    ]
    assert [p.unit for p in placements] == ["nap-shop-r2@1.service", "nap-shop-r2@2.service"]
    assert "destroying nap-shop-r1@1.service" in out
    assert sorted(fleet.registry) == [
        "nap-shop-r2@.service",
        "nap-shop-r2@1.service",
        "nap-shop-r2@2.service",
    ]


def test_a_failed_release_is_destroyed_and_the_old_one_kept(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    deploy(tmp_path, 1)
    fleet.failing = ("nap-shop-r2@",)
    del fleet.calls[:]

    with pytest.raises(DeployFailed) as failed:
        deploy(tmp_path, 2, attrs.evolve(RELEASE, number=1))

    assert fleet.writes == [
        ("submit", "nap-shop-r2@.service", "inactive"),
        ("submit", "nap-shop-r2@1.service", "launched"),
        ("submit", "nap-shop-r2@2.service", "launched"),
        ("destroy", "nap-shop-r2@1.service"),
        ("destroy", "nap-shop-r2@2.service"),
        ("destroy", "nap-shop-r2@.service"),
    ]
    assert str(failed.value) == (
        "release 2 failed: nap-shop-r2@1.service on 10.0.0.1: loaded/failed/failed; "
        "release 1 still serves"
    )
    assert sorted(fleet.registry) == [
        "nap-shop-r1@.service",
        "nap-shop-r1@1.service",
        "nap-shop-r1@2.service",
    ]


def test_more_replicas_than_machines_fails_in_time_and_leaves_nothing(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    with pytest.raises(DeployFailed) as failed:
        deploy(tmp_path, 1, replicas="4")

    assert fleet.writes == [
        ("submit", "nap-shop-r1@.service", "inactive"),
        *[("submit", f"nap-shop-r1@{i}.service", "launched") for i in range(1, 5)],
        *[("destroy", f"nap-shop-r1@{i}.service") for i in range(1, 5)],
        ("destroy", "nap-shop-r1@.service"),
    ]
    message = str(failed.value)
    assert message.startswith("release 1 was not up within 0.5 s: nap-shop-r1@4.service: ")
    assert "fleet has not scheduled it on any machine (desired launched)" in message
    assert message.endswith("; nothing was running")
    assert fleet.registry == {}


def test_an_instance_that_never_answers_fails_the_release(
    fleet: FakeFleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollout, "answers", lambda host, port: host != "10.0.0.2")

    with pytest.raises(DeployFailed, match=r"nap-shop-r1@2.service on 10.0.0.2: loaded/active"):
        deploy(tmp_path, 1)

    assert fleet.registry == {}


def test_a_name_fleet_already_holds_is_refused_before_any_write(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    fleet.submit("nap-shop-r1@1.service", "[Service]\nExecStart=/bin/true\n", "inactive")
    del fleet.calls[:]

    with pytest.raises(DeployFailed, match=r"fleet already has nap-shop-r1@1\.service"):
        deploy(tmp_path, 1)

    assert fleet.writes == []  # not even a destroy: that unit is not this deploy's


def test_the_release_files_holding_config_values_are_private(tmp_path: Path) -> None:
    from nap_core.lifecycle import write_units

    config = settings(tmp_path)
    found = units_module.render_release(APP, IMAGE, RELEASE, CONFIG, config)

    write_units(config, RELEASE, found)

    release_dir = config.app_dir("shop") / "releases" / "3"
    assert sorted(p.name for p in release_dir.iterdir()) == [
        "nap-shop-r3-build.service",
        "nap-shop-r3@.service",
    ]
    for path in release_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert "s3cret" in (release_dir / "nap-shop-r3@.service").read_text()


def test_is_current_and_instances_read_fleet(fleet: FakeFleet, tmp_path: Path) -> None:
    placements, _ = deploy(tmp_path, 1)
    config = settings(tmp_path)
    two = attrs.evolve(CONFIG, replicas=2)
    last = attrs.evolve(RELEASE, number=1, config_digest=two.digest, placements=tuple(placements))
    source = plugin.Source(app=APP, revision=RELEASE.revision, tree=RELEASE.tree, path=tmp_path)

    assert plugin.is_current(app=APP, source=source, config=two, last=last, settings=config)
    found = plugin.instances(app=APP, release=last, settings=config)
    assert [(i.name, i.state, i.url) for i in found or []] == [
        ("nap-shop-r1@1.service", "running", "http://10.0.0.1:8080"),
        ("nap-shop-r1@2.service", "running", "http://10.0.0.2:8080"),
    ]

    # fleet moves an instance (its machine died): instances say where it runs now.
    fleet.registry["nap-shop-r1@1.service"] = attrs.evolve(
        fleet.registry["nap-shop-r1@1.service"], machine="m3"
    )
    found = plugin.instances(app=APP, release=last, settings=config)
    assert found is not None and found[0].url == "http://10.0.0.3:8080"

    fleet.failing = ("nap-shop-r1@2",)
    assert plugin.is_current(app=APP, source=source, config=two, last=last, settings=config) is None
    fleet.failing = ()
    scaled = attrs.evolve(CONFIG, replicas=3)
    assert (
        plugin.is_current(app=APP, source=source, config=scaled, last=last, settings=config) is None
    )


def test_control_and_destroy(fleet: FakeFleet, tmp_path: Path) -> None:
    deploy(tmp_path, 1)
    config = settings(tmp_path)
    last = attrs.evolve(RELEASE, number=1)
    del fleet.calls[:]

    stopped = plugin.control(
        app=APP, release=last, action=Action.STOP, settings=config, output=Output(io.StringIO())
    )

    assert fleet.writes == [
        ("set_state", "nap-shop-r1@1.service", "loaded"),
        ("set_state", "nap-shop-r1@2.service", "loaded"),
    ]
    assert [i.state for i in stopped or []] == ["stopped", "stopped"]
    del fleet.calls[:]

    plugin.destroy(app=APP, settings=config, volumes=False, output=Output(io.StringIO()))
    assert fleet.writes == [
        ("destroy", "nap-shop-r1@1.service"),
        ("destroy", "nap-shop-r1@2.service"),
        ("destroy", "nap-shop-r1@.service"),
    ]


def test_logs_through_the_api_say_how_to_read_them(fleet: FakeFleet, tmp_path: Path) -> None:
    deploy(tmp_path, 1)

    with pytest.raises(NapError, match=r"fleetctl journal nap-shop-r1@1.service"):
        plugin.logs(
            app=APP,
            release=attrs.evolve(RELEASE, number=1),
            settings=settings(tmp_path),
            follow=False,
            lines=10,
            stream=io.StringIO(),
        )


def test_settings_it_cannot_honour_fail_before_the_build(tmp_path: Path) -> None:
    source = plugin.Source(app=APP, revision=RELEASE.revision, tree=RELEASE.tree, path=tmp_path)
    cluster = settings(tmp_path, build="elsewhere")
    nowhere = attrs.evolve(settings(tmp_path), environ={"NAP_FLEET_ENDPOINT": ""})

    with pytest.raises(
        NapError, match=r'fleet\.build must be "nap" or "cluster", not \'elsewhere\''
    ):
        plugin.is_current(app=APP, source=source, config=CONFIG, last=None, settings=cluster)
    with pytest.raises(NapError, match=r"fleet\.endpoint is not configured"):
        plugin.is_current(app=APP, source=source, config=CONFIG, last=None, settings=nowhere)


def test_a_cluster_build_runs_the_build_unit_then_reads_the_registry(
    fleet: FakeFleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nap_fleet import cluster_build

    monkeypatch.setattr(cluster_build, "registry_image", lambda app, release, settings: IMAGE)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "Dockerfile").write_text("FROM scratch\n")
    source = plugin.Source(app=APP, revision=RELEASE.revision, tree=RELEASE.tree, path=tree)
    config = settings(tmp_path, build="cluster", context_address="127.0.0.1")
    stream = io.StringIO()

    image = plugin.build(
        app=APP,
        source=source,
        app_type="dockerfile",
        release=RELEASE,
        settings=config,
        output=Output(stream),
    )

    assert image == IMAGE
    assert fleet.writes == [
        ("submit", "nap-shop-r3-build.service", "launched"),
        ("destroy", "nap-shop-r3-build.service"),
    ]
    text = fleet.texts["nap-shop-r3-build.service"]
    assert '--tag "10.77.0.1:5000/shop:3"' in text
    assert ' "http://127.0.0.1:' in text and '.tar.gz"\n' in text
    assert "built and pushed on 10.0.0.1" in stream.getvalue()
    assert plugin.publish(image=IMAGE, settings=config, output=Output(stream)) == IMAGE
    # Without fleet.build = "cluster" the dockerfile and registry plugins answer.
    assert (
        plugin.build(
            app=APP,
            source=source,
            app_type="dockerfile",
            release=RELEASE,
            settings=settings(tmp_path),
            output=Output(stream),
        )
        is None
    )


def test_the_build_context_is_served_at_its_token_url_only(tmp_path: Path) -> None:
    import tarfile
    import urllib.error
    import urllib.request

    from nap_fleet import cluster_build

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with cluster_build.serve_context(
        tmp_path, settings(tmp_path, context_address="127.0.0.1")
    ) as url:
        with urllib.request.urlopen(url, timeout=5) as response:
            data = response.read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url.rsplit("/", 1)[0] + "/other.tar.gz", timeout=5)

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames() == ["Dockerfile"]


def test_a_release_avoids_host_ports_other_units_publish(fleet: FakeFleet, tmp_path: Path) -> None:
    # Another nap (or an operator) runs a unit publishing 8080 on the machines.
    fleet.submit(
        "other.service",
        "[Service]\nExecStart=/usr/bin/docker run --publish ${COREOS_PUBLIC_IPV4}:8080:80 x\n",
        "launched",
    )

    placements, _ = deploy(tmp_path, 1)

    assert {p.port for p in placements} == {8081}


def test_serving_fleet_releases_of_every_app_hold_their_ports(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    from nap_core.model import App
    from nap_core.state import State

    state = State(tmp_path)
    for name, scheduler, port in [
        ("shop", "fleet", 8080),
        ("blog", "fleet", 8081),
        ("x", "local", 8082),
    ]:
        app = App(name)
        state.ensure_app(app)
        release = state.new_release(
            Release(
                app=app, number=0, revision="r", tree="t", config_digest="", scheduler=scheduler
            ),
            CONFIG,
        )
        state.make_current(
            attrs.evolve(release, placements=(Placement.http("u", "10.0.0.9", port),))
        )
    state.close()

    assert State(tmp_path).ports_in_use("fleet") == {8080, 8081}
    placements, _ = deploy(tmp_path, 2)
    assert {p.port for p in placements} == {8082}


def test_a_poll_fleet_fails_once_is_retried(fleet: FakeFleet, tmp_path: Path) -> None:
    from nap_fleet.client import FleetError

    real_states = fleet.states
    failures = iter([True])

    def flaky_states() -> list[object]:
        if next(failures, False):
            raise FleetError("cannot reach fleet at http://fleet (timed out); check fleet.endpoint")
        return real_states()  # type: ignore[return-value]

    fleet.states = flaky_states  # type: ignore[method-assign]

    placements, _ = deploy(tmp_path, 1)

    assert len(placements) == 2


def test_an_unreachable_fleet_fails_the_deploy_saying_what_serves(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    from nap_fleet.client import FleetError

    def unreachable() -> list[object]:
        raise FleetError("cannot reach fleet at http://fleet (refused); check fleet.endpoint")

    source = plugin.Source(app=APP, revision=RELEASE.revision, tree=RELEASE.tree, path=tmp_path)
    last = attrs.evolve(RELEASE, number=1)
    fleet.units = unreachable  # type: ignore[method-assign]
    fleet.machines = unreachable  # type: ignore[method-assign]

    # Before the build (is_current), while rendering, and when scheduling.
    with pytest.raises(DeployFailed, match=r"check fleet\.endpoint; release 1 still serves$"):
        plugin.is_current(
            app=APP, source=source, config=CONFIG, last=last, settings=settings(tmp_path)
        )
    with pytest.raises(DeployFailed, match=r"check fleet\.endpoint; nothing was running$"):
        deploy(tmp_path, 1)
    with pytest.raises(DeployFailed, match=r"check fleet\.endpoint; release 1 still serves$"):
        rollout.Rollout(
            client=fleet,
            app=APP,
            number=2,
            text="",
            count=1,
            ports=(8080,),
            checks=RELEASE.checks,
            timeout=1,
            output=Output(io.StringIO()),
        ).run(previous=1)


def test_each_process_type_gets_its_template_and_instances_web_alone_is_placed(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    placements, _ = deploy(tmp_path, 1, replicas="1", workers=2)

    assert fleet.writes == [
        ("submit", "nap-shop-r1@.service", "inactive"),
        ("submit", "nap-shop-r1@1.service", "launched"),
        ("submit", "nap-shop-r1-worker@.service", "inactive"),
        ("submit", "nap-shop-r1-worker@1.service", "launched"),
        ("submit", "nap-shop-r1-worker@2.service", "launched"),
    ]
    assert placements == [Placement.http("nap-shop-r1@1.service", "10.0.0.1", 8080)]
    current = attrs.evolve(RELEASE, number=1, placements=tuple(placements))
    listed = plugin.instances(app=APP, release=current, settings=None)
    assert [(i.name, i.process, i.port) for i in listed or []] == [
        ("nap-shop-r1@1.service", "web", 8080),
        ("nap-shop-r1-worker@1.service", "worker", 0),
        ("nap-shop-r1-worker@2.service", "worker", 0),
    ]


def test_a_failing_worker_takes_the_new_web_units_down_too(
    fleet: FakeFleet, tmp_path: Path
) -> None:
    deploy(tmp_path, 1, replicas="1", workers=1)
    fleet.failing = ("nap-shop-r2-worker@",)
    del fleet.calls[:]

    with pytest.raises(DeployFailed, match="release 1 still serves"):
        deploy(tmp_path, 2, attrs.evolve(RELEASE, number=1), replicas="1", workers=1)

    assert sorted(fleet.registry) == [
        "nap-shop-r1-worker@.service",
        "nap-shop-r1-worker@1.service",
        "nap-shop-r1@.service",
        "nap-shop-r1@1.service",
    ]
