"""Unit tests of nap_docker.generate, what app types that generate a Dockerfile share."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nap_core.errors import BuildFailed
from nap_docker.generate import (
    choose_base,
    cmd_line,
    procfile_web,
    read_root_file,
    with_version,
)


def test_procfile_web_reads_only_the_web_line() -> None:
    assert procfile_web("worker: python w.py\nweb: gunicorn app:app\r\n") == "gunicorn app:app"
    assert procfile_web("# web: no\nworker: x\n") is None
    assert procfile_web("webby: x\n") is None


def test_procfile_lines_split_on_newline_alone() -> None:
    # str.splitlines() would make a second line of what follows U+2028.
    assert procfile_web("worker: a\u2028web: evil\n") is None


@pytest.mark.parametrize("text", ["web:\n", "web: a\x00b\n", "web: a\x1bb\n", "web: " + "x" * 5000])
def test_a_bad_web_command_fails_the_build(text: str) -> None:
    with pytest.raises(BuildFailed, match="web"):
        procfile_web(text)


def test_cmd_line_is_json_the_exec_form_quoting() -> None:
    line = cmd_line('echo "$PORT" \\ done')

    assert line.startswith("CMD ") and "\n" not in line
    assert json.loads(line.removeprefix("CMD ")) == ["/bin/sh", "-c", 'echo "$PORT" \\ done']


@pytest.mark.parametrize(
    ("base", "version", "result"),
    [
        ("python:3.14-slim", "3.12", "python:3.12-slim"),
        ("node:24-slim", "20", "node:20-slim"),
        ("127.0.0.1:5000/python:3.14-slim", "3.11.9", "127.0.0.1:5000/python:3.11.9-slim"),
        ("python:3.14", "3.12", "python:3.12"),
        ("myorg/python:latest", "3.12", None),
        ("localhost:5000/python", "3.12", None),
        ("python@sha256:abc", "3.12", None),
        ("python:3.14-slim", "3.12; rm", None),
    ],
)
def test_with_version(base: str, version: str, result: str | None) -> None:
    assert with_version(base, version) == result


def test_choose_base_refuses_a_bad_reference_and_a_bad_version() -> None:
    with pytest.raises(BuildFailed, match="not an image reference"):
        choose_base("python:3.14 AS x", "python.base_image", None, "")
    with pytest.raises(BuildFailed, match=r"not like 3\.12"):
        choose_base("python:3.14-slim", "python.base_image", "3.12\nRUN x", "runtime.txt")


def test_read_root_file_caps_and_refuses_links_and_directories(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 11)
    (tmp_path / "dir").mkdir()
    os.symlink("/etc/hostname", tmp_path / "link")

    assert read_root_file(tmp_path, "missing") is None
    assert read_root_file(tmp_path, "big", limit=11) == b"x" * 11
    with pytest.raises(BuildFailed, match="larger than 10 bytes"):
        read_root_file(tmp_path, "big", limit=10)
    with pytest.raises(BuildFailed, match="symbolic link"):
        read_root_file(tmp_path, "link")
    with pytest.raises(BuildFailed, match="not a regular file"):
        read_root_file(tmp_path, "dir")
