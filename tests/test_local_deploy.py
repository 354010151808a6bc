"""nap deploy on this host's engine, end to end: real git, engine and registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get


def containers_of(client: Any, app: str) -> list[str]:
    # sparse: nothing inspected, so a container retired meanwhile is no error
    found = client.containers.list(all=True, sparse=True, filters={"label": f"nap.app={app}"})
    return sorted(c.attrs["Names"][0].lstrip("/") for c in found)


def url_of(record: dict[str, Any]) -> str:
    return str(record["placements"][0]["url"])


def test_first_deploy_answers_with_the_apps_content(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    record = nap.deploy_json(app_name, sample_app.path)

    assert record["app"] == app_name
    assert record["release"] == 1
    assert record["current"] is False
    assert record["scheduler"] == "local"
    assert record["revision"] == sample_app.git("rev-parse", "HEAD").strip()
    assert record["tree"] == sample_app.git("rev-parse", "HEAD^{tree}").strip()
    assert record["image"].startswith(f"127.0.0.1:5000/{app_name}@sha256:")
    [placement] = record["placements"]
    assert placement["host"] == "127.0.0.1"
    assert placement["url"] == f"http://127.0.0.1:{placement['port']}"
    assert http_get(placement["url"]) == "hello 1"

    # The container runs the image the digest names (started by its id while the publish
    # ran: docs/flow.md), restarts on failure and survives a dockerd restart.
    [container] = docker_engine.containers.list(filters={"label": f"nap.app={app_name}"})
    assert container.image.id == docker_engine.images.get(record["image"]).id
    assert container.attrs["Config"]["Image"] == container.image.id
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # The unit and build log are kept with the release.
    release_dir = nap.home / "apps" / app_name / "releases" / "1"
    unit = (release_dir / f"nap-{app_name}-r1@.service").read_text()
    assert container.image.id in unit
    assert "ExecStart=/usr/bin/docker run" in unit
    assert "Successfully built" in (release_dir / "build.log").read_text()


def test_push_output_follows_heroku_conventions(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    result = nap("deploy", app_name, str(sample_app.path), check=True)

    lines = result.stderr.splitlines()
    assert any(line.startswith("-----> Building") for line in lines)
    assert any(line.startswith("       Step 1/") for line in lines)
    assert "\x1b" not in result.stderr + result.stdout
    assert lines[-2].startswith("=====> ")
    assert lines[-1].strip().startswith("http://127.0.0.1:")
    assert http_get(lines[-1].strip()) == "hello 1"


def test_a_change_deploys_release_2_and_retires_release_1(
    nap: Nap, sample_app: SampleApp, app_name: str, docker_engine: Any
) -> None:
    first = nap.deploy_json(app_name, sample_app.path)
    sample_app.serve("hello 2")

    second = nap.deploy_json(app_name, sample_app.path)

    assert second["release"] == 2
    assert http_get(url_of(second)) == "hello 2"
    assert containers_of(docker_engine, app_name) == [f"nap-{app_name}-r2.1"]
    with pytest.raises(OSError):
        http_get(url_of(first), timeout=2)


def test_the_same_tree_again_is_current_and_builds_nothing(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    first = nap.deploy_json(app_name, sample_app.path)

    again = nap("deploy", app_name, str(sample_app.path), "--json", check=True)
    sample_app.commit("a new commit with the same tree")
    same_tree = nap("deploy", app_name, str(sample_app.path), "--json", check=True)

    for result in (again, same_tree):
        record = json.loads(result.stdout)
        assert record["current"] is True
        assert record["release"] == 1
        assert record["placements"] == first["placements"]
        assert "Building" not in result.stderr
    assert sorted(p.name for p in (nap.home / "apps" / app_name / "releases").iterdir()) == ["1"]
    assert http_get(url_of(first)) == "hello 1"


def test_a_broken_dockerfile_fails_and_release_1_keeps_serving(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    first = nap.deploy_json(app_name, sample_app.path)
    sample_app.write("Dockerfile", "FROM scratch\nCOPY no-such-file /x\n")
    sample_app.commit("broken")

    result = nap("deploy", app_name, str(sample_app.path))

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "build" in errors[0] and "no-such-file" in errors[0]
    assert http_get(url_of(first)) == "hello 1"
    releases = json.loads(nap("releases", app_name, "--json", check=True).stdout)
    assert [(r["release"], r["status"]) for r in releases] == [(2, "failed"), (1, "current")]


@pytest.mark.parametrize(
    "command, says",
    [
        ('["/bin/busybox", "false"]', "exited at once"),
        ('["/bin/busybox", "sleep", "600"]', "did not answer on port 8080 within 3 s"),
    ],
    ids=["exits-at-once", "never-listens"],
)
def test_a_release_that_never_answers_fails_and_release_1_keeps_serving(
    nap: Nap,
    sample_app: SampleApp,
    app_name: str,
    docker_engine: Any,
    command: str,
    says: str,
) -> None:
    first = nap.deploy_json(app_name, sample_app.path)
    dockerfile = (sample_app.path / "Dockerfile").read_text()
    sample_app.write("Dockerfile", dockerfile.rsplit("CMD", 1)[0] + f"CMD {command}\n")
    sample_app.commit("broken app")

    result = nap("deploy", app_name, str(sample_app.path), NAP_DEPLOY_TIMEOUT="3")

    assert result.returncode != 0
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert says in error
    assert "release 1 still serves" in error
    assert http_get(url_of(first)) == "hello 1"
    assert containers_of(docker_engine, app_name) == [f"nap-{app_name}-r1.1"]
    # The next good push deploys as usual.
    sample_app.write("Dockerfile", dockerfile)
    sample_app.serve("hello 3")
    assert http_get(url_of(nap.deploy_json(app_name, sample_app.path))) == "hello 3"


def test_an_app_without_expose_listens_on_port(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    sample_app.write(
        "Dockerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n"
        'CMD ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p $PORT -h /www"]\n',
    )
    sample_app.commit("no EXPOSE")

    record = nap.deploy_json(app_name, sample_app.path)

    assert http_get(url_of(record)) == "hello 1"


@pytest.mark.parametrize("name", ["../x", "A", "a;b", "-a", "a-", "a_b", "a" * 64, ""])
def test_invalid_app_names_are_refused(nap: Nap, sample_app: SampleApp, name: str) -> None:
    result = nap("deploy", "--", name, str(sample_app.path))

    assert result.returncode != 0
    assert result.stderr.startswith("error: invalid app name")
    assert len(result.stderr.splitlines()) == 1
    assert not (nap.home / "repos").exists()


def test_not_a_git_work_tree_is_refused(nap: Nap, tmp_path: Path) -> None:
    result = nap("deploy", "app", str(tmp_path))

    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and "git" in result.stderr


def test_usage_errors_are_one_line(nap: Nap) -> None:
    result = nap("deploy", "-a")

    assert result.returncode == 2
    assert result.stderr.startswith("error: No such option")
    assert len(result.stderr.splitlines()) == 1
