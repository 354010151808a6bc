"""A corpus of hostile values through nap's real entry points: config keys and
values (`nap config set`, in process), app and key names and SSH commands (`nap
shell`, in process, and some over the real sshd), VOLUME/EXPOSE (a few real
deploys, the rest through the image reader), CHECKS lines; then the fleet unit
renderer and the swarm spec with every value that was stored.

Each value is refused with one `error:` line naming its place, or stored and
rendered so that the target reads back exactly that value (tests/readback.py).
Nothing runs: every `$(...)` and injected unit option would touch a marker
file, and none may exist; nothing is written outside NAP_HOME.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from conftest import Nap, SampleApp, remove_app_containers
from readback import docker_env_file, systemd_environment
from sshd import SshServer

from nap_core import health, quoting
from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import App, AppConfig, Image, Release
from nap_docker.envfile import write_env_file
from nap_docker.images import image_of
from nap_gitshell import shell

MARKER = Path("/tmp") / f"nap-corpus-{uuid.uuid4().hex}"
TOUCH = f"/bin/touch {MARKER}"
SEPARATORS = [*quoting.LINE_BREAKS, "\x00", "\x1b", "\x7f", "\x9b", "\t", "\u200b", "\ufeff"]
CONTROLS = [chr(c) for c in [*range(32), 127, *range(0x80, 0xA0)]]
SPECIALS = [
    "%", "%i", "%%", "%n", "%h", "100%", "$(touch M)", "`touch M`", "${HOME}", "$HOME", "$$",
    '"', "'", "\\", '\\"', "\\n", ";", "&&", "|", ">", "<", "#not a comment", "=", "==", "a=b=c",
    " lead", "trail ", "\tx", "*", "?", "~", "!", "[a]", "{}", "--privileged", "-e X=1",
    "\u202eevil", "\u00a0nbsp", "\U0001f600", "\u3000ideographic", "caf\u00e9", "",
]  # fmt: skip
VALUES = (
    [f"a{sep}ExecStartPre={TOUCH}{sep}X=" for sep in SEPARATORS]
    + [f"{sep}leading" for sep in SEPARATORS]
    + [f"trailing{sep}" for sep in SEPARATORS]
    + [f"x{char}y" for char in CONTROLS]
    + [special.replace("M", str(MARKER)) for special in SPECIALS]
    + ["x" * 32768, "x" * 32769, "y" * 100_000]
)
KEYS = [
    "", "1A", "A-B", "A B", "A\nB", "A\u2028B", "\u00c4", "K" * 256, "$(id)", "PATH;id",
    "A.B", "-A", "A\x00", "%i", "A/B", "A\tB",
]  # fmt: skip
APP_NAMES = [
    "", "A", "-a", "a-", "a_b", "a.b", "a/b", "../x", "a" * 64, "x" * 100_000, "a\nb",
    "a\u2028b", "$(id)", "\uff41", "a b", "a%i", "a;id", "~a", "a\x85b", "app\x00",
]  # fmt: skip
KEY_NAMES = ["", "-k", "a b", "a\nb", "k" * 65, "k\u2028x", "$(id)", "a/b", ".k", "k;id"]
SSH_COMMANDS = [
    *(f"git-receive-pack '{name}'" for name in APP_NAMES),
    *(f"releases {name}" for name in ("$(id)", "`id`", "a;id", "a|id", "../../etc")),
    "sh", "bash -c id", "git-receive-pack", "git-receive-pack a b", "git-upload-pack '/etc'",
    "scp -t /tmp", "rsync --server", "deploy x /etc", "keys list", "server setup",
    "shell --key root", "apps --json destroy x --force", "config", "help me",
    "git-receive-pack 'a'\nid", "apps\x00", "apps\u2028id", "'unterminated", "x" * 50_000,
    "config set happ " + "K=v " * 12_000, "releases " + "a" * 100_000,
]  # fmt: skip
VOLUMES = [f"/data{sep}ExecStartPre={TOUCH}" for sep in SEPARATORS] + [
    "/da ta",
    "/d:/etc",
    "/d,ro",
    "rel",
    "/",
    "/a/../etc",
    "/%i",
    "/$(id)",
    "/" + "a" * 300,
]
EXPOSED = ["99999/tcp", "0/tcp", "80/http", "80", "-1/tcp", "80/tcp\n", "8080/tcp;id"]
CHECKS_LINES = [
    *(f"/ok{sep}ExecStart={TOUCH}" for sep in SEPARATORS),
    "WAIT=9e9", "WAIT=inf", "WAIT=nan", "WAIT=-1", "TIMEOUT=0", "TIMEOUT=1e308", "ATTEMPTS=0",
    "ATTEMPTS=1e9", "ATTEMPTS=2.5", "no-slash", "/" + "p" * 2000, "/ok " + "c" * 2000,
    "/a b\x01c", "WAIT=1_000",
]  # fmt: skip


def test_the_corpus_is_big_enough() -> None:
    total = sum(
        map(len, (VALUES, KEYS, APP_NAMES, KEY_NAMES, SSH_COMMANDS, VOLUMES, EXPOSED, CHECKS_LINES))
    )
    assert total >= 300, total


class Cli:
    """The real `nap` command line, in this process (so hundreds of values stay cheap)."""

    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from nap_core.cli import command_line

        self.group, self.session = command_line({"NAP_HOME": str(home)})
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            self.group.main(args=list(args), prog_name="nap", obj=self.session)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = self.capsys.readouterr()
        return code, out, err


def one_error_line(err: str, place: str = "") -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err[:500]
    assert len(lines[0]) <= 500 and "Traceback" not in err and place in lines[0], lines[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NAP_HOME", str(home))
    monkeypatch.setenv("NAP_AUTHORIZED_KEYS", str(tmp_path / "authorized_keys"))
    before = set(tmp_path.iterdir())
    yield home
    assert set(tmp_path.iterdir()) == before, "something was written outside NAP_HOME"
    assert not MARKER.exists(), "a hostile value ran a command"


def test_config_values_and_keys_are_refused_or_read_back_exactly(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    nap = Cli(home, capsys)
    stored: dict[str, str] = {}
    for number, value in enumerate(VALUES):
        key = f"V{number}"
        code, _, err = nap("config", "set", "happ", f"{key}={value}")
        if code == 0:
            stored[key] = value
        else:
            one_error_line(err, f"config var {key}")
            assert quoting.bad_character(value) is not None or len(value) > 32768
    for key in KEYS:
        code, _, err = nap("config", "set", "happ", f"{key}=1")
        if "=" not in key:  # "A=B" sets A: a key of its own
            assert code != 0, key
            one_error_line(err)
    code, out, _ = nap("config", "show", "happ", "--reveal", "--json")
    assert code == 0 and json.loads(out) == stored
    assert len(stored) >= 40  # the harmless specials are kept as they are

    # Every stored value, through every target nap writes it to.
    config = AppConfig.from_mapping(stored)
    env_path = home / "env"
    write_env_file(env_path, config.environment)
    assert docker_env_file(env_path.read_text()) == stored
    assert fleet_environment(config, home) == {"PORT": "8080", **stored}
    spec, stack = swarm_spec(config, home)
    assert dict(line.split("=", 1) for line in spec["TaskTemplate"]["ContainerSpec"]["Env"]) == {
        "PORT": "8080",
        **stored,
    }
    assert yaml.safe_load(stack)["services"]["nap-happ"]["environment"] == {"PORT": "8080"}


IMAGE = Image(
    app=App("happ"),
    id="sha256:" + "c" * 64,
    tag="127.0.0.1:5000/happ:1",
    ports=(8080,),
    env=(("PORT", "8080"),),
    repository="127.0.0.1:5000/happ",
    digest="sha256:" + "d" * 64,
    volumes=("/data",),
)
RELEASE = Release(App("happ"), 1, "r" * 40, "t" * 40, "", "fleet")


def fleet_environment(config: AppConfig, home: Path) -> dict[str, str]:
    from nap_fleet import units

    settings = Settings(
        home=home,
        file_values={"registry": "127.0.0.1:5000", "fleet": {"endpoint": "http://f:1"}},
        environ={},
    )
    run = units.render_release(App("happ"), IMAGE, RELEASE, config, settings, set())[1]
    found: dict[str, str] = {}
    for option in units.options(run.text):
        if option.name == "Environment":
            found.update(systemd_environment(option.value))
    return found


def swarm_spec(config: AppConfig, home: Path) -> tuple[dict[str, Any], str]:
    from nap_core.templates import render
    from nap_swarm import options
    from nap_swarm.service import draft

    settings = Settings.load({"NAP_HOME": str(home), "NAP_SWARM_MANAGER": "tcp://10.0.0.1:2375"})
    service = draft(
        App("happ"), IMAGE, RELEASE, config, settings.registry, options.load(settings), {8080: 1}
    )
    stack = render(
        settings, "swarm", "nap_swarm", "stack.yml", **service.template_context(str(home / "env"))
    )
    return service.spec(), stack


def test_names_are_refused_with_one_short_line(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    nap = Cli(home, capsys)
    for name in APP_NAMES:
        code, _, err = nap("releases", name)
        assert code != 0
        one_error_line(err)
    public = tmp_path / "key.pub"
    public.write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    try:
        for name in KEY_NAMES:
            code, _, err = nap("keys", "add", "--", name, str(public))
            assert code != 0, name
            one_error_line(err, "key name")
    finally:
        public.unlink()
    assert not (tmp_path / "authorized_keys").exists()


def test_ssh_commands_are_refused_in_nap_shell(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in SSH_COMMANDS:
        env = {"SSH_ORIGINAL_COMMAND": command.replace("\x00", ""), "NAP_HOME": str(home)}
        if "\x00" in command:
            env.pop("SSH_ORIGINAL_COMMAND")
        status = shell.main(["--key", "alice"], environ=env)
        out, err = capsys.readouterr()
        assert status != 0, command[:80]
        one_error_line(err)
        assert out == ""
    assert not (home / "repos").exists()


def test_volumes_exposes_and_checks_lines_are_refused(home: Path) -> None:
    for path in VOLUMES:
        with pytest.raises(NapError, match="the image of happ") as caught:
            image_of(App("happ"), {"Id": "x", "Config": {"Volumes": {path: {}}}}, "t", 5000)
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 400
    for spec in EXPOSED:
        with pytest.raises(NapError, match="EXPOSE"):
            image_of(App("happ"), {"Id": "x", "Config": {"ExposedPorts": {spec: {}}}}, "t", 5000)
    for line in CHECKS_LINES:
        with pytest.raises(NapError, match="CHECKS") as caught:
            health.parse(f"{line}\n/\n", deploy_timeout=30)
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 400
    kept = health.parse('/ok say "hi" 100% $(id) `id`\n')
    assert kept.checks[0].content == 'say "hi" 100% $(id) `id`'


@pytest.mark.parametrize(
    "dockerfile_line",
    [
        f'VOLUME ["/data\\nExecStartPre={TOUCH}"]',
        f'VOLUME ["/data\\u2028ExecStartPre={TOUCH}"]',
        "EXPOSE 1000-2000",
        'VOLUME ["/data --privileged"]',
    ],
)
def test_hostile_volumes_and_exposes_in_a_real_deploy(
    nap: Nap, sample_app: SampleApp, docker_engine: Any, dockerfile_line: str
) -> None:
    app = f"h{uuid.uuid4().hex[:8]}"
    dockerfile = sample_app.path / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + dockerfile_line + "\n")
    sample_app.commit("hostile")
    try:
        result = nap("deploy", app, str(sample_app.path))
    finally:
        remove_app_containers(docker_engine, app)

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"the image of {app}" in errors[0], result.stderr
    assert not MARKER.exists()
    assert list(docker_engine.volumes.list(filters={"label": f"nap.app={app}"})) == []


@pytest.mark.parametrize(
    "command",
    [
        ("releases", "$(touch /tmp/x)"),
        ("git-receive-pack", "'../../etc'"),
        ("config", "set", "happ", "K=a\u2028ExecStartPre=/bin/touch /tmp/x"),
        ("config", "set", "happ", "K=a\u0085b"),
        ("sh", "-c", "id"),
        ("apps", "destroy", "$(id)", "--force"),
        ("releases", "a" * 5000),
    ],
)
def test_some_hostile_commands_over_the_real_sshd(
    server: SshServer, command: tuple[str, ...]
) -> None:
    result = server.ssh(*command)

    assert result.returncode != 0
    one_error_line(result.stderr)
    assert json.loads(server.ssh("apps", "--json").stdout) == []


def test_the_local_unit_reads_back_its_paths_exactly(tmp_path: Path) -> None:
    from readback import systemd_words

    from nap_fleet import units
    from nap_local.plugin import render_units

    home = tmp_path / 'a home with spaces, 100% "quotes" and $dollars'
    settings = Settings.load({"NAP_HOME": str(home), "NAP_HOST": "127.0.0.1"})
    [unit] = render_units(app=App("happ"), image=IMAGE, release=RELEASE, settings=settings)
    [start] = [o.value for o in units.options(unit.text) if o.name == "ExecStart"]
    words = systemd_words(start, exec_line=True)

    assert words[words.index("--env-file") + 1] == str(home / "apps/happ/releases/1/env")
    assert words[-1] == IMAGE.pinned
    assert words[words.index("--volume") + 1].endswith(":/data")


@pytest.mark.parametrize("path", VOLUMES[:6])
def test_hostile_volumes_never_reach_the_fleet_unit_or_the_swarm_spec(
    path: str, tmp_path: Path
) -> None:
    hostile = attrs.evolve(IMAGE, volumes=(path,))
    with pytest.raises(NapError, match="VOLUME path"):
        fleet_environment_of(hostile, tmp_path)
    with pytest.raises(NapError, match="VOLUME path"):
        swarm_spec_of(hostile, tmp_path)


def fleet_environment_of(image: Image, home: Path) -> None:
    from nap_fleet import units

    settings = Settings(home=home, file_values={"fleet": {"endpoint": "http://f:1"}}, environ={})
    units.render_release(App("happ"), image, RELEASE, AppConfig(), settings, set())


def swarm_spec_of(image: Image, home: Path) -> None:
    from nap_swarm import options
    from nap_swarm.service import draft

    settings = Settings.load({"NAP_HOME": str(home), "NAP_SWARM_MANAGER": "tcp://10.0.0.1:2375"})
    draft(App("happ"), image, RELEASE, AppConfig(), "r", options.load(settings), {8080: 1})


@pytest.mark.parametrize("ref", ["refs/heads/a\u2028b", "refs/heads/caf\u00e9\x85"])
def test_a_hostile_ref_is_refused_over_the_real_sshd(
    server: SshServer, sample_app: SampleApp, ref: str
) -> None:
    from test_push import push

    result = push(server, sample_app, "happ", f"HEAD:{ref}")

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("remote: error: ")]
    assert len(errors) == 1 and "the pushed ref" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
