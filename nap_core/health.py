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

import http.client
import time

from nap_core.errors import DeployFailed, NapError
from nap_core.model import Check, HealthChecks, Source

FILENAME = "CHECKS"
SETTINGS = {"WAIT": "wait", "TIMEOUT": "timeout", "ATTEMPTS": "attempts"}


def read(source: Source) -> HealthChecks:
    """The health checks of the pushed tree (its ``CHECKS`` file), if it has one."""
    path = source.path / FILENAME
    return parse(path.read_text()) if path.is_file() else HealthChecks()


def parse(text: str) -> HealthChecks:
    """Read a ``CHECKS`` file; raise :class:`NapError` naming the bad line."""
    values: dict[str, float] = {}
    checks = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip() in SETTINGS:
            try:
                values[SETTINGS[key.strip()]] = float(value.strip())
            except ValueError:
                raise NapError(f"CHECKS line {number}: {key.strip()} must be a number") from None
            continue
        path, _, content = line.partition(" ")
        if not path.startswith("/"):
            raise NapError(f"CHECKS line {number}: a check starts with a path such as /health")
        checks.append(Check(path, content.strip()))
    return HealthChecks(
        checks=tuple(checks),
        wait=values.get("wait", 0.0),
        timeout=values.get("timeout", 5.0),
        attempts=int(values.get("attempts", 5)),
    )


def probe(check: Check, host: str, port: int, timeout: float) -> str | None:
    """Run one check once: ``None`` if it passed, else why it failed."""
    try:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.request("GET", check.path, headers={"User-Agent": "nap-health-check"})
        response = connection.getresponse()
        body = response.read(1 << 20).decode(errors="replace")
        connection.close()
    except (OSError, http.client.HTTPException) as exc:
        return f"GET {check.path}: {exc or type(exc).__name__}"
    if not 200 <= response.status < 400:
        return f"GET {check.path} answered {response.status}"
    if check.content and check.content not in body:
        return f"GET {check.path} did not contain {check.content!r}"
    return None


def verify(checks: HealthChecks, host: str, port: int, release: int) -> None:
    """Run every check against ``host:port``; raise :class:`DeployFailed` if one never passes."""
    if not checks.checks:
        return
    time.sleep(checks.wait)
    for check in checks.checks:
        reason = None
        for attempt in range(checks.attempts):
            reason = probe(check, host, port, checks.timeout)
            if reason is None:
                break
            if attempt + 1 < checks.attempts:
                time.sleep(1)
        if reason is not None:
            raise DeployFailed(
                f"release {release} failed its health check after {checks.attempts} attempts: "
                f"{reason}"
            )
