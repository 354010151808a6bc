"""Reading a stream that may go silent, with a wall-clock deadline.

The Docker engine streams a build or a push as JSON chunks; a build step that
prints nothing (``RUN sleep infinity``) blocks the reader in a socket read that
no per-read timeout bounds as a whole. :func:`until` reads the stream in a
thread and gives up at the deadline, so the caller can stop what runs (kill
the build's container) and fail in time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from nap_core.errors import NapError

T = TypeVar("T")
_END = object()


class TimedOut(NapError):
    """The deadline passed before the stream ended."""


def until(items: Iterable[T], deadline: float, what: str) -> Iterator[T]:
    """Yield from ``items`` until it ends; raise :class:`TimedOut` once
    :func:`time.monotonic` passes ``deadline``. Errors of ``items`` are raised here.

    The reading thread is a daemon: if the stream never ends, it dies with the
    process (whose exit closes the connection, which makes the engine stop).
    """
    found: queue.SimpleQueue[object] = queue.SimpleQueue()

    def pump() -> None:
        try:
            for item in items:
                found.put(item)
        except BaseException as exc:  # handed to the reader, raised there
            found.put(_Failure(exc))
        found.put(_END)

    threading.Thread(target=pump, name=f"nap-{what}", daemon=True).start()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut(f"{what} did not finish in time")
        try:
            item = found.get(timeout=remaining)
        except queue.Empty:
            raise TimedOut(f"{what} did not finish in time") from None
        if item is _END:
            return
        if isinstance(item, _Failure):
            raise item.exc
        yield item  # type: ignore[misc]


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
