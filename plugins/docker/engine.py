"""Docker engine clients for the plugins that talk to one.

The docker SDK costs about 250 ms to import, so it is imported here, on first
use, never at module import time.
"""

from __future__ import annotations

import functools
import os
import socket
from typing import Any

from nap_core.config import Settings
from nap_core.errors import NapError

#: Seconds an engine has to answer its first request. A stopped (SIGSTOP) dockerd
#: accepts connections and never answers: the SDK's own first request would wait
#: for the whole client timeout (a minute or more), then say nothing of why.
PROBE_SECONDS = 10.0


def engine_client(settings: Settings, base_url: str | None = None) -> Any:
    """The client for a scheduler's requests (create, start, inspect, list, stop, remove):
    each must be answered within ``engine_timeout`` seconds (a stop also gets its own
    grace period), else it fails with one line that says what to check.

    Builds and pushes, which stream for minutes, use their own clients and deadlines.
    """
    return docker_client(base_url, int(settings.number("engine_timeout")), "engine_timeout")


@functools.cache
def docker_client(
    base_url: str | None = None, timeout: int = 120, setting: str | None = None
) -> Any:
    """A docker SDK client for ``base_url`` (default: ``DOCKER_HOST`` or the local socket).

    The API version is negotiated with the engine, so an engine that speaks only
    API 1.41 (Debian's dockerd 20.10) works. One client per engine and process:
    the negotiation is a round trip. With ``setting`` (the name of the setting
    ``timeout`` comes from), a request the engine does not answer in time, or
    a connection it drops, raises :class:`NapError` instead of the SDK's own.

    :raise NapError: the engine is not there, or does not answer within
        :data:`PROBE_SECONDS`.
    """
    import requests.exceptions

    import docker
    import docker.errors

    where = engine_url(base_url)
    deadline = f"{timeout} s ({setting})" if setting else f"{timeout} s"
    probe_seconds = min(PROBE_SECONDS, timeout)
    check_answers(where, probe_seconds, deadline if probe_seconds == timeout else None)
    try:
        if base_url:
            client = docker.DockerClient(base_url=base_url, version="auto", timeout=timeout)
        else:
            client = docker.from_env(version="auto", timeout=timeout)
    except docker.errors.DockerException as exc:
        # The engine can stop between the probe and the version negotiation: the
        # same hang as in any later request, so the same line.
        if isinstance(exc.__cause__, requests.exceptions.Timeout):
            raise silent(where, deadline) from None
        raise NapError(f"cannot reach the Docker engine at {where}: {exc}; {CHECK}") from exc
    if setting is not None:
        client.api.send = _saying_why(client.api.send, where, deadline)
    return client


def _saying_why(send: Any, where: str, deadline: str) -> Any:
    """``send`` (the SDK's one door to the engine), failing in one line on a hang or a crash.

    A stopped dockerd keeps its socket open and never answers: the SDK would wait,
    then raise a ReadTimeout that names no part and no remedy.
    """
    import requests.exceptions

    def send_or_say_why(request: Any, **kwargs: Any) -> Any:
        try:
            return send(request, **kwargs)
        except requests.exceptions.Timeout:
            raise silent(where, deadline) from None
        except requests.exceptions.ConnectionError as exc:
            raise NapError(f"lost the Docker engine at {where} ({_reason(exc)}); {CHECK}") from None

    return send_or_say_why


def _reason(exc: BaseException) -> str:
    """The innermost reason of a connection error, in a few words."""
    while exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]
    return str(exc).strip()[:120] or type(exc).__name__


#: What to check when the engine does not answer (the end of every such error).
CHECK = "check that dockerd is running and not stopped (`docker version` must answer)"


def silent(url: str, deadline: str) -> NapError:
    """The one error of an engine that did not answer within ``deadline``: at the
    probe, at the version negotiation, or at any later request."""
    return NapError(f"the Docker engine at {url} did not answer within {deadline}; {CHECK}")


def engine_url(base_url: str | None = None) -> str:
    """The engine a client of ``base_url`` talks to (``DOCKER_HOST``, else the local socket)."""
    return base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def check_answers(url: str, timeout: float, deadline: str | None = None) -> None:
    """Ask the engine at ``url`` (``unix://PATH`` or ``tcp://HOST:PORT``) for ``/_ping``.

    ``deadline`` is how the error names ``timeout`` (default: its seconds), so that
    a probe bounded by a setting names the setting.

    :raise NapError: nothing listens there, or it did not answer within ``timeout``.
    """
    try:
        if url.startswith("unix://"):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(timeout)
            probe.connect(url[len("unix://") :])
        elif url.startswith(("tcp://", "http://")):
            host, _, port = url.split("://", 1)[1].rstrip("/").rpartition(":")
            if not port.isdigit():
                return  # the SDK's own default port and its own error
            probe = socket.create_connection((host.strip("[]"), int(port)), timeout)
        else:
            return  # ssh:// and others: the SDK's own request says what is wrong
        with probe:
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            probe.recv(16)  # any answer, even a close (a TLS port), says it is alive
        return
    except TimeoutError:
        raise silent(url, deadline or f"{timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise NapError(f"cannot reach the Docker engine at {url} ({reason}); {CHECK}")
