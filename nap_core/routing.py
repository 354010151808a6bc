"""The routing table, built from nap.db and handed whole to the router.

Every change (a release becoming current, a domain or certificate added or
removed, an app destroyed) renders the whole table again and calls the
``apply_routes`` hook, so the router never holds state that nap.db does not.
A router that cannot be updated never fails a deploy: the instances run, and
the user is told what to run once the router is fixed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs

from nap_core.checks import Check
from nap_core.config import Settings
from nap_core.domains import router_domain
from nap_core.errors import NapError, RouterUnavailable
from nap_core.locks import take
from nap_core.model import Action, App, Instance, Placement, Release
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.route import CertificateRef, Route, Upstream
from nap_core.state import State

#: What to run once the router is fixed.
RELOAD = "nap router reload"


def enabled(settings: Settings) -> bool:
    """Whether a router is configured (``router`` is not ``none``)."""
    return settings.router != "none"


def routes(state: State, settings: Settings, only: str | None = None) -> tuple[Route, ...]:
    """The whole routing table: one route per app that has a current release
    (with ``only``, that app's route alone, if it has one).

    Three queries whatever the number of apps (not three per app): with
    thousands of apps in nap.db this runs on every change. A stopped app
    (``nap stop``) gets a route without upstreams: the router answers 503.
    """
    acme = bool(settings.get("router.acme_email"))
    redirect = settings.flag("router.https_redirect")
    domains: dict[str, list[str]] = {}
    for app, domain in state.db.execute(
        "SELECT app, domain FROM domains WHERE ?1 IS NULL OR app = ?1 ORDER BY domain", (only,)
    ):
        domains.setdefault(app, []).append(domain)
    certificates = {
        row[0]: CertificateRef(Path(row[1]), Path(row[2]), tuple(json.loads(row[3])), row[4])
        for row in state.db.execute(
            "SELECT app, cert, key, names, not_after FROM certificates"
            " WHERE ?1 IS NULL OR app = ?1",
            (only,),
        )
    }
    # A stopped app's placements and checks are not even read (NULL): it gets no
    # upstream. Most of 10,000 recorded apps are stopped, so that row costs no JSON.
    current = state.db.execute(
        "SELECT a.name, CASE WHEN a.stopped THEN NULL ELSE r.placements END,"
        " CASE WHEN a.stopped THEN NULL ELSE json_extract(r.checks, '$.checks[0]') END"
        " FROM apps a JOIN releases r ON r.app = a.name AND r.number = a.current"
        " WHERE ?1 IS NULL OR a.name = ?1 ORDER BY a.name",
        (only,),
    ).fetchall()
    under = "." + router_domain(settings)
    return tuple(
        Route(
            app=name,
            domains=(name + under, *domains.get(name, ())),
            upstreams=_upstreams(placements) if placements else (),
            certificate=certificates.get(name),
            acme=acme,
            https_redirect=redirect,
            health_check=Check.from_list(json.loads(check)) if check else None,
        )
        for name, placements, check in current
    )


def _upstreams(placements: str) -> tuple[Upstream, ...]:
    """The distinct web addresses of a release's placements (JSON)."""
    webs = (p for p in json.loads(placements) if p.get("web", True))
    return tuple(dict.fromkeys(Upstream(p["host"], p["port"]) for p in webs))


def urls(route: Route, settings: Settings) -> tuple[str, ...]:
    """The addresses an app answers at: ``https://`` for its domains with a certificate."""
    http_port = int(settings.number("router.http_port"))
    https_port = int(settings.number("router.https_port"))
    secure = set(route.tls_domains())
    found = []
    for domain in route.domains:
        if domain in secure:
            found.append(f"https://{domain}" + ("" if https_port == 443 else f":{https_port}"))
        else:
            found.append(f"http://{domain}" + ("" if http_port == 80 else f":{http_port}"))
    return tuple(found)


def apply(state: State, settings: Settings, pm: PluginManager) -> tuple[Route, ...]:
    """Hand the whole table to the router, one writer at a time.

    :raise RouterUnavailable: the router could not be started or updated.
    """
    fd = take(settings.home / "locks" / "router.lock")
    try:
        table = routes(state, settings)
        pm.hook.apply_routes(routes=table, settings=settings)
        return table
    finally:
        os.close(fd)


def serve(
    state: State, release: Release, settings: Settings, pm: PluginManager, output: Output
) -> Release:
    """Route to ``release`` (now current): ``release`` with the app's stable URLs."""
    return attrs.evolve(release, urls=update(state, release.app, settings, pm, output))


def serve_again(
    state: State, running: Release, settings: Settings, pm: PluginManager, output: Output
) -> Release:
    """Store where the current release ``running`` (found running again: a redeploy
    with no change) answers now; ``running`` with the app's stable URLs.

    The router gets the table again only if the web placements moved: applying
    an unchanged table would cost as much as a change, for every app there is.
    """
    recorded = state.current(running.app)
    state.update_placements(running)
    if recorded is None or _webs(recorded) != _webs(running) or not enabled(settings):
        return serve(state, running, settings, pm, output)
    found = routes(state, settings, running.app.name)
    return attrs.evolve(running, urls=urls(found[0], settings) if found else ())


def _webs(release: Release) -> set[tuple[str, int]]:
    return {(p.host, p.port) for p in release.placements if p.web}


def update(
    state: State, app: App, settings: Settings, pm: PluginManager, output: Output
) -> tuple[str, ...]:
    """Apply the table after a change to ``app``; return the app's stable URLs.

    Never raises for a router that is down: the apps still run, so the change
    stands, and ``output`` says what to run once the router is fixed.
    """
    if not enabled(settings):
        return ()
    try:
        table = apply(state, settings, pm)
    except RouterUnavailable as exc:
        output.line(f"warning: the router could not be updated: {exc}")
        output.line(f"warning: the instances below serve; once it is fixed, run `{RELOAD}`")
        return ()
    return next((urls(route, settings) for route in table if route.app == app.name), ())


def after_control(
    state: State,
    release: Release,
    action: Action,
    instances: list[Instance],
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> None:
    """Route after ``nap stop|start|restart``: a stopped app answers 503 (its route
    has no upstream, so the router neither waits on nor retries a dead address);
    started again, it answers where its instances run now."""
    if not enabled(settings):
        return
    stopped = action is Action.STOP
    with state.transaction() as db:
        changed = db.execute(
            "UPDATE apps SET stopped = ? WHERE name = ? AND stopped != ?",
            (int(stopped), release.app.name, int(stopped)),
        ).rowcount
    moved = not stopped and follow_instances(state, release, instances)
    if changed or moved:
        update(state, release.app, settings, pm, output)


def follow_instances(state: State, release: Release, instances: list[Instance]) -> bool:
    """Store where a release's running instances answer now, if that moved; True if it did.

    Instances reached at their container address (behind the router) may get a
    new one when they are started again (``nap start``, an engine restart).
    """
    now = [
        Placement.http(i.name, i.host, i.port) for i in instances if i.state == "running" and i.url
    ]
    before = {(p.host, p.port) for p in release.placements if p.web}
    if not now or {(p.host, p.port) for p in now} == before:
        return False
    state.update_placements(attrs.evolve(release, placements=tuple(now)))
    return True


def _follow_every_app(state: State, settings: Settings, pm: PluginManager) -> None:
    # After a restart of the machine, containers may have come back on new addresses.
    # Stopped apps are not asked: nothing of theirs runs.
    for row in state.db.execute("SELECT name FROM apps WHERE stopped = 0 AND current IS NOT NULL"):
        release = state.current(App(row["name"]))
        if release is None or release.scheduler != settings.scheduler:
            continue
        try:
            found = pm.hook.instances(app=release.app, release=release, settings=settings)
        except NapError:
            continue  # the scheduler cannot say: keep what nap.db says
        if found:
            follow_instances(state, release, list(found))


def revive(settings: Settings) -> bool:
    """Start a router that died and give it every route again; True if it had to.

    Run before every ``nap`` command, so a router killed (or a machine
    restarted) comes back at the next command with the whole table.
    """
    if not enabled(settings):
        return False
    from nap_core.plugins import plugin_manager, router_manager

    status = router_manager(settings).hook.router_status(settings=settings)
    if status is None or status.running:
        return False
    pm = plugin_manager(settings.environ, settings=settings)
    state = State(settings.home)
    try:
        _follow_every_app(state, settings, pm)
        apply(state, settings, pm)
    finally:
        state.close()
    return True
