"""app.json in Dokku's format: startup checks gate the switch, predeploy can
reject, postdeploy runs after the switch, formation sets the initial scale.
Real git, engine and registry; the parser's errors as unit tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Nap, SampleApp, http_get
from test_processes import by_process, papp

from nap_core import appjson
from nap_core.appjson import parse
from nap_core.checks import Check
from nap_core.errors import NapError
from nap_core.model import Tree

__all__ = ["papp"]  # the fixture, shared with test_processes


def app_json(**document: Any) -> str:
    return json.dumps(document)


def check(content: str, **fields: Any) -> dict[str, Any]:
    return {"type": "startup", "path": "/", "content": content, "attempts": 1, "wait": 0, **fields}


def test_a_startup_check_whose_content_does_not_match_keeps_the_old_release(
    nap: Nap, sample_app: SampleApp, papp: str
) -> None:
    sample_app.write("app.json", app_json(healthchecks={"web": [check("hello")]}))
    sample_app.write("CHECKS", "/ this-text-is-never-served\n")  # the older form: app.json wins
    sample_app.commit("checks")
    first = nap("deploy", papp, str(sample_app.path), check=True)
    assert "app.json has health checks: they are used, CHECKS is ignored" in first.stderr
    url = json.loads(nap("releases", papp, "--json", check=True).stdout)[0]["placements"][0]["url"]

    sample_app.write("app.json", app_json(healthchecks={"web": [check("goodbye", timeout=2)]}))
    sample_app.serve("hello 2")
    failed = nap("deploy", papp, str(sample_app.path))

    assert failed.returncode != 0
    assert "failed its health check after 1 attempts: GET / did not contain 'goodbye'" in (
        failed.stderr
    )
    assert failed.stderr.strip().endswith("release 1 still serves")
    assert http_get(url) == "hello 1"


def test_a_failing_predeploy_rejects_the_push_before_anything_starts(
    nap: Nap, sample_app: SampleApp, papp: str, docker_engine: Any
) -> None:
    first = nap.deploy_json(papp, sample_app.path)
    predeploy = "/bin/busybox sh -c 'echo predeploy says no; exit 2'"
    sample_app.write("app.json", app_json(scripts={"dokku": {"predeploy": predeploy}}))
    sample_app.serve("hello 2")

    failed = nap("deploy", papp, str(sample_app.path))

    assert failed.returncode != 0
    assert "       predeploy says no" in failed.stderr.splitlines()
    assert failed.stderr.strip().splitlines()[-1] == (
        "error: the predeploy command exited with status 2; release 1 still serves"
    )
    assert http_get(first["placements"][0]["url"]) == "hello 1"
    labels = {"label": [f"nap.app={papp}", "nap.release=2"]}
    assert docker_engine.containers.list(all=True, filters=labels) == []


def test_postdeploy_runs_after_the_switch_and_formation_sets_the_initial_scale(
    nap: Nap, sample_app: SampleApp, papp: str
) -> None:
    sample_app.write(
        "Procfile",
        "web: /bin/busybox httpd -f -p 8080 -h /www\nworker: /bin/busybox sleep 999\n"
        "release: /bin/busybox echo release phase\n",
    )
    sample_app.write(
        "app.json",
        app_json(
            formation={"web": {"quantity": 2}, "worker": {"quantity": 1}},
            scripts={
                "dokku": {
                    "predeploy": "/bin/busybox echo predeploy here",
                    "postdeploy": "/bin/busybox echo postdeploy here",
                }
            },
        ),
    )
    sample_app.commit("app.json")
    nap.deploy_json(papp, sample_app.path)
    assert {k: len(v) for k, v in by_process(nap, papp).items()} == {"web": 2, "worker": 1}

    sample_app.serve("hello 2")
    second = nap("deploy", papp, str(sample_app.path), check=True)

    lines = second.stderr.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if text in line)
        for text in (
            "predeploy here",
            "release phase",
            "Starting release 2",
            f"stopping nap-{papp}-r1",  # the old release leaves: the switch is done
            "postdeploy here",
        )
    ]
    assert order == sorted(order)
    # formation is the initial scale only: nap ps scale wins from then on.
    nap("ps", "scale", papp, "worker=0", check=True)
    sample_app.serve("hello 3")
    nap.deploy_json(papp, sample_app.path)
    assert {k: len(v) for k, v in by_process(nap, papp).items()} == {"web": 2}


def test_an_unknown_check_field_rejects_the_push_naming_it(
    nap: Nap, sample_app: SampleApp, papp: str
) -> None:
    sample_app.write("app.json", app_json(healthchecks={"web": [check("x", command=["true"])]}))
    sample_app.commit("unknown field")

    result = nap("deploy", papp, str(sample_app.path))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "error: app.json healthchecks.web[0]: nap does not support the field 'command'"
    )
    assert "Building" not in result.stderr


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ('{"healthchecks": ', "app.json is not valid JSON (line 1)"),
        ("[]", "app.json must hold a JSON object"),
        ('{"healthchecks": {"web": [{"path": "x"}]}}', "healthchecks.web[0].path must be a path"),
        ('{"healthchecks": {"web": [{"attempts": 0}]}}', "healthchecks.web[0].attempts must be"),
        ('{"healthchecks": {"web": [{"timeout": "5"}]}}', "healthchecks.web[0].timeout must be"),
        ('{"formation": {"Web": {"quantity": 1}}}', "app.json formation: 'Web' is not a process"),
        ('{"formation": {"web": {"size": "x"}}}', "formation.web: nap does not support 'size'"),
        ('{"formation": {"web": {"quantity": 101}}}', "formation.web.quantity must be 0 to 100"),
        ('{"scripts": {"dokku": {"predeploy": 3}}}', "scripts.dokku.predeploy must be a command"),
    ],
)
def test_bad_app_json_is_one_error_naming_the_field(
    sample_app: SampleApp, document: str, error: str
) -> None:
    sample_app.write("app.json", document)
    revision = sample_app.commit("app.json")

    with pytest.raises(NapError) as raised:
        appjson.read(Tree(sample_app.path / ".git", revision))

    assert error in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_large_or_linked_app_json_is_refused_before_it_is_read(sample_app: SampleApp) -> None:
    sample_app.write("app.json", "{}" + " " * 100)
    tree = Tree(sample_app.path / ".git", sample_app.commit("big"))
    too_big = r"app\.json is 102 bytes; nap reads at most 64 \(max_read_size\)"
    with pytest.raises(NapError, match=too_big):
        appjson.read(tree, limit=64)
    (sample_app.path / "app.json").unlink()
    (sample_app.path / "app.json").symlink_to("/etc/passwd")
    tree = Tree(sample_app.path / ".git", sample_app.commit("link"))
    with pytest.raises(NapError, match=r"app\.json is a symlink in the push"):
        appjson.read(tree)


def test_app_json_checks_map_onto_health_checks() -> None:
    found = parse(
        {
            "name": "ignored",
            "healthchecks": {
                "web": [
                    {"type": "startup", "path": "/health", "content": "ok", "attempts": 4,
                     "timeout": 2, "wait": 1, "initialDelay": 3, "name": "label"},
                    {"type": "liveness", "path": "/live"},
                ]
            },
        }
    )  # fmt: skip

    assert found.checks is not None
    assert found.checks.checks == (
        Check("/health", "ok", attempts=4, timeout=2.0, wait=1.0, initial_delay=3.0),
    )
    assert found.notes == (
        "app.json: liveness checks are not run by nap; healthchecks.web[1] is ignored",
    )
    assert parse({}).checks is None  # then CHECKS applies
