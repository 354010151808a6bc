"""What a deploy prints: Heroku/Dokku-style step lines and indented detail.

    -----> Building myapp (release 3)
           Step 1/3 : FROM scratch
    =====> myapp release 3 is up
           http://127.0.0.1:49153

No ANSI escapes unless the stream is a terminal. Nothing here prints config
values: plugins hand over lines that never contain them.
"""

from __future__ import annotations

import sys
from typing import TextIO

STEP = "-----> "
DONE = "=====> "
INDENT = " " * 7


class Output:
    """A stream for deploy progress, one line at a time, flushed at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.color = bool(getattr(self.stream, "isatty", lambda: False)())

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def step(self, text: str) -> None:
        """A ``-----> Step`` line."""
        self._write(self._bold(STEP + text))

    def done(self, text: str) -> None:
        """A ``=====> Result`` line, the summary at the end."""
        self._write(self._bold(DONE + text))

    def line(self, text: str) -> None:
        """Detail under the current step, indented; blank lines are dropped."""
        # "\n" only: str.splitlines() breaks on more (U+2028, ...) than terminals do.
        for part in text.rstrip("\n").split("\n"):
            if part.strip():
                self._write(INDENT + part.rstrip())

    def _bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text


class QuietOutput(Output):
    """An output that drops everything (for ``--json`` runs that report at the end)."""

    def _write(self, text: str) -> None:
        pass


class TeeOutput(Output):
    """An output that also appends every line, without escapes, to a log file."""

    def __init__(self, inner: Output, log: TextIO) -> None:
        super().__init__(inner.stream)
        self.inner = inner
        self.log = log

    def _write(self, text: str) -> None:
        self.inner._write(self.inner._bold(text) if text.startswith(("-----", "=====")) else text)
        self.log.write(text + "\n")
        self.log.flush()

    def _bold(self, text: str) -> str:
        # Colour is the terminal's business; the log file gets plain text.
        return text
