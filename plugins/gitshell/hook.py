"""The pre-receive hook: ``python -m nap_gitshell.hook``, run by git-receive-pack.

git runs it in the bare repository with one ``OLD NEW REF`` line per updated
ref on stdin. A zero exit accepts the push; anything else rejects it and no
ref moves, so a failed deploy can be retried by pushing again. Everything
printed reaches the pusher as ``remote:`` lines.
"""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path

#: The most bytes one write to a pipe can take once select() says it is
#: writable without blocking (POSIX's PIPE_BUF, 4096 on Linux).
PIPE_BUF = 4096


class ClientStream:
    """The hook's stderr, which reaches the pusher through git-receive-pack.

    A pusher that went away (its SSH client killed) makes git stop reading it;
    a plain write would then block the deploy for ever, holding the app's locks,
    possibly after its release became current. Each write waits at most
    ``patience`` seconds for room; past that, or on a broken pipe, the client
    counts as gone: the rest is dropped, and the deploy finishes as it would
    have (git then moves the branch, so it names the release that serves).
    """

    def __init__(self, fd: int, patience: float) -> None:
        self.fd = fd
        self.patience = patience
        self.gone = False

    def write(self, text: str) -> int:
        """Write ``text`` unless the client is gone; return its length either way."""
        view = memoryview(text.encode("utf-8", "backslashreplace"))
        while view and not self.gone:
            _, ready, _ = select.select([], [self.fd], [], self.patience)
            try:
                if not ready:
                    raise TimeoutError
                view = view[os.write(self.fd, view[:PIPE_BUF]) :]
            except OSError:  # BrokenPipeError, TimeoutError: nobody reads any more
                self.gone = True
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def isatty(self) -> bool:
        """Never a terminal: git relays it."""
        return False


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
    from nap_core.errors import NapError
    from nap_core.model import Request
    from nap_core.output import Output
    from nap_core.paths import number
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
    # A pusher silent for session_timeout seconds is gone (as nap shell decides).
    try:
        patience = number(environ, Path(environ["NAP_HOME"]), "session_timeout", 60.0)
    except NapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    else:
        code = run_deploy(request, environ, Output(ClientStream(2, patience)))  # type: ignore[arg-type]
    result = environ.get("NAP_DEPLOY_RESULT")
    if code and result:
        # A local `nap deploy`: its error line is out; say the deploy, not git, refused.
        Path(result).write_text('{"rejected": true}')
    return code


if __name__ == "__main__":
    from nap_core.processes import exit_now

    exit_now(main())
