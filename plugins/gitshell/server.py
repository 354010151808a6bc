"""``nap server setup``: the system user that receives pushes, and who owns NAP_HOME.

Pushes run as the ``nap`` user (sshd runs ``nap shell`` as the account the
key belongs to), so ``NAP_HOME`` belongs to that user. Root's own ``nap``
commands then act as the owner of ``NAP_HOME`` (:func:`act_as_home_owner`), so
nothing root writes there (repositories, locks, release directories) is out
of the ``nap`` user's reach. The user is in the ``docker`` group: like Dokku's
user, it can run containers, which makes it as powerful as root on this host.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path

from nap_core.errors import NapError
from nap_core.paths import NAP_USER, SYSTEM_HOME, home_from

#: The group whose members may use the Docker engine's socket.
DOCKER_GROUP = "docker"


def act_as_home_owner(environ: MutableMapping[str, str] | None = None) -> None:
    """Switch a root process to the user that owns NAP_HOME, if that is not root.

    Does nothing when not root, when NAP_HOME does not exist yet, or when root
    owns it (a home nobody ran ``nap server setup`` for).
    """
    env = os.environ if environ is None else environ
    if os.geteuid() != 0:
        return
    home = home_from(env)
    try:
        owner = home.stat().st_uid
    except OSError:
        return
    if owner == 0:
        return
    try:
        user = pwd.getpwuid(owner)
    except KeyError:
        raise NapError(
            f"{home} belongs to uid {owner}, which has no account: "
            "run `nap server setup` to give it to the nap user"
        ) from None
    needed = interpreter_paths()
    os.initgroups(user.pw_name, user.pw_gid)
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    unreadable = [path for path in needed if not os.access(path, os.R_OK | os.X_OK)]
    if unreadable:
        raise NapError(
            f"{user.pw_name}, the owner of {home}, cannot read nap's Python "
            f"({unreadable[0]}): install nap where {user.pw_name} can read it "
            "(scripts/install.sh puts it in /opt/nap/venv), or run nap as that user"
        )
    env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name, NAP_HOME=str(home))
    # git refuses repositories owned by another user ("dubious ownership"); a
    # local `nap deploy` reads root's work tree, which this user may read.
    count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    env.update(
        {
            "GIT_CONFIG_COUNT": str(count + 1),
            f"GIT_CONFIG_KEY_{count}": "safe.directory",
            f"GIT_CONFIG_VALUE_{count}": "*",
        }
    )


def interpreter_paths() -> list[str]:
    """What nap's Python needs to read to run on: the interpreter (pushes run it
    in the pre-receive hook), the standard library, nap and its libraries."""
    import importlib.util

    paths = [sys.executable, os.path.dirname(os.__file__), os.path.dirname(__file__)]
    for name in ("nap_core", "click", "pluggy", "attrs"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            paths.append(os.path.dirname(spec.origin))
    return list(dict.fromkeys(paths))


def setup(home: Path, user: str = NAP_USER) -> list[str]:
    """Create ``user`` if missing and give it ``home``; return what was done, line by line.

    The user's own home directory is always ``/var/lib/nap`` (the default
    NAP_HOME, where sshd starts its sessions and ``~/.ssh`` lives); ``home``
    is the state directory to hand over, the same one unless NAP_HOME says
    otherwise. Safe to run again: an existing user is kept, and ownership is
    set again on everything under ``home``.
    """
    if os.geteuid() != 0:
        raise NapError("nap server setup creates a system user: run it as root")
    done: list[str] = []
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        run(
            "useradd",
            "--system",
            "--user-group",
            "--home-dir",
            str(SYSTEM_HOME),
            "--shell",
            "/bin/sh",
            "--comment",
            "nap git push to deploy",
            user,
        )
        account = pwd.getpwnam(user)
        done.append(f"created the system user {user}")
    # useradd leaves the account locked ('!'), and sshd refuses locked accounts
    # even for keys; '*' unlocks it while no password can ever match.
    run("usermod", "--password", "*", user)
    try:
        docker = grp.getgrnam(DOCKER_GROUP)
    except KeyError:
        done.append(f"warning: no {DOCKER_GROUP} group: install docker.io, then run this again")
    else:
        if user not in docker.gr_mem:
            run("usermod", "--append", "--groups", DOCKER_GROUP, user)
            done.append(f"added {user} to the {DOCKER_GROUP} group")
    for directory in dict.fromkeys([Path(account.pw_dir), home]):
        if not directory.exists():
            directory.mkdir(mode=0o750, parents=True)
            os.chown(directory, account.pw_uid, account.pw_gid)
    home.chmod(0o750)
    give(home, account.pw_uid, account.pw_gid)
    done.append(f"{home} belongs to {user}")
    user_home = Path(account.pw_dir)
    # Only in a home the user owns: sshd ignores keys in a directory others control.
    if user_home.stat().st_uid == account.pw_uid:
        ssh_dir = user_home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        keys = ssh_dir / "authorized_keys"
        if not keys.exists():
            os.close(os.open(keys, os.O_CREAT | os.O_WRONLY, 0o600))
        give(ssh_dir, account.pw_uid, account.pw_gid)
        done.append(f"keys go to {keys}: add one with `nap keys add NAME FILE`")
    return done


def give(top: Path, uid: int, gid: int) -> None:
    """Make ``uid:gid`` own ``top`` and everything under it (links themselves, not targets)."""
    os.lchown(top, uid, gid)
    for parent, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(Path(parent) / name, uid, gid)


def run(*argv: str) -> None:
    """Run a system command; a failure becomes one error line."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = [line for line in (result.stderr or result.stdout).split("\n") if line.strip()]
        raise NapError(f"{argv[0]} failed: {detail[-1].strip() if detail else result.returncode}")
