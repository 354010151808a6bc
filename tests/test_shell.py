"""nap shell's intake, in process: what it accepts, what it refuses, and that it never
runs a shell, for any SSH_ORIGINAL_COMMAND (hypothesis)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nap_core.names import APP_NAME
from nap_gitshell import shell


@pytest.mark.parametrize("path", ["myapp", "myapp.git", "/myapp", "/myapp.git", "~/myapp"])
@pytest.mark.parametrize("verb", ["git-receive-pack", "git-upload-pack"])
def test_the_paths_git_clients_send(verb: str, path: str) -> None:
    action = shell.decide(f"{verb} '{path}'")

    assert action.app == "myapp"
    assert action.kind == {"git-receive-pack": "receive", "git-upload-pack": "upload"}[verb]


@pytest.mark.parametrize(
    "command",
    [
        None,
        "",
        "   ",
        "bash",
        "sh -c id",
        "git-receive-pack '../../etc'",
        "git-receive-pack 'a/b'",
        "git-receive-pack '//a'",
        "git-receive-pack '~nap/a'",
        "git-receive-pack 'a; rm -rf ~'",
        "git-receive-pack '$(id)'",
        "git-receive-pack '`id`'",
        "git-receive-pack 'a\nb'",
        "git-receive-pack 'a\x00b'",
        "git-receive-pack 'a'\nid",
        "git-receive-pack 'a",
        "git-receive-pack",
        "git-receive-pack a b",
        "git receive-pack 'a'",
        "git-upload-archive 'a'",
        f"git-receive-pack '{'a' * 200}'",
        "git-receive-pack 'A'",
        "scp -t /tmp",
        "deploy a /etc",
        "keys add x -",
        "server setup",
        "shell --key x",
        "--help",
        "help me",
    ],
    ids=repr,
)
def test_refused(command: str | None) -> None:
    with pytest.raises(shell.Refused) as refused:
        shell.decide(command)

    assert "\n" not in str(refused.value)


def test_the_key_name_is_required_and_validated() -> None:
    assert shell.key_of(["--key", "alice@laptop"]) == "alice@laptop"
    assert shell.key_of(["--key=alice"]) == "alice"
    for argv in ([], ["alice"], ["--key"], ["--key", "-x"], ["--key", "a b"], ["--key", "a", "b"]):
        with pytest.raises(shell.Refused):
            shell.key_of(argv)


class Forbidden(BaseException):
    """Raised by the stand-ins for exec: the test stops where git would take over."""


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """Record every exec and subprocess nap shell starts; exec stops the run."""
    calls: dict[str, list[Any]] = {"exec": [], "spawn": []}

    def execvpe(program: str, argv: list[str], env: dict[str, str]) -> None:
        calls["exec"].append((program, list(argv), dict(env)))
        raise Forbidden

    real_popen_init = subprocess.Popen.__init__

    def popen_init(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        if isinstance(args, list) and args[:1] == ["git-receive-pack"]:
            # nap shell hands a push over to git as its parent (nap_gitshell.session).
            calls["exec"].append((args[0], list(args), dict(kwargs["env"])))
            raise Forbidden
        calls["spawn"].append((args, kwargs.get("shell", False)))
        real_popen_init(self, args, *rest, **kwargs)

    def no_shell(*args: Any, **kwargs: Any) -> None:
        calls["spawn"].append((args, True))
        raise Forbidden

    for name in ("execvpe", "execvp", "execv", "execve", "execl", "execlp"):
        monkeypatch.setattr(os, name, execvpe if name == "execvpe" else no_shell)
    monkeypatch.setattr(os, "system", no_shell)
    monkeypatch.setattr(os, "popen", no_shell)
    monkeypatch.setattr(os, "posix_spawn", no_shell)
    monkeypatch.setattr(os, "posix_spawnp", no_shell)
    monkeypatch.setattr(subprocess.Popen, "__init__", popen_init)
    yield calls


VERBS = st.sampled_from(
    ["git-receive-pack", "git-upload-pack", "apps", "releases", "plugins", "help", "sh", ""]
)
PATHS = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[~/]{0,2}[a-z0-9-]{1,10}(\.git)?", fullmatch=True),
    st.sampled_from(["$(id)", "`id`", "../x", "a;id", "a\nid", "a\x00b", "-x", "--help"]),
)
GIT = st.sampled_from(["git-receive-pack", "git-upload-pack"])
NAMES = st.from_regex(r"[~/]{0,2}[a-z0-9][a-z0-9-]{0,8}[a-z0-9](\.git)?", fullmatch=True)
COMMANDS = st.one_of(
    st.text(max_size=120),
    st.builds(lambda v, p: f"{v} '{p}'", GIT, NAMES),
    st.builds(lambda v, p: f"{v} '{p}'", VERBS, PATHS),
    st.builds(lambda v, p: f"{v} {p}", VERBS, PATHS),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=COMMANDS)
def test_any_command_is_one_allowed_action_or_refused(
    command: str, recorder: dict[str, list[Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    recorder["exec"].clear()
    recorder["spawn"].clear()
    try:
        action: shell.Action | None = shell.decide(command)
    except shell.Refused:
        action = None
    event("refused" if action is None else action.kind)
    env = {"SSH_ORIGINAL_COMMAND": command, "NAP_HOME": str(home), "PATH": os.environ["PATH"]}
    if "\x00" in command:
        env.pop("SSH_ORIGINAL_COMMAND")  # an environment cannot hold NUL; sshd cuts there
    monkeypatch_env = pytest.MonkeyPatch()
    try:
        # Admin commands run the CLI in this process, which reads os.environ.
        monkeypatch_env.setenv("NAP_HOME", str(home))
        status: int | None = shell.main(["--key", "tester"], environ=env)
    except Forbidden:
        status = None
    finally:
        monkeypatch_env.undo()

    if action is not None and action.kind == "command":
        # An allowed nap command ran in process (or click refused its arguments):
        # no exec, no process, nothing in NAP_HOME but the database it reads.
        assert action.argv[0] in {path[0] for path in shell.REMOTE_COMMANDS}
        assert status in (0, 1, 2)
        assert recorder["exec"] == [] and recorder["spawn"] == []
        assert {p.name for p in home.iterdir()} <= {"nap.db", "nap.db-wal", "nap.db-shm"}
        return

    # Never a shell: every process started is git, by argument list.
    for args, used_shell in recorder["spawn"]:
        assert not used_shell
        assert isinstance(args, list) and args[0] == "git"
    if action is None or action.kind == "help":
        assert status in (0, 1)
        assert recorder["exec"] == []
        assert status == (0 if action is not None else 1)
        assert not (home / "repos").exists()
        return
    assert APP_NAME.fullmatch(action.app)
    if action.kind == "upload":
        # No app exists in a fresh home: refused, and nothing is created.
        assert status == 1 and recorder["exec"] == []
        assert not (home / "repos").exists()
        return
    # Exactly one hand-over, to git-receive-pack, on the repository of a valid name.
    [(program, argv, exec_env)] = recorder["exec"]
    assert program == "git-receive-pack"
    assert argv == [program, str(home / "repos" / f"{action.app}.git")]
    assert exec_env["NAP_HOME"] == str(home) and exec_env["NAP_KEY"] == "tester"
    created = {p.relative_to(home).parts[:2] for p in home.rglob("*")}
    assert created <= {
        ("repos",),
        ("repos", f"{action.app}.git"),
        ("locks",),
        ("locks", f"{action.app}.push.lock"),
        ("tmp",),  # where the hook's result file lived while git ran
    }


def test_upload_of_a_pushed_app_hands_over_to_git(
    recorder: dict[str, list[Any]], tmp_path: Path
) -> None:
    from nap_gitshell.repos import ensure_repo

    ensure_repo(tmp_path / "repos" / "myapp.git")
    env = {"SSH_ORIGINAL_COMMAND": "git-upload-pack '/myapp.git'", "NAP_HOME": str(tmp_path)}

    with pytest.raises(Forbidden):
        shell.main(["--key", "k"], environ=env)

    [(_, argv, _)] = recorder["exec"]
    # --timeout: a clone that sends nothing is cut after session_timeout seconds.
    assert argv == ["git-upload-pack", "--timeout=60", str(tmp_path / "repos" / "myapp.git")]


def test_upload_of_an_unknown_app_is_refused(
    recorder: dict[str, list[Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"SSH_ORIGINAL_COMMAND": "git-upload-pack 'nope'", "NAP_HOME": str(tmp_path)}

    assert shell.main(["--key", "k"], environ=env) == 1

    assert recorder["exec"] == []
    assert capsys.readouterr().err == "error: no app named nope: push it first\n"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("soon", "session_timeout must be a number, not 'soon'"),
        ("1e12", "session_timeout must be at most 31536000 seconds (a year), not '1e12'"),
    ],
)
def test_a_bad_session_timeout_is_refused_in_one_line_before_git_runs(
    recorder: dict[str, list[Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    value: str,
    said: str,
) -> None:
    # Before, nap shell took "soon" for the default and handed 1e12 s on to git.
    from nap_gitshell.repos import ensure_repo

    ensure_repo(tmp_path / "repos" / "myapp.git")
    env = {
        "SSH_ORIGINAL_COMMAND": "git-upload-pack 'myapp'",
        "NAP_HOME": str(tmp_path),
        "NAP_SESSION_TIMEOUT": value,
    }

    assert shell.main(["--key", "k"], environ=env) == 1

    assert recorder["exec"] == []
    assert capsys.readouterr().err == f"error: {said}\n"


def test_nap_shell_imports_almost_nothing() -> None:
    # The forced command runs for every SSH command: it must not load the CLI,
    # the plugin manager or any of the heavy libraries before handing over.
    probe = (
        "import sys, runpy; sys.argv = ['nap', 'shell', '--key', 'k'];\n"
        "try:\n    runpy.run_module('nap', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = {'click', 'pluggy', 'git', 'docker', 'jinja2', 'attrs', 'importlib.metadata',"
        " 'sqlite3', 'tomllib', 'typing'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "SSH_ORIGINAL_COMMAND": "help"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip().splitlines()[-1] == "[]"
