"""Which port of an app's instances serves HTTP: the one a router forwards to."""

from __future__ import annotations

from collections.abc import Mapping

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import App


def web_port(app: App, ports: tuple[int, ...], env: Mapping[str, str], settings: Settings) -> int:
    """``[apps.APP] web_port`` (``NAP_APPS_APP_WEB_PORT``) if set, else the app's
    ``$PORT`` (its config var, else the one nap sets: its first EXPOSE), else its
    first exposed port."""
    value = settings.get(f"apps.{app.name}.web_port") or env.get("PORT") or ""
    if not value:
        return ports[0] if ports else settings.default_port
    try:
        port = int(value)
    except ValueError:
        raise NapError(f"the web port of {app.name} must be a port number, not {value!r}") from None
    if not 0 < port < 65536:
        raise NapError(f"the web port of {app.name} must be between 1 and 65535, not {port}")
    return port
