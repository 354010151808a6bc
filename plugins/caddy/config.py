"""The whole Caddy configuration (JSON), rendered from the routing table.

Two servers: ``http`` on ``router.http_port`` serves every app without a
certificate, redirects the others to HTTPS (unless ``router.https_redirect =
false``) and answers unknown hosts with nap's 404 page; ``https`` on
``router.https_port`` serves the domains that have a certificate (the
operator's, or one obtained over ACME). Nothing in it comes from a request:
domains were validated by the core, upstreams are placements.
"""

from __future__ import annotations

import json
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
    plain: list[dict[str, Any]] = []
    secure: list[dict[str, Any]] = []
    load_files: list[dict[str, Any]] = []
    operator_names: list[str] = []
    acme_names: list[str] = []
    for route in routes:
        tls = route.tls_domains()
        others = [domain for domain in route.domains if domain not in tls]
        handler = proxy(route, settings)
        if others:
            plain.append(host_route(others, handler))
        if not tls:
            continue
        secure.append(host_route(list(tls), handler))
        redirect = {
            "handler": "static_response",
            "status_code": 308,
            "headers": {
                "Location": [
                    f"https://{{http.request.host}}{port_suffix(https_port)}{{http.request.uri}}"
                ]
            },
        }
        plain.append(host_route(list(tls), redirect if route.https_redirect else handler))
        cert = route.certificate
        covered = [d for d in tls if cert is not None and cert.covers(d)]
        if cert is not None and covered:
            load_files.append({"certificate": str(cert.cert), "key": str(cert.key)})
            operator_names.extend(covered)
        acme_names.extend(d for d in tls if d not in covered)
    plain = merged(plain)
    secure = merged(secure)
    plain.append(not_found())
    servers: dict[str, Any] = {
        "http": {"listen": [f":{http_port}"], "routes": plain, "automatic_https": {"disable": True}}
    }
    if secure:
        servers["https"] = {
            "listen": [f":{https_port}"],
            "routes": [*secure, not_found()],
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


def merged(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One route per distinct handler, matching the hosts of every route that had it.

    Caddy provisions its whole configuration again on every change, at a cost that
    grows with the number of routes (not of host names: a long host list is one
    sorted lookup). Apps that answer the same way (stopped apps' 503, HTTPS
    redirects) then cost one route together. Host names are unique per app and
    routes are terminal, so which route comes first does not change any answer.
    """
    by_handler: dict[str, dict[str, Any]] = {}
    for route in routes:
        key = json.dumps(route["handle"], sort_keys=True)
        if key in by_handler:
            by_handler[key]["match"][0]["host"].extend(route["match"][0]["host"])
        else:
            by_handler[key] = {**route, "match": [{"host": list(route["match"][0]["host"])}]}
    return list(by_handler.values())


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
