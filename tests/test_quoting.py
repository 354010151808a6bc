"""One quoting helper per target, checked against how the target reads it back;
and the renderers that use them refuse what a target cannot carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from readback import docker_env_file, systemd_environment, systemd_words

from nap_core import quoting, values
from nap_core.errors import NapError
from nap_core.model import App, AppConfig, Image
from nap_docker.envfile import write_env_file
from nap_docker.images import image_of

SPECIAL = list("%\\\"'$;`# \t\x00=") + list(quoting.LINE_BREAKS)
TEXT = st.text(
    st.one_of(st.characters(blacklist_categories=()), st.sampled_from(SPECIAL)), max_size=80
)
FAST = settings(max_examples=300, deadline=None)


@FAST
@given(TEXT)
def test_systemd_env_reads_back_exactly_or_is_refused(value: str) -> None:
    try:
        line = quoting.systemd_env("KEY", value, "config var KEY")
    except quoting.Unquotable as exc:
        assert "config var KEY" in str(exc) and "\n" not in str(exc)
        assert quoting.bad_character(value) is not None
        return
    assert "\n" not in line and not any(c in line for c in quoting.LINE_BREAKS)
    assert systemd_environment(line) == {"KEY": value}


@FAST
@given(TEXT)
def test_systemd_word_reads_back_as_one_argument(value: str) -> None:
    try:
        word = quoting.systemd_word(value, "a VOLUME path")
    except quoting.Unquotable:
        return
    assert systemd_words(f"/usr/bin/docker run {word}", exec_line=True)[2:] == [value]


@FAST
@given(TEXT)
def test_env_file_lines_read_back_exactly_or_are_refused(value: str) -> None:
    try:
        line = quoting.env_file_line("KEY", value, "config var KEY")
    except quoting.Unquotable:
        return
    assert docker_env_file(line + "\n") == {"KEY": value}


@FAST
@given(TEXT)
def test_yaml_scalars_read_back_exactly(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates: no YAML (or any UTF-8 file) carries them
    assert yaml.safe_load(f"key: {quoting.yaml_scalar(value)}\n") == {"key": value}
    assert json.loads(quoting.yaml_scalar(value)) == value


@pytest.mark.parametrize("separator", list(quoting.LINE_BREAKS))
def test_every_line_break_of_splitlines_is_refused(separator: str) -> None:
    assert len(f"a{separator}b".splitlines()) == 2  # the list is splitlines()'s own
    for helper in (
        lambda v: quoting.systemd_env("K", v, "here"),
        lambda v: quoting.systemd_word(v, "here"),
        lambda v: quoting.env_file_line("K", v, "here"),
        lambda v: quoting.argv_word(v, "here"),
        lambda v: values.check_config_value(v, "here"),
    ):
        with pytest.raises(NapError, match="here"):
            helper(f"a{separator}ExecStartPre=/bin/touch /tmp/x")


def test_argv_words_are_never_options() -> None:
    assert quoting.argv_word("value", "x") == "value"
    with pytest.raises(NapError, match="option"):
        quoting.argv_word("--privileged", "the VOLUME path")


def test_shown_is_short_and_escaped() -> None:
    text = quoting.shown("a\u2028" * 50_000)
    assert len(text) < 250 and "\u2028" not in text


def test_env_files_refuse_values_docker_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "env"
    with pytest.raises(NapError, match="config var LONG"):
        write_env_file(path, {"LONG": "x" * 70_000})
    with pytest.raises(NapError, match="config var CR"):
        write_env_file(path, {"CR": "value\r"})
    write_env_file(path, {"A": ' "quoted" $(id) `id` %i # not a comment', "B": "\tx "})
    assert docker_env_file(path.read_text()) == {
        "A": ' "quoted" $(id) `id` %i # not a comment',
        "B": "\tx ",
    }


def image(volumes: tuple[str, ...] = (), exposed: dict[str, object] | None = None) -> Image:
    attrs = {
        "Id": "sha256:x",
        "Config": {"ExposedPorts": exposed, "Volumes": dict.fromkeys(volumes)},
    }
    return image_of(App("hq"), attrs, "t", 5000, 16)


@pytest.mark.parametrize(
    "path",
    [
        "/data\nExecStartPre=/bin/touch /tmp/x",
        "/data\u2028x",
        "/da ta",
        "/data:/etc",
        "/data,readonly",
        "relative",
        "/",
        "/a/../etc",
        "/%i",
        "/$(id)",
        "/" + "a" * 300,
    ],
)
def test_hostile_volume_paths_are_refused_with_their_place(path: str) -> None:
    with pytest.raises(NapError, match="the image of hq") as caught:
        image(volumes=(path,))
    assert "\n" not in str(caught.value)


def test_good_volume_paths_and_ports_are_read() -> None:
    found = image(volumes=("/var/lib/app", "/data"), exposed={"8080/tcp": {}, "53/udp": {}})
    assert found.volumes == ("/data", "/var/lib/app")
    assert found.ports == (8080,)


def test_an_expose_range_wider_than_max_ports_is_refused() -> None:
    wide = {f"{port}/tcp": {} for port in range(1000, 2001)}
    with pytest.raises(NapError, match="exposes 1001 ports; nap publishes at most 16"):
        image(exposed=wide)
    with pytest.raises(NapError, match="EXPOSE"):
        image(exposed={"99999/tcp": {}})


def test_config_values_with_line_breaks_never_reach_a_unit(tmp_path: Path) -> None:
    # The example: U+0085 passed the old newline check and added an option.
    with pytest.raises(NapError, match="U\\+0085"):
        AppConfig.from_mapping({"K": "a\x85ExecStartPre=/bin/touch /tmp/x\x85X="})


#: Values every target can carry, with the characters their quoting must survive.
CARRIED = {
    "PERCENT": "100% %i %%",
    "QUOTES": "say \"hi\" 'there'",
    "BACKSLASH": "C:\\dir\\ \\\\n",
    "SHELL": "$(touch /tmp/x) `id` ${HOME} $$",
    "SPACES": "  lead and trail\t",
    "UNICODE": "caf\u00e9 \u00a0nbsp \U0001f600 \u3000",
    "SEMICOLON": ";",
}


def test_the_swarm_stack_file_reads_back_exactly(tmp_path: Path) -> None:
    from nap_core.config import Settings
    from nap_core.model import Release
    from nap_swarm import options
    from nap_swarm.service import draft

    opts = options.load(
        Settings.load({"NAP_HOME": str(tmp_path), "NAP_SWARM_MANAGER": "tcp://10.0.0.1:2375"})
    )
    app = App("hq")
    img = Image(
        app,
        "sha256:x",
        "r/hq:1",
        (8080,),
        (("PORT", "8080"),),
        "r/hq",
        "sha256:" + "a" * 64,
        ("/data", "/var/lib/x"),
    )
    release = Release(app, 1, "r" * 40, "t" * 40, "", "swarm")
    service = draft(app, img, release, AppConfig.from_mapping(CARRIED), "r", opts, {8080: 20001})
    from nap_core.templates import render

    env_path = str(tmp_path / 'apps/hq/releases/1/env "x"')
    text = render(
        Settings.load({"NAP_HOME": str(tmp_path)}),
        "swarm",
        "nap_swarm",
        "stack.yml",
        **service.template_context(env_path),
    )
    spec = yaml.safe_load(text)["services"]["nap-hq"]
    assert spec["environment"] == {"PORT": "8080"}  # config values stay in the env file
    assert spec["env_file"] == env_path
    assert [v["target"] for v in spec["volumes"]] == ["/data", "/var/lib/x"]
    assert spec["image"].endswith("/hq@sha256:" + "a" * 64)
    assert dict(service.env) == {"PORT": "8080", **CARRIED}


@pytest.mark.parametrize(
    "ref",
    ["refs/heads/a\u2028b", "refs/heads/" + "x" * 300, "refs/heads/a..b", "HEAD", "refs/x.lock"],
)
def test_hostile_refs_are_refused_short(ref: str) -> None:
    with pytest.raises(NapError, match="the pushed ref") as caught:
        values.check_ref(ref)
    assert len(str(caught.value)) < 200 and "\u2028" not in str(caught.value)
    assert values.check_ref("refs/heads/main") == "refs/heads/main"
