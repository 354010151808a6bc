"""The whole Caddy configuration (JSON), rendered from the routing table.

Two servers: ``http`` on ``router.http_port`` serves every app without a
certificate, redirects the others to HTTPS (unless ``router.https_redirect =
false``) and answers unknown hosts with nap's 404 page; ``https`` on
``router.https_port`` serves the domains that have a certificate (the
operator's, or one obtained over ACME). Nothing in it comes from a request:
domains were validated by the core, upstreams are placements.
"""

from __future__ import annotations

import re
from typing import Any

from nap_core.config import Settings
from nap_core.route import Route

NOT_FOUND = (
    "<!doctype html><title>404 - no app here</title>"
    "<h1>404</h1><p>No app answers at this address.</p><p><small>nap</small></p>\n"
)
NO_INSTANCES = (
    "<!doctype html><title>503 - no instance</title>"
    "<h1>503</h1><p>This app has no running instance.</p><p><small>nap</small></p>\n"
)
HTML = {"Content-Type": ["text/html; charset=utf-8"]}
#: A CHECKS path the router may probe: printable, no placeholder braces. Others
#: (the push's text) get passive health checks only.
SAFE_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")


def render(
    routes: tuple[Route, ...], settings: Settings, admin: str, storage: str
) -> dict[str, Any]:
    """Caddy's whole configuration for ``routes``."""
    http_port = int(settings.number("router.http_port"))
    https_port = int(settings.number("router.https_port"))
    # Hosts grouped by how they are answered: apps that answer alike (every stopped
    # app's 503, every HTTPS redirect) share one route. Caddy provisions its whole
    # configuration again on every change at a cost that grows with the number of
    # routes, not of host names (a long host list is one sorted lookup). Host names
    # are unique per app and routes terminal, so the grouping changes no answer.
    handlers: dict[Any, dict[str, Any]] = {"redirect": redirect(https_port)}
    plain: dict[Any, list[str]] = {}
    secure: dict[Any, list[str]] = {}
    load_files: list[dict[str, Any]] = []
    operator_names: list[str] = []
    acme_names: list[str] = []
    for route in routes:
        tls = route.tls_domains()
        key = (route.upstreams, route.health_check)
        if key not in handlers:
            handlers[key] = proxy(route, settings)
        plain.setdefault(key, []).extend(d for d in route.domains if d not in tls)
        if not tls:
            continue
        secure.setdefault(key, []).extend(tls)
        plain.setdefault("redirect" if route.https_redirect else key, []).extend(tls)
        cert = route.certificate
        covered = [d for d in tls if cert is not None and cert.covers(d)]
        if cert is not None and covered:
            load_files.append({"certificate": str(cert.cert), "key": str(cert.key)})
            operator_names.extend(covered)
        acme_names.extend(d for d in tls if d not in covered)
    servers: dict[str, Any] = {
        "http": {
            "listen": [f":{http_port}"],
            "routes": [*grouped(plain, handlers), not_found()],
            "automatic_https": {"disable": True},
        }
    }
    if secure:
        servers["https"] = {
            "listen": [f":{https_port}"],
            "routes": [*grouped(secure, handlers), not_found()],
            "tls_connection_policies": [{}],
            "automatic_https": {"disable_redirects": True, "skip_certificates": operator_names},
        }
    apps: dict[str, Any] = {
        "http": {
            "http_port": http_port,
            "https_port": https_port,
            "grace_period": "10s",
            "servers": servers,
        }
    }
    tls_app = tls_config(load_files, acme_names, settings)
    if tls_app:
        apps["tls"] = tls_app
    return {
        "admin": {"listen": admin, "config": {"persist": False}},
        "storage": {"module": "file_system", "root": storage},
        "logging": {"logs": {"default": {"level": "WARN"}}},
        "apps": apps,
    }


def grouped(
    hosts: dict[Any, list[str]], handlers: dict[Any, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One route per handler, for the hosts answered by it, in order of first use."""
    return [host_route(names, handlers[key]) for key, names in hosts.items() if names]


def redirect(https_port: int) -> dict[str, Any]:
    """A 308 to the same host and path over HTTPS."""
    location = f"https://{{http.request.host}}{port_suffix(https_port)}{{http.request.uri}}"
    return {"handler": "static_response", "status_code": 308, "headers": {"Location": [location]}}


def port_suffix(port: int) -> str:
    """``:PORT``, or nothing for the scheme's own port."""
    return "" if port in (80, 443) else f":{port}"


def host_route(hosts: list[str], handler: dict[str, Any]) -> dict[str, Any]:
    """A route for some host names."""
    return {"match": [{"host": hosts}], "handle": [handler], "terminal": True}


def not_found() -> dict[str, Any]:
    """nap's own 404 page, for hosts no app owns."""
    return {
        "handle": [
            {"handler": "static_response", "status_code": 404, "headers": HTML, "body": NOT_FOUND}
        ]
    }


def proxy(route: Route, settings: Settings) -> dict[str, Any]:
    """The reverse proxy to every upstream of the route.

    Connection failures are retried on another upstream for up to
    ``router.try_duration`` seconds, and an upstream that failed is left out
    for a while (passive health checks), so a placement going away mid-request
    is not a client's error.
    """
    if not route.upstreams:
        return {
            "handler": "static_response",
            "status_code": 503,
            "headers": HTML,
            "body": NO_INSTANCES,
        }
    try_seconds = settings.number("router.try_duration", 10.0)
    checks: dict[str, Any] = {"passive": {"fail_duration": "5s", "max_fails": 1}}
    if route.health_check is not None and SAFE_PATH.fullmatch(route.health_check.path):
        # The app's own first CHECKS line, every 2 s: an upstream that stops
        # passing it gets no request until it passes again.
        active: dict[str, Any] = {"uri": route.health_check.path, "interval": "2s", "timeout": "2s"}
        if route.health_check.content:
            active["expect_body"] = re.escape(route.health_check.content)
        checks["active"] = active
    return {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": upstream.dial} for upstream in route.upstreams],
        "load_balancing": {
            "selection_policy": {"policy": "round_robin"},
            "try_duration": f"{try_seconds:g}s",
            "try_interval": "100ms",
        },
        "health_checks": checks,
    }


def tls_config(
    load_files: list[dict[str, Any]], acme_names: list[str], settings: Settings
) -> dict[str, Any]:
    """The TLS app: the operator's certificates, and an ACME policy for the rest."""
    found: dict[str, Any] = {}
    if load_files:
        found["certificates"] = {"load_files": load_files}
    if acme_names:
        issuer: dict[str, Any] = {
            "module": "acme",
            "ca": settings.get("router.acme_ca"),
            "email": settings.get("router.acme_email"),
            # HTTP-01 on router.http_port: the one challenge every set-up can answer.
            "challenges": {"tls-alpn": {"disabled": True}},
        }
        root = settings.get("router.acme_ca_root")
        if root:
            issuer["trusted_roots_pem_files"] = [root]
        found["automation"] = {"policies": [{"subjects": acme_names, "issuers": [issuer]}]}
    return found
