"""Day-2 operations on the local scheduler, with the real engine, registry and git."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get


def url_of(record: dict[str, Any]) -> str:
    return str(record["placements"][0]["url"])


def current_url(nap: Nap, app: str) -> str:
    [release] = [
        r for r in json.loads(nap("releases", app, "--json", check=True).stdout) if r["current"]
    ]
    return url_of(release)


def container_env(client: Any, app: str) -> dict[str, str]:
    [container] = client.containers.list(filters={"label": f"nap.app={app}"})
    output = container.exec_run(["/bin/busybox", "env"]).output.decode()
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def every_log(nap: Nap, app: str) -> str:
    logs = [path.read_text() for path in (nap.home / "apps" / app).rglob("build.log")]
    return "\n".join(logs)


def test_config_set_makes_a_release_without_a_build_and_never_prints_values(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    nap.deploy_json(app_name, sample_app.path)

    result = nap("config", "set", app_name, "SECRET=hunter2-xyzzy", "MODE=fast", check=True)

    assert "Building" not in result.stderr
    assert "hunter2-xyzzy" not in result.stdout + result.stderr
    env = container_env(docker_engine, app_name)
    assert env["SECRET"] == "hunter2-xyzzy" and env["MODE"] == "fast"
    assert env["PORT"] == "8080"
    releases = json.loads(nap("releases", app_name, "--json", check=True).stdout)
    assert [(r["release"], r["status"], r["config_version"]) for r in releases] == [
        (2, "current", 1),
        (1, "previous", 0),
    ]
    assert releases[0]["image"] == releases[1]["image"]
    assert http_get(current_url(nap, app_name)) == "hello 1"
    # Masked unless revealed; stored only where nap alone can read it.
    assert nap("config", "show", app_name, check=True).stdout == "MODE=********\nSECRET=********\n"
    revealed = nap("config", "show", app_name, "--reveal", "--json", check=True).stdout
    assert json.loads(revealed) == {"MODE": "fast", "SECRET": "hunter2-xyzzy"}
    assert stat.S_IMODE((nap.home / "nap.db").stat().st_mode) == 0o600
    env_file = nap.home / "apps" / app_name / "releases" / "2" / "env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    # A push after the change keeps the config and still never prints it.
    sample_app.serve("hello 2")
    pushed = nap("deploy", app_name, str(sample_app.path), check=True)
    assert "hunter2-xyzzy" not in pushed.stdout + pushed.stderr + every_log(nap, app_name)
    assert container_env(docker_engine, app_name)["SECRET"] == "hunter2-xyzzy"
    for container in docker_engine.containers.list(filters={"label": f"nap.app={app_name}"}):
        assert b"hunter2-xyzzy" not in container.logs()

    nap("config", "unset", app_name, "SECRET", check=True)

    assert "SECRET" not in container_env(docker_engine, app_name)


@pytest.mark.parametrize("pair", ["1X=a", "A-B=c", "=v", "NOEQUALS"])
def test_bad_config_keys_are_refused(
    nap: Nap, sample_app: SampleApp, app_name: str, pair: str
) -> None:
    nap.deploy_json(app_name, sample_app.path)

    result = nap("config", "set", app_name, pair)

    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_rollback_serves_the_old_content_without_a_build(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    nap.deploy_json(app_name, sample_app.path)
    sample_app.serve("hello 2")
    nap.deploy_json(app_name, sample_app.path)

    result = nap("rollback", app_name, check=True)

    assert "Building" not in result.stderr
    assert http_get(current_url(nap, app_name)) == "hello 1"
    releases = json.loads(nap("releases", app_name, "--json", check=True).stdout)
    assert [(r["release"], r["status"]) for r in releases] == [
        (3, "current"),
        (2, "previous"),
        (1, "previous"),
    ]
    assert releases[0]["revision"] == releases[2]["revision"]

    nap("rollback", app_name, "2", check=True)
    assert http_get(current_url(nap, app_name)) == "hello 2"

    missing = nap("rollback", app_name, "9")
    assert missing.returncode != 0 and missing.stderr.startswith("error: ")


def test_ps_scale_runs_n_instances_on_their_own_ports(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    nap.deploy_json(app_name, sample_app.path)

    nap("ps", "scale", app_name, "2", check=True)

    instances = json.loads(nap("ps", app_name, "--json", check=True).stdout)
    assert len(instances) == 2
    assert len({i["port"] for i in instances}) == 2
    for instance in instances:
        assert instance["state"] == "running"
        assert http_get(instance["url"]) == "hello 1"
    text = nap("ps", app_name, check=True).stdout
    assert text.count("running") == 2


def test_stop_start_restart(nap: Nap, sample_app: SampleApp, app_name: str) -> None:
    record = nap.deploy_json(app_name, sample_app.path)

    stopped = nap("stop", app_name, check=True)
    assert "exited" in stopped.stdout
    with pytest.raises(OSError):
        http_get(url_of(record), timeout=2)

    started = nap("start", app_name, check=True)
    assert "running" in started.stdout
    # The address stays the same: the host port was chosen for the release, not per start.
    assert http_get(url_of(record)) == "hello 1"

    nap("restart", app_name, check=True)
    instances = json.loads(nap("ps", app_name, "--json", check=True).stdout)
    assert instances[0]["url"] == url_of(record)
    assert http_get(url_of(record)) == "hello 1"


def test_logs_show_what_the_app_printed(nap: Nap, sample_app: SampleApp, app_name: str) -> None:
    sample_app.write(
        "Dockerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nEXPOSE 8080\n"
        'CMD ["/bin/busybox", "sh", "-c", '
        '"echo app is starting; exec /bin/busybox httpd -f -p 8080 -h /www"]\n',
    )
    sample_app.commit("log a line")
    nap.deploy_json(app_name, sample_app.path)

    single = nap("logs", app_name, check=True).stdout
    assert single == "app is starting\n"

    nap("ps", "scale", app_name, "2", check=True)
    several = nap("logs", app_name, "-n", "5", check=True).stdout.splitlines()
    assert sorted(several) == [
        f"nap-{app_name}-r2.1: app is starting",
        f"nap-{app_name}-r2.2: app is starting",
    ]


def test_a_failing_health_check_keeps_the_old_release(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    sample_app.write("CHECKS", "WAIT=0\nATTEMPTS=2\nTIMEOUT=2\n/ hello\n")
    sample_app.commit("checks")
    first = nap.deploy_json(app_name, sample_app.path)
    sample_app.serve("goodbye")

    result = nap("deploy", app_name, str(sample_app.path))

    assert result.returncode != 0
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "health check" in error and "did not contain 'hello'" in error
    assert "release 1 still serves" in error
    assert http_get(url_of(first)) == "hello 1"


def test_a_bad_checks_file_is_refused_with_its_line(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    sample_app.write("CHECKS", "WAIT=soon\n")
    sample_app.commit("bad checks")

    result = nap("deploy", app_name, str(sample_app.path))

    assert result.returncode != 0
    assert "error: CHECKS line 1: WAIT must be a number" in result.stderr


VOLUME_APP = (
    "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nVOLUME /data\nEXPOSE 8080\n"
    "ENV MARK={mark}\n"
    'CMD ["/bin/busybox", "sh", "-c", "echo $MARK >> /data/log; '
    "/bin/busybox cp /data/log /www/index.html; "
    'exec /bin/busybox httpd -f -p 8080 -h /www"]\n'
)


def test_a_volume_survives_redeploys_and_destroy_keeps_it_without_volumes(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    sample_app.write("Dockerfile", VOLUME_APP.format(mark="one"))
    sample_app.commit("volume")
    assert http_get(url_of(nap.deploy_json(app_name, sample_app.path))) == "one\n"
    sample_app.write("Dockerfile", VOLUME_APP.format(mark="two"))
    sample_app.commit("volume 2")

    assert http_get(url_of(nap.deploy_json(app_name, sample_app.path))) == "one\ntwo\n"
    nap("rollback", app_name, check=True)
    assert http_get(current_url(nap, app_name)) == "one\ntwo\none\n"

    label = {"label": f"nap.app={app_name}"}
    try:
        nap("apps", "destroy", app_name, "--force", check=True)
        assert len(docker_engine.volumes.list(filters=label)) == 1
        nap.deploy_json(app_name, sample_app.path)
        nap("apps", "destroy", app_name, "--force", "--volumes", check=True)
        assert docker_engine.volumes.list(filters=label) == []
    finally:
        for volume in docker_engine.volumes.list(filters=label):
            volume.remove(force=True)


def test_destroy_needs_force_and_then_removes_everything(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    record = nap.deploy_json(app_name, sample_app.path)

    refused = nap("apps", "destroy", app_name)
    assert refused.returncode != 0
    assert refused.stderr == (
        f"error: this removes {app_name} for good: run `nap apps destroy {app_name} --force`"
        " (add --volumes to remove its data too)\n"
    )
    assert http_get(url_of(record)) == "hello 1"

    nap("apps", "destroy", app_name, "--force", check=True)

    assert docker_engine.containers.list(all=True, filters={"label": f"nap.app={app_name}"}) == []
    assert docker_engine.images.list(name=f"127.0.0.1:5000/{app_name}") == []
    assert not (nap.home / "repos" / f"{app_name}.git").exists()
    assert not (nap.home / "apps" / app_name).exists()
    assert app_name not in nap("apps", check=True).stdout
    gone = nap("ps", app_name)
    assert gone.returncode != 0 and f"no app named {app_name}" in gone.stderr


def registry_has(repository: str, digest: str) -> bool:
    name = repository.split("/", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:5000/v2/{name}/manifests/{digest}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        urllib.request.urlopen(request, timeout=5)
        return True
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        return False


def test_after_8_deploys_only_5_images_remain_with_the_current_one(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    records = [nap.deploy_json(app_name, sample_app.path)]
    for n in range(2, 9):
        sample_app.serve(f"hello {n}")
        records.append(nap.deploy_json(app_name, sample_app.path))

    images = docker_engine.images.list(name=f"127.0.0.1:5000/{app_name}")
    assert len(images) == 5
    current = records[-1]["image"]
    assert any(current in image.attrs["RepoDigests"] for image in images)
    # Identical builds of other apps share image ids: count this app's names only.
    kept = {tag for image in images for tag in image.tags if f"/{app_name}:" in tag}
    assert kept == {f"127.0.0.1:5000/{app_name}:{n}" for n in range(4, 9)}
    for record in records:
        repository, digest = record["image"].split("@")
        assert registry_has(repository, digest) == (record["release"] >= 4)
    releases_dir = nap.home / "apps" / app_name / "releases"
    assert sorted(int(p.name) for p in releases_dir.iterdir()) == [4, 5, 6, 7, 8]
    assert http_get(url_of(records[-1])) == "hello 8"

    gone = nap("rollback", app_name, "2")
    assert gone.returncode != 0
    assert "the image of release 2 is gone" in gone.stderr


def test_destroying_an_app_keeps_an_identical_image_of_another_app(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    other = f"{app_name}-twin"
    try:
        nap.deploy_json(app_name, sample_app.path)
        twin = nap.deploy_json(other, sample_app.path)

        nap("apps", "destroy", app_name, "--force", check=True)

        assert docker_engine.images.list(name=f"127.0.0.1:5000/{app_name}") == []
        assert len(docker_engine.images.list(name=f"127.0.0.1:5000/{other}")) == 1
        assert http_get(url_of(twin)) == "hello 1"
        nap("restart", other, check=True)
    finally:
        for container in docker_engine.containers.list(
            all=True, filters={"label": f"nap.app={other}"}
        ):
            container.remove(force=True)


def test_replicas_come_from_scale_then_the_app_section_then_the_default(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    (nap.home / "nap.toml").write_text(f"replicas = 3\n[apps.{app_name}]\nreplicas = 2\n")

    record = nap.deploy_json(app_name, sample_app.path)
    assert len(record["placements"]) == 2

    nap("ps", "scale", app_name, "1", check=True)
    sample_app.serve("hello 2")
    record = nap.deploy_json(app_name, sample_app.path)
    assert len(record["placements"]) == 1


def test_config_set_before_the_first_push_applies_from_the_first_deploy(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    early = nap("config", "set", app_name, "GREETING=hi", check=True)
    assert "apply from its first deploy" in early.stderr

    nap.deploy_json(app_name, sample_app.path)

    assert container_env(docker_engine, app_name)["GREETING"] == "hi"


def test_a_volume_only_a_failed_release_made_goes_with_the_next_command(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    # The scheduler removes a failed release's containers, not its named volumes (a
    # release that served may own them); one no release ever served with is removed
    # by the next command that touches the app, here `nap ps`.
    record = nap.deploy_json(app_name, sample_app.path)
    sample_app.write("Dockerfile", CRASHING_WITH_A_VOLUME)
    sample_app.commit("a new volume, and a crash")
    failed = nap("deploy", app_name, str(sample_app.path))
    assert failed.returncode != 0 and "exited" in failed.stderr, failed.stderr

    label = {"label": f"nap.app={app_name}"}
    try:
        assert [
            v.attrs["Labels"]["nap.release"] for v in docker_engine.volumes.list(filters=label)
        ] == ["2"]
        nap("ps", app_name, check=True)
        assert docker_engine.volumes.list(filters=label) == []
        assert http_get(url_of(record)) == "hello 1"
    finally:
        for volume in docker_engine.volumes.list(filters=label):
            volume.remove(force=True)


CRASHING_WITH_A_VOLUME = (
    'FROM scratch\nCOPY busybox /bin/busybox\nVOLUME /data\nCMD ["/bin/busybox", "false"]\n'
)
