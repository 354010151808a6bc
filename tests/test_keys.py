"""nap keys add / list / remove on a real authorized_keys file, with real ssh-keygen."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import NAP, Nap


@pytest.fixture
def keys_path(tmp_path: Path) -> Path:
    directory = tmp_path / "ssh"
    directory.mkdir()
    return directory / "authorized_keys"


class Keys(Nap):
    """The real `nap`, with NAP_AUTHORIZED_KEYS set and something to send on stdin."""

    def __call__(  # type: ignore[override]
        self, *args: str, check: bool = False, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*NAP, *args], env=self.env, input=input_text, capture_output=True, text=True
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def keys(nap: Nap, keys_path: Path) -> Keys:
    return Keys(nap.home, {**nap.env, "NAP_AUTHORIZED_KEYS": str(keys_path)})


def public_key(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@laptop", "-f", str(path)],
        check=True,
    )
    return path.with_suffix(".pub")


def test_add_list_remove(keys: Keys, keys_path: Path, tmp_path: Path) -> None:
    operator = public_key(tmp_path, "operator")
    foreign = operator.read_text()
    keys_path.write_text("# the operator's own line\n" + foreign)
    alice = public_key(tmp_path, "alice")
    bob = public_key(tmp_path, "bob")

    keys("keys", "add", "alice", str(alice), check=True)
    keys("keys", "add", "bob@laptop", "-", check=True, input_text=bob.read_text())

    lines = keys_path.read_text().splitlines()
    key_type, blob, _ = alice.read_text().split()
    assert lines[:2] == ["# the operator's own line", foreign.strip()]
    assert lines[2] == f'command="nap shell --key alice",restrict,pty {key_type} {blob}'
    assert lines[3].startswith('command="nap shell --key bob@laptop",restrict,pty ssh-ed25519 ')
    assert stat.S_IMODE(keys_path.stat().st_mode) == 0o600
    listed = json.loads(keys("keys", "list", "--json", check=True).stdout)
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(alice)], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert listed[0] == {
        "name": "alice",
        "type": "ssh-ed25519",
        "fingerprint": fingerprint,
        "role": "admin",  # the first key added
    }
    assert [(k["name"], k["role"]) for k in listed] == [("alice", "admin"), ("bob@laptop", "user")]

    theirs = keys("keys", "add", "operator", str(operator))
    assert "already in" in theirs.stderr and "a line nap did not write" in theirs.stderr

    keys("keys", "remove", "alice", check=True)

    assert keys_path.read_text().splitlines()[:2] == lines[:2]
    assert [k["name"] for k in json.loads(keys("keys", "list", "--json").stdout)] == ["bob@laptop"]


@pytest.mark.parametrize(
    "name", ["-a", ".a", "a b", "a/b", 'a"b', "a,b", "a" * 65, "", "a\nb", "é"], ids=repr
)
def test_invalid_key_names_are_refused(
    keys: Keys, keys_path: Path, tmp_path: Path, name: str
) -> None:
    result = keys("keys", "add", "--", name, str(public_key(tmp_path, "k")))

    assert result.returncode != 0
    assert result.stderr.startswith("error: invalid key name")
    assert len(result.stderr.splitlines()) == 1
    assert not keys_path.exists()


@pytest.mark.parametrize(
    "text",
    [
        "not a key\n",
        "ssh-ed25519 AAAAnotbase64!!\n",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBroken\n",  # decodes, but not a key
        'command="sh" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x\n',
        "",
    ],
    ids=["garbage", "bad-base64", "not-a-key", "with-options", "empty"],
)
def test_invalid_keys_are_refused(keys: Keys, keys_path: Path, text: str) -> None:
    result = keys("keys", "add", "mallory", "-", input_text=text)

    assert result.returncode != 0
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1
    assert not keys_path.exists()


def test_two_keys_in_one_file_and_private_keys_are_refused(
    keys: Keys, keys_path: Path, tmp_path: Path
) -> None:
    one, two = public_key(tmp_path, "one"), public_key(tmp_path, "two")

    both = keys("keys", "add", "x", "-", input_text=one.read_text() + two.read_text())
    private = keys("keys", "add", "x", str(one.with_suffix("")))

    for result in (both, private):
        assert result.returncode != 0 and result.stderr.startswith("error: ")
    assert not keys_path.exists()


def test_a_key_or_name_already_present_is_refused(
    keys: Keys, keys_path: Path, tmp_path: Path
) -> None:
    alice = public_key(tmp_path, "alice")
    keys("keys", "add", "alice", str(alice), check=True)
    before = keys_path.read_text()

    same_key = keys("keys", "add", "other", str(alice))
    same_name = keys("keys", "add", "alice", str(public_key(tmp_path, "new")))

    assert same_key.returncode != 0 and "already in" in same_key.stderr
    assert same_name.returncode != 0 and "a key named alice exists" in same_name.stderr
    assert keys_path.read_text() == before


def test_removing_an_unknown_key_is_refused(keys: Keys) -> None:
    result = keys("keys", "remove", "nobody")

    assert result.returncode != 0
    assert result.stderr == "error: no key named nobody: `nap keys list` shows the keys\n"
