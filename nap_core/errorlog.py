"""Errors nobody planned for: the details go to the server's log, the client
gets one line with a reference to them.

``NAP_HOME/logs/errors.log`` (mode 0600) holds each unexpected exception with
its traceback under a short reference; the client sees only the reference, so
no traceback and no server path ever reaches it. Also the one-line rule for
every ``error:`` line: :func:`one_line`. Standard library only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

#: The longest ``error:`` line nap prints; longer ones are cut.
MAX_LINE = 400


def one_line(message: str) -> str:
    """``message`` as one short printable line: line breaks and controls escaped, cut."""
    text = "".join(
        char if char.isprintable() and char not in "\u2028\u2029" else ascii(char)[1:-1]
        for char in message[: MAX_LINE * 2]
    )
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def log_unexpected(exc: BaseException, environ: Mapping[str, str] | None = None) -> str:
    """Append ``exc`` with its traceback to ``NAP_HOME/logs/errors.log``; return the
    line a client may see (its reference, never the details)."""
    import traceback
    import uuid

    from nap_core.paths import home_from

    reference = uuid.uuid4().hex[:12]
    try:
        logs = home_from(os.environ if environ is None else environ) / "logs"
        logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(logs / "errors.log", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            log.write(f"--- {stamp} reference {reference} pid {os.getpid()}\n")
            log.write("".join(traceback.format_exception(exc)))
        where = "in the server's nap error log (NAP_HOME/logs/errors.log)"
    except OSError:
        where = "but it could not be logged on the server"
    return f"internal error {type(exc).__name__}, reference {reference} {where}; please report it"


def log_path(home: Path) -> Path:
    """Where :func:`log_unexpected` writes."""
    return home / "logs" / "errors.log"
