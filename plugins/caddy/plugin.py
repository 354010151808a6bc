"""The caddy router's hooks: apply_routes, router_status.

Each change loads one whole configuration through Caddy's admin API
(``POST /load``); the same configuration is written to
``NAP_HOME/router/caddy/caddy.json`` first, so a Caddy that has to be started
starts with it.
"""

from __future__ import annotations

import json

from nap_caddy import admin, process
from nap_caddy.config import render
from nap_core.config import Settings
from nap_core.errors import RouterUnavailable
from nap_core.hookimpl import hookimpl
from nap_core.route import Route, RouterStatus

NAME = "caddy"


@hookimpl
def apply_routes(routes: tuple[Route, ...], settings: Settings) -> None:
    """Render the whole configuration and load it; start Caddy with it if it is not running."""
    paths = process.Paths.of(settings)
    address = process.admin_address(settings)
    # Serialised once, compact: at thousands of apps the JSON text costs more than rendering.
    config = json.dumps(render(routes, settings, address, str(paths.storage))).encode()
    process.write_config(paths, config)
    # A Caddy that answers without a pid file is still this home's Caddy: Caddy binds
    # with SO_REUSEPORT, so a second one would share the port and serve stale routes.
    if process.pid(paths) is None and not admin.answers(address):
        process.start(settings, paths, address)
        return
    timeout = settings.number("router.admin_timeout")
    try:
        admin.request(address, "POST", "/load", config, timeout=timeout)
    except RouterUnavailable as exc:
        if "timed out" in str(exc):  # alive (its pid runs) but silent: stopped, or stuck
            raise RouterUnavailable(
                f"Caddy (pid {process.pid(paths)}) did not answer within {timeout:g} s"
                f" (router.admin_timeout): check that it is not stopped; its log: {paths.log}"
            ) from exc
        raise RouterUnavailable(f"{exc}; Caddy's log: {paths.log}") from exc


@hookimpl
def router_status(settings: Settings) -> RouterStatus:
    """Running if this NAP_HOME's Caddy process is alive (its pid file, not a request)."""
    paths = process.Paths.of(settings)
    number = process.pid(paths)
    if number is None:
        return RouterStatus(False, f"Caddy is not running; its log: {paths.log}")
    detail = f"Caddy runs as pid {number}; its log: {paths.log}"
    if process.MIGRATE_QUEUED.exists() and not process.migrates_queued_connections():
        detail += (
            "; a reload resets the connections queued on Caddy's port:"
            " as root, `sysctl -w net.ipv4.tcp_migrate_req=1` (docs/router.md)"
        )
    return RouterStatus(True, detail)
