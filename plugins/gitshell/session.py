"""Handing an SSH session over to git: ``git-upload-pack`` by exec, and
``git-receive-pack`` for a push, cut if the client says nothing.

git speaks first (it advertises the refs) and then waits for the client's
commands, holding the app's push lock while it waits. A client that connects
and sends nothing would hold the lock for ever; so ``nap shell`` stays the
parent, relays the client's bytes to git, and ends the session if none come
within ``session_timeout`` seconds. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from nap_core.quoting import argv_word

#: How often the relay looks whether git has exited.
TICK = 1.0
#: What a client that pushes nothing sends: git's flush packet.
FLUSH = b"0000"


def hand_over(kind: str, app: str, key: str, env: MutableMapping[str, str]) -> int:
    """Become ``git-receive-pack`` or ``git-upload-pack`` on the app's bare repository."""
    from nap_core.errors import NapError
    from nap_core.locks import DEFAULT_TIMEOUT
    from nap_core.paths import home_from, number, repo_path
    from nap_core.scratch import scratch_dir
    from nap_gitshell.repos import DEFAULT_MAX_PUSH, ensure_repo, lock_pushes

    home = home_from(env)
    repo = repo_path(home, app)
    # The nap user's own git configuration plays no part (nap_core.gitenv).
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    idle = number(env, home, "session_timeout", 60.0)
    if kind == "upload":
        if not (repo / "HEAD").is_file():
            return _refuse(f"no app named {app}: push it first")
        return execute("git-upload-pack", repo, env, f"--timeout={max(1, int(idle))}")

    def waiting(who: str) -> None:
        sys.stderr.write(f"-----> Another push to {app} is deploying; waiting for it ({who})\n")
        sys.stderr.flush()

    # Held by nap shell and git-receive-pack (and its hook) until the ref is
    # updated; the kernel drops it when they exit. Taken before the repository
    # is created, so two first pushes never both run git init.
    timeout = number(env, home, "lock_timeout", DEFAULT_TIMEOUT)
    lock = lock_pushes(home, app, waiting, timeout, f"push to {app} by key {key}")
    os.set_inheritable(lock, True)
    try:
        ensure_repo(repo, int(number(env, home, "max_push_size", DEFAULT_MAX_PUSH)))
    except NapError as exc:  # a damaged repository: before git says it its own way
        return _refuse(str(exc))
    env["NAP_HOME"] = str(home)
    env["NAP_KEY"] = key
    # The hook writes this file once it ran (a release record, or "rejected"):
    # a push git refused before it, nap explains if the repository is damaged.
    with scratch_dir(home) as private:
        env["NAP_DEPLOY_RESULT"] = str(Path(private) / "result.json")
        code, sent = receive(repo, env, idle)
        if sent and not Path(env["NAP_DEPLOY_RESULT"]).exists():
            from nap_gitshell.repos import damage

            found = damage(repo)
            if found:
                return _refuse(found)
    return code


def execute(program: str, repo: Path, env: MutableMapping[str, str], *flags: str) -> int:
    """Replace this process with ``program [FLAGS] REPO`` (an argument list, never a shell)."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        argv = [program, *flags, argv_word(str(repo), "the repository path")]
        os.execvpe(program, argv, dict(env))  # noqa: S606 (no shell)
    except OSError as exc:
        return _refuse(f"cannot run {program} ({exc.strerror}): install git on the server")
    return 1  # not reached: exec does not return


def receive(repo: Path, env: Mapping[str, str], timeout: float) -> tuple[int, bool]:
    """Run ``git-receive-pack REPO``; return its exit status (1 if the client was cut)
    and whether the client sent more than an empty request (commands, a pack).

    git inherits every inheritable descriptor (the push lock among them), and
    writes to the client directly; only its input passes through here.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    program = "git-receive-pack"
    try:
        argv = [program, argv_word(str(repo), "the repository path")]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env=dict(env), close_fds=False)
    except OSError as exc:
        sys.stderr.write(f"error: cannot run {program} ({exc.strerror}): install git\n")
        return 1, False
    assert proc.stdin is not None
    try:
        cut, sent = relay(proc, proc.stdin.fileno(), timeout)
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if cut:
        proc.kill()
        proc.wait()
        sys.stderr.write(
            f"error: the client sent nothing within {timeout:g} s (session_timeout); push again\n"
        )
        return 1, False
    code = proc.wait()
    return (code if code >= 0 else 1), sent


def relay(proc: subprocess.Popen[bytes], target: int, timeout: float) -> tuple[bool, bool]:
    """Copy stdin to ``target`` until EOF or git exits. Return whether the client
    sent nothing for ``timeout`` seconds before its first bytes (it is then to be
    cut), and whether it sent more than a flush packet (a push that does nothing)."""
    waited = 0.0
    sent = 0
    while proc.poll() is None:
        ready, _, _ = select.select([0], [], [], TICK)
        if not ready:
            waited += TICK
            if not sent and waited >= timeout:
                return True, False
            continue
        data = os.read(0, 1 << 16)
        if not data:
            break
        sent += len(data)
        try:
            _write_all(target, data)
        except BrokenPipeError:
            break
    return False, sent > len(FLUSH)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _refuse(message: str) -> int:
    from nap_gitshell.shell import refuse

    return refuse(message)
