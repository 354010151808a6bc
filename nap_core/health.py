"""Health checks: the app's ``CHECKS`` file, and running it against an instance.

The file follows Dokku's format, so apps moving over keep theirs::

    WAIT=2        # seconds before the first attempt
    TIMEOUT=5     # seconds an attempt may take
    ATTEMPTS=10   # tries per check
    /             Welcome
    /healthz      ok

Each check line is a path and, optionally, text the response must contain.
A check passes on an HTTP 2xx or 3xx answer that contains the text.
"""

from __future__ import annotations

import math
import re
import socket
import time

from nap_core.config import Settings
from nap_core.errors import DeployFailed, NapError
from nap_core.model import Check, HealthChecks, Tree
from nap_core.quoting import bad_character, shown

FILENAME = "CHECKS"
SETTINGS = {"WAIT": "wait", "TIMEOUT": "timeout", "ATTEMPTS": "attempts"}
#: Limits of a CHECKS file (it comes from the push). WAIT and TIMEOUT are also
#: bounded by ``deploy_timeout``, which bounds the start and every check together.
MAX_CHECKS = 50
MAX_ATTEMPTS = 100
MAX_TEXT = 1024
#: A check's path: printable ASCII without spaces, as an HTTP request line takes it.
PATH = re.compile(r"/[\x21-\x7e]{0,1023}")
#: The most of a response a check reads.
MAX_BODY = 1 << 20


def read(tree: Tree, settings: Settings) -> HealthChecks:
    """The health checks of the pushed tree (its ``CHECKS`` blob, read with the
    ``max_read_size`` cap, never through a symlink), if it has one."""
    data = tree.read(FILENAME, int(settings.number("max_read_size")))
    if data is None:
        return HealthChecks()
    return parse(data.decode("utf-8", errors="replace"), settings.deploy_timeout)


def parse(text: str, deploy_timeout: float = 30.0) -> HealthChecks:
    """Read a ``CHECKS`` file; raise :class:`NapError` naming the bad line.

    Refused: a value that is not a finite number (``inf``, ``nan``), negative,
    a WAIT or TIMEOUT longer than ``deploy_timeout``, ATTEMPTS not a whole
    number in 1-100, more than 50 checks, control characters.
    """
    values: dict[str, float] = {}
    checks = []
    # "\n" only: a CHECKS line never spans U+2028 or the like (str.splitlines()).
    for number, raw in enumerate(text.split("\n"), start=1):
        where = f"CHECKS line {number}"
        line = raw.split("#", 1)[0].strip(" \t\r")
        if not line:
            continue
        bad = bad_character(line)
        if bad is not None:
            raise NapError(f"{where} holds {bad}: {shown(line)}")
        key, sep, value = line.partition("=")
        if sep and key.strip() in SETTINGS:
            name = key.strip()
            values[SETTINGS[name]] = _number(name, value.strip(), where, deploy_timeout)
            continue
        path, _, content = line.partition(" ")
        if not PATH.fullmatch(path):
            raise NapError(
                f"{where}: a check starts with a path such as /health, not {shown(path)}"
            )
        if len(content) > MAX_TEXT:
            raise NapError(f"{where}: the expected text is longer than {MAX_TEXT} characters")
        checks.append(Check(path, content.strip(" \t")))
        if len(checks) > MAX_CHECKS:
            raise NapError(f"CHECKS has more than {MAX_CHECKS} checks")
    return HealthChecks(
        checks=tuple(checks),
        wait=values.get("wait", 0.0),
        timeout=values.get("timeout", 5.0),
        attempts=int(values.get("attempts", 5)),
    )


def _number(name: str, text: str, where: str, deploy_timeout: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NapError(f"{where}: {name} must be a number, not {shown(text)}") from None
    if not math.isfinite(value) or value < 0:
        raise NapError(f"{where}: {name} must be a finite number of at least 0, not {shown(text)}")
    if name == "ATTEMPTS" and (value != int(value) or not 1 <= value <= MAX_ATTEMPTS):
        raise NapError(f"{where}: ATTEMPTS must be a whole number from 1 to {MAX_ATTEMPTS}")
    if name in ("WAIT", "TIMEOUT") and value > deploy_timeout:
        raise NapError(
            f"{where}: {name}={text} is longer than deploy_timeout ({deploy_timeout:g} s), "
            "which bounds the start and every check"
        )
    if name == "TIMEOUT" and value == 0:
        raise NapError(f"{where}: TIMEOUT must be more than 0")
    return value


def probe(check: Check, host: str, port: int, timeout: float) -> str | None:
    """Run one check once: ``None`` if it passed, else why it failed.

    ``timeout`` bounds the whole exchange (connect, request, the whole
    response), not each read: an app that answers one byte a second fails.
    """
    deadline = time.monotonic() + timeout
    request = (
        f"GET {check.path} HTTP/1.0\r\nHost: {host}:{port}\r\n"
        "User-Agent: nap-health-check\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    received = bytearray()
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(request)
            while len(received) < MAX_BODY:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("timed out")
                conn.settimeout(remaining)
                chunk = conn.recv(65536)
                if not chunk:
                    break
                received += chunk
    except OSError as exc:
        return f"GET {check.path}: {exc.strerror or exc or type(exc).__name__}"
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if (
        len(status_line) < 2
        or not status_line[0].startswith(b"HTTP/")
        or not status_line[1].isdigit()
    ):
        return f"GET {check.path}: not an HTTP response"
    status = int(status_line[1])
    if not 200 <= status < 400:
        return f"GET {check.path} answered {status}"
    if check.content and check.content not in body.decode(errors="replace"):
        return f"GET {check.path} did not contain {check.content!r}"
    return None


def verify(
    checks: HealthChecks, host: str, port: int, release: int, deadline: float | None = None
) -> None:
    """Run every check against ``host:port``; raise :class:`DeployFailed` if one never
    passes, or if ``deadline`` (a :func:`time.monotonic` time) passes first."""
    if not checks.checks:
        return
    if deadline is None:
        deadline = time.monotonic() + checks.wait + sum(_longest(checks, c) for c in checks.checks)
    _sleep_until(min(time.monotonic() + checks.wait, deadline))
    for check in checks.checks:
        attempts = check.attempts or checks.attempts
        timeout = check.timeout or checks.timeout
        pause = 1.0 if check.wait is None else check.wait
        _sleep_until(min(time.monotonic() + check.initial_delay, deadline))
        reason = None
        for attempt in range(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeployFailed(
                    f"release {release} did not pass its health checks before the deploy "
                    f"deadline (deploy_timeout){': ' + reason if reason else ''}"
                )
            reason = probe(check, host, port, min(timeout, remaining))
            if reason is None:
                break
            if attempt + 1 < attempts:
                _sleep_until(min(time.monotonic() + pause, deadline))
        if reason is not None:
            raise DeployFailed(
                f"release {release} failed its health check after {attempts} attempts: {reason}"
            )


def _longest(checks: HealthChecks, check: Check) -> float:
    """How long ``check`` may take at most, with its own settings or the file's."""
    attempts = check.attempts or checks.attempts
    pause = 1.0 if check.wait is None else check.wait
    return check.initial_delay + attempts * ((check.timeout or checks.timeout) + pause)


def _sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)
