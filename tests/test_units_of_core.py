"""Unit tests of single functions of the core: no engine, no git."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from nap_core import health, scratch
from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import AppConfig, Check
from nap_core.names import InvalidName, check_app_name, check_config_key, check_key_name
from nap_core.output import Output
from nap_core.scratch import scratch_dir
from nap_docker.volumes import volume_name
from nap_gitshell.hook import parse_updates


def test_environment_beats_the_file_which_beats_the_default(tmp_path: Path) -> None:
    (tmp_path / "nap.toml").write_text(
        'scheduler = "swarm"\ndeploy_timeout = 12\n[fleet]\nendpoint = "http://f:1"\n'
    )
    env = {"NAP_HOME": str(tmp_path), "NAP_SCHEDULER": "fleet"}

    settings = Settings.load(env)

    assert settings.scheduler == "fleet"
    assert settings.deploy_timeout == 12
    assert settings.get("fleet.endpoint") == "http://f:1"
    assert settings.registry == "127.0.0.1:5000"
    assert Settings.load({**env, "NAP_FLEET_ENDPOINT": "http://g:2"}).get("fleet.endpoint") == (
        "http://g:2"
    )
    assert settings.branches == ["master", "main"]


def test_a_broken_nap_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "nap.toml").write_text("scheduler = \n")

    with pytest.raises(NapError, match=r"cannot read .*nap\.toml"):
        Settings.load({"NAP_HOME": str(tmp_path)})


def test_a_non_number_is_refused(tmp_path: Path) -> None:
    settings = Settings.load({"NAP_HOME": str(tmp_path), "NAP_DEPLOY_TIMEOUT": "soon"})

    with pytest.raises(NapError, match="deploy_timeout must be a number"):
        _ = settings.deploy_timeout


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "-0.5"])
def test_a_number_that_is_not_finite_or_is_negative_is_refused(tmp_path: Path, value: str) -> None:
    settings = Settings.load({"NAP_HOME": str(tmp_path), "NAP_ENGINE_TIMEOUT": value})

    with pytest.raises(NapError, match="engine_timeout must be a finite number of at least 0"):
        settings.number("engine_timeout")


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("engine_timeout", "1e12", "at most 31536000 seconds (a year)"),
        ("router.drain", "31536001", "at most 31536000 seconds (a year)"),
        ("router.http_port", "65536", "at most 65535 (a TCP port)"),
        ("max_push_size", "1e300", "at most 9007199254740992 (a count or a size in bytes)"),
    ],
)
def test_a_number_past_its_kinds_bound_is_refused(
    tmp_path: Path, key: str, value: str, said: str
) -> None:
    # 1e300 s of engine_timeout failed in the SDK ("timestamp too large"), naming no key.
    env_name = "NAP_" + key.replace(".", "_").upper()
    settings = Settings.load({"NAP_HOME": str(tmp_path), env_name: value})

    with pytest.raises(NapError) as raised:
        settings.number(key)

    assert str(raised.value) == f"{key} must be {said}, not {value!r}"
    assert Settings.load({"NAP_HOME": str(tmp_path), env_name: "65535"}).number(key) == 65535


@pytest.mark.parametrize("name", ["a", "ab", "my-app", "a1", "0", "a" * 63])
def test_valid_app_names(name: str) -> None:
    assert check_app_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "A", "-a", "a-", "a_b", "a.b", "../x", "a;b", "a b", "a\n", "a" * 64, "é"]
)
def test_invalid_app_names(name: str) -> None:
    with pytest.raises(InvalidName):
        check_app_name(name)


def test_key_names_and_config_keys() -> None:
    assert check_key_name("alice@laptop.home") == "alice@laptop.home"
    for bad in ["", ".x", "a b", "a/b", "x" * 65]:
        with pytest.raises(InvalidName):
            check_key_name(bad)
    assert check_config_key("_A1") == "_A1"
    for bad in ["1A", "A-B", "", "A B"]:
        with pytest.raises(InvalidName):
            check_config_key(bad)


def test_config_digest_depends_on_content_not_order() -> None:
    one = AppConfig.from_mapping({"A": "1", "B": "2"})
    two = AppConfig.from_mapping({"B": "2", "A": "1"})

    assert one.digest == two.digest
    assert one.digest != AppConfig.from_mapping({"A": "1", "B": "3"}).digest
    assert one.digest != AppConfig.from_mapping({"A": "1", "B": "2"}, replicas=2).digest


def test_checks_file_is_read_like_dokkus() -> None:
    checks = health.parse("# comment\nWAIT=2\nTIMEOUT=3\nATTEMPTS=4\n/ Hello world\n/health\n")

    assert checks.wait == 2 and checks.timeout == 3 and checks.attempts == 4
    assert checks.checks == (Check("/", "Hello world"), Check("/health", ""))
    with pytest.raises(NapError, match="CHECKS line 1: a check starts with a path"):
        health.parse("health ok\n")


def test_pre_receive_input_is_parsed_line_by_line() -> None:
    text = "0" * 40 + " " + "a" * 40 + " refs/heads/master\nbogus line\n"

    assert parse_updates(text) == (("0" * 40, "a" * 40, "refs/heads/master"),)


def test_output_has_no_escapes_unless_a_terminal() -> None:
    stream = io.StringIO()
    out = Output(stream)

    out.step("Building")
    out.line("Step 1/2\n\nStep 2/2\n")
    out.done("up")

    assert stream.getvalue() == ("-----> Building\n       Step 1/2\n       Step 2/2\n=====> up\n")


def test_volume_names_are_stable_and_distinct() -> None:
    assert volume_name("app", "/data") == volume_name("app", "/data")
    assert volume_name("app", "/data") != volume_name("app", "/data/")
    assert volume_name("app", "/var/lib/db").startswith("nap-app_var-lib-db-")


def test_volume_names_of_two_apps_never_collide() -> None:
    # Before, "nap-a-b-x-<hash of the path>" could be app a's /b-x or app a-b's /x.
    assert volume_name("a", "/b-x") != volume_name("a-b", "/x")
    assert volume_name("a", "/b-x").partition("_")[0] == "nap-a"
    assert volume_name("a-b", "/x").partition("_")[0] == "nap-a-b"


def test_opening_an_old_database_from_many_processes_adds_each_column_once(
    tmp_path: Path,
) -> None:
    import sqlite3
    import subprocess
    import sys

    # A nap.db from before the added columns: the first schema's apps and releases.
    db = sqlite3.connect(tmp_path / "nap.db")
    db.executescript(
        "CREATE TABLE apps (name TEXT PRIMARY KEY, created REAL NOT NULL, current INTEGER);"
        "CREATE TABLE releases (app TEXT NOT NULL, number INTEGER NOT NULL, revision TEXT,"
        " tree TEXT, image TEXT, image_info TEXT, config_digest TEXT, scheduler TEXT,"
        " status TEXT, units TEXT, placements TEXT, error TEXT, created REAL,"
        " PRIMARY KEY (app, number));"
    )
    db.close()
    code = "import sys, pathlib, nap_core.state as s; s.State(pathlib.Path(sys.argv[1]))"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    errors = [proc.communicate()[1].decode() for proc in procs]

    assert all(proc.returncode == 0 for proc in procs), errors


def test_a_scratch_directory_goes_once_its_maker_is_gone(tmp_path: Path) -> None:
    dead = subprocess.run(["sh", "-c", "cat /proc/self/stat"], capture_output=True, text=True)
    pid, start = dead.stdout.split()[0], dead.stdout.rsplit(")", 1)[1].split()[19]
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / f".scratch-{pid}-{start}.abc").mkdir()  # its maker has exited
    (tmp_path / "tmp" / "app.xyz").mkdir()  # a deploy's work directory: not a scratch one

    with scratch_dir(tmp_path) as mine:
        assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == [mine.name, "app.xyz"]
        scratch.sweep(tmp_path)  # as a command run meanwhile would: this one's maker lives
        assert mine.is_dir()

    assert [p.name for p in (tmp_path / "tmp").iterdir()] == ["app.xyz"]
