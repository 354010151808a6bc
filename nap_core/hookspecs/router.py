"""The router's hooks: the whole routing table in, whether the router runs out.

One router is active, chosen by ``router`` (``none``: no router). The core owns
the routing table (nap.db: domains, certificate references, the current
release's web placements) and hands the router the whole of it on every
change; the router keeps no state of its own that a restart could lose, and
never opens nap.db.
"""

from __future__ import annotations

import pluggy

from nap_core.config import Settings
from nap_core.route import Route, RouterStatus

hookspec = pluggy.HookspecMarker("nap")


@hookspec
def apply_routes(routes: tuple[Route, ...], settings: Settings) -> None:
    """Make the router serve exactly ``routes``, starting it if it is not running.
    Called on every change of the table: a release becoming current, a domain or
    certificate added or removed, an app destroyed, the router found dead.
    Applying the same table twice must be harmless.

    :param routes: the WHOLE routing table, one ``Route`` per app that has a
        current release: ``app``; ``domains`` (its default address
        ``APP.<router.domain>`` first, then its custom domains); ``upstreams``
        (every web placement, ``Upstream(host, port)``; ``.dial`` is
        ``HOST:PORT``); ``certificate`` (a ``CertificateRef``: the operator's
        certificate and key files under ``NAP_HOME/router/certs/APP/`` and the
        names they cover, or ``None``); ``acme`` (obtain certificates over ACME
        for the domains no operator certificate covers); ``https_redirect``;
        ``health_check`` (the release's first ``CHECKS`` line, for active health
        checks, or ``None``). ``route.tls_domains()`` are the domains served over
        HTTPS. A host that no route names gets nap's 404 page.
    :param settings: the configuration in force (``router.*``: ports, domain,
        ACME settings).
    :return: nothing. Raise ``RouterUnavailable`` when the router cannot be
        started or reached: the core says what to run (``nap router reload``),
        and the deploy that asked still succeeds.
    :bundled: ``caddy`` renders one whole JSON configuration and loads it with
        ``POST /load`` on Caddy's admin API, starting Caddy (in its own session)
        with it when it is not running.

    Example::

        @hookimpl
        def apply_routes(routes, settings):
            write_config({r.app: [u.dial for u in r.upstreams] for r in routes})
            reload_proxy()
    """


@hookspec(firstresult=True)
def router_status(settings: Settings) -> RouterStatus | None:
    """Say whether the router runs, without starting it. Called before every
    ``nap`` command (not on a push's own path), so it must be cheap: a pid
    check, not a request.

    :param settings: the configuration in force.
    :return: a ``RouterStatus(running, detail)``; ``running`` false makes the
        core apply the whole table again, which starts the router.
    :none: this plugin is not a router.
    :bundled: ``caddy`` checks its pid file (a live process, not a zombie,
        running this NAP_HOME's configuration).

    Example::

        @hookimpl
        def router_status(settings):
            return RouterStatus(running=pid_alive(), detail="see /var/log/proxy.log")
    """
