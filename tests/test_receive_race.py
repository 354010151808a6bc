"""A push whose branch moves while it waits for the deploy lock is refused, not deployed.

nap shell's push lock keeps SSH pushes apart; this is the second guard, for
anything else that writes into a bare repository (here: a push over git's local
transport and a `git update-ref` by hand).
"""

from __future__ import annotations

import fcntl
import json
import subprocess

from conftest import Nap, SampleApp


def test_a_branch_that_moved_while_the_push_waited_is_not_deployed(
    nap: Nap, sample_app: SampleApp, app_name: str
) -> None:
    first_commit = sample_app.git("rev-parse", "HEAD").strip()
    sample_app.serve("hello 1b")
    nap.deploy_json(app_name, sample_app.path)
    bare = nap.home / "repos" / f"{app_name}.git"
    sample_app.serve("hello 2")

    holder = open(nap.home / "locks" / f"{app_name}.lock", "w")  # noqa: SIM115
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        proc = subprocess.Popen(
            ["git", "-C", str(sample_app.path), "push", str(bare), "master"],
            env=nap.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if "Waiting for another deploy" in line:
                break
        else:
            raise AssertionError("the push did not wait for the deploy lock")
        # Someone else moves the branch meanwhile.
        subprocess.run(
            ["git", "--git-dir", str(bare), "update-ref", "refs/heads/master", first_commit],
            check=True,
        )
    finally:
        holder.close()
    rest = proc.stderr.read()

    assert proc.wait(timeout=600) != 0
    assert "master moved to" in rest and "fetch, merge and push again" in rest
    releases = json.loads(nap("releases", app_name, "--json", check=True).stdout)
    assert [r["release"] for r in releases] == [1]
