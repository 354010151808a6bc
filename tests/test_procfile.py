"""The one Procfile parser (unit tests of one function: no engine needed)."""

from __future__ import annotations

import pytest

from nap_core.errors import NapError
from nap_core.model import Process, ProcessTable
from nap_core.procfile import parse


def test_heroku_lines_comments_blank_lines_and_crlf() -> None:
    table = parse(
        "# Procfile\r\n\r\nworker: bin/worker --queue 'a b'\r\n"
        'web:bin/web -p "8080"\r\nrelease:   bin/migrate\n'
    )

    assert table == ProcessTable(
        processes=(
            Process("web", ("bin/web", "-p", "8080")),
            Process("worker", ("bin/worker", "--queue", "a b")),
        ),
        release=("bin/migrate",),
    )
    assert table.names == ("web", "worker")


def test_no_web_line_means_the_image_cmd_and_nothing_is_expanded() -> None:
    table = parse("clock: sh -c 'echo $PORT *'\n")

    assert table.command("web") == ()
    assert table.command("clock") == ("sh", "-c", "echo $PORT *")
    assert parse("") == ProcessTable()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("web: a\n\n\nweb_2: b\n", "Procfile line 4: 'web_2' is not a process type name"),
        ("w" * 31 + ": a\n", "Procfile line 1: 'wwwww"),
        ("web:\n", "Procfile line 1: the command is empty"),
        ("release: a\nrelease: b\n", "Procfile line 2: release is defined twice"),
        ("web: a\x0cworker: b\n", "Procfile line 1: the command contains control characters"),
        ("web: a\x00\n", "Procfile line 1: the command contains control characters"),
    ],
)
def test_a_bad_procfile_names_its_line(text: str, error: str) -> None:
    with pytest.raises(NapError) as raised:
        parse(text)

    assert str(raised.value).startswith(error)
    assert "\n" not in str(raised.value)


def test_heroku_style_app_types_run_each_command_through_a_shell() -> None:
    table = parse('web: exec httpd -p "$PORT"\nrelease: ./migrate && echo done\n', shell=True)

    assert table.command("web") == ("/bin/sh", "-c", 'exec httpd -p "$PORT"')
    assert table.release == ("/bin/sh", "-c", "./migrate && echo done")
