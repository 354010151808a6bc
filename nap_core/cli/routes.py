"""The router's commands: ``nap domains``, ``nap certs``, ``nap router``, and the
internal ``nap drain``.

Domains and certificate references are the core's state (nap.db), whichever
router serves them; each change hands the router the whole table again.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from nap_core.cli.session import Session, json_option, pass_session, print_json
from nap_core.errors import NapError


def _apply(session: Session, state: Any, app: Any) -> None:
    """Hand the router the table after a change to ``app``; print the app's URLs."""
    from nap_core import routing

    if not routing.enabled(session.settings):
        click.echo("note: router = none: the change applies once a router is on", err=True)
        return
    for url in routing.update(state, app, session.settings, session.pm, session.operations.output):
        click.echo(url)


@click.group()
def domains() -> None:
    """An app's custom domains (beside its default APP.<router.domain>)."""


@domains.command("add")
@click.argument("app")
@click.argument("domain")
@pass_session
def domains_add(session: Session, app: str, domain: str) -> None:
    """Serve APP at DOMAIN too."""
    from nap_core.domains import add_domain

    with session.operations.app(app) as (state, found):
        add_domain(state, found, domain, session.settings)
        click.echo(f"added {domain} to {app}", err=True)
        _apply(session, state, found)


@domains.command("remove")
@click.argument("app")
@click.argument("domain")
@pass_session
def domains_remove(session: Session, app: str, domain: str) -> None:
    """Stop serving APP at DOMAIN."""
    from nap_core.domains import remove_domain

    with session.operations.app(app) as (state, found):
        remove_domain(state, found, domain)
        click.echo(f"removed {domain} from {app}", err=True)
        _apply(session, state, found)


@domains.command("list")
@click.argument("app")
@json_option
@pass_session
def domains_list(session: Session, app: str, as_json: bool) -> None:
    """APP's domains, its default address first."""
    from nap_core.domains import app_domains

    with session.operations.app(app) as (state, found):
        names = app_domains(state, found, session.settings)
    if as_json:
        print_json(list(names))
        return
    for name in names:
        click.echo(name)


@click.group()
def certs() -> None:
    """Operator certificates (without one, `router.acme_email` gets them over ACME)."""


@certs.command("add")
@click.argument("app")
@click.argument("cert", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("key", type=click.Path(dir_okay=False, path_type=Path))
@pass_session
def certs_add(session: Session, app: str, cert: Path, key: Path) -> None:
    """Serve APP over HTTPS with the PEM certificate (chain) CERT and its private KEY."""
    from nap_core.certs import MAX_PEM
    from nap_core.domains import install_certificate

    data = []
    for path in (cert, key):
        try:
            with path.open("rb") as file:
                data.append(file.read(MAX_PEM + 1))
        except OSError as exc:
            raise NapError(f"cannot read {path}: {exc.strerror}") from None
    with session.operations.app(app) as (state, found):
        ref = install_certificate(state, found, session.settings, data[0], data[1])
        click.echo(f"installed a certificate for {', '.join(ref.names)} on {app}", err=True)
        _apply(session, state, found)


@certs.command("remove")
@click.argument("app")
@pass_session
def certs_remove(session: Session, app: str) -> None:
    """Remove APP's operator certificate."""
    from nap_core.domains import remove_certificate

    with session.operations.app(app) as (state, found):
        remove_certificate(state, found)
        click.echo(f"removed the certificate of {app}", err=True)
        _apply(session, state, found)


@click.group()
def router() -> None:
    """The router in front of the apps."""


@router.command("status")
@pass_session
def router_status(session: Session) -> None:
    """Whether the router runs (exit status 1 if not)."""
    status = session.pm.hook.router_status(settings=session.settings)
    if status is None:
        raise NapError(f"no router is active (router = {session.settings.router})")
    click.echo(status.detail)
    if not status.running:
        sys.exit(1)


@router.command("reload")
@pass_session
def router_reload(session: Session) -> None:
    """Start the router if needed and give it every route again."""
    from nap_core import routing
    from nap_core.state import State

    if not routing.enabled(session.settings):
        raise NapError("router = none: there is no router to reload")
    with State(session.settings.home) as state:
        table = routing.apply(state, session.settings, session.pm)
    click.echo(f"the router serves {len(table)} app(s)", err=True)


@click.command(hidden=True)
@click.argument("app")
@click.argument("number", type=int)
@pass_session
def drain(session: Session, app: str, number: int) -> None:
    """Retire what APP's release NUMBER replaced, router.drain seconds from now
    (nap starts this itself, in the background, after a switch)."""
    import time

    from nap_core import drain as draining
    from nap_core.model import App

    output = session.operations.output
    output.step(f"{time.strftime('%H:%M:%S')} {app}: release {number} is current; draining")
    draining.run(session.settings, session.pm, App(app), number, output)
    output.line(f"{time.strftime('%H:%M:%S')} done")


COMMANDS = [domains, certs, router, drain]
