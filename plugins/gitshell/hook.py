"""The pre-receive hook: ``python -m nap_gitshell.hook``, run by git-receive-pack.

git runs it in the bare repository with one ``OLD NEW REF`` line per updated
ref on stdin. A zero exit accepts the push; anything else rejects it and no
ref moves, so a failed deploy can be retried by pushing again. Everything
printed reaches the pusher as ``remote:`` lines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def parse_updates(text: str) -> tuple[tuple[str, str, str], ...]:
    """The ``(old, new, ref)`` triples of a pre-receive hook's input.

    git separates them with one space and ends each with "\n"; split on exactly
    those (``str.split()`` would also split a ref at U+2028 or U+0085).
    """
    updates = []
    for line in text.split("\n"):
        parts = line.split(" ", 2)
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    return tuple(updates)


def main() -> int:
    """Deploy the pushed revision; exit non-zero to reject the push."""
    from nap_core.model import Request
    from nap_core.runner import run_deploy

    repo = Path(os.environ.get("GIT_DIR", ".")).resolve()
    environ = dict(os.environ)
    # The repository lives in NAP_HOME/repos: its home is the one that counts,
    # whatever environment sshd or the client handed down.
    environ.setdefault("NAP_HOME", str(repo.parent.parent))
    # Refs are bytes: one that is not UTF-8 is refused by name later, never a traceback.
    updates = parse_updates(sys.stdin.buffer.read().decode("utf-8", errors="replace"))
    request = Request(
        kind="pre-receive", repo=repo, updates=updates, key=environ.get("NAP_KEY", "")
    )
    return run_deploy(request, environ)


if __name__ == "__main__":
    sys.exit(main())
