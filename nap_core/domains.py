"""Apps' custom domains and operator certificates, kept in nap.db.

A domain belongs to one app. Each app's default address, ``APP.<router.domain>``,
is implied and never stored; the one-label names under ``router.domain`` are
reserved for those addresses. Certificates are files under
``NAP_HOME/router/certs/APP/``; nap.db keeps only references to them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import App
from nap_core.names import DOMAIN, LABEL, check_domain
from nap_core.route import CertificateRef
from nap_core.state import State


def router_domain(settings: Settings) -> str:
    """The domain every app's default address is under (``router.domain``).

    One label is allowed here (``localhost``, the default: RFC 6761 makes every
    ``*.localhost`` name resolve to loopback without any DNS set-up).
    """
    value = settings.get("router.domain") or "localhost"
    if not (DOMAIN.fullmatch(value) or LABEL.fullmatch(value)):
        raise NapError(f"router.domain {value[:80]!r} is not a host name such as apps.example.com")
    return value


def default_domain(app: str, settings: Settings) -> str:
    """The app's default address: ``APP.<router.domain>``."""
    return f"{app}.{router_domain(settings)}"


def app_domains(state: State, app: App, settings: Settings) -> tuple[str, ...]:
    """Every host name the app answers to: its default address first, then its custom domains."""
    rows = state.db.execute("SELECT domain FROM domains WHERE app = ? ORDER BY domain", (app.name,))
    return (default_domain(app.name, settings), *(row[0] for row in rows))


def add_domain(state: State, app: App, domain: str, settings: Settings) -> None:
    """Give ``domain`` to the app; refuse one that another app owns or that is reserved."""
    check_domain(domain)
    base = router_domain(settings)
    if domain.endswith("." + base) and "." not in domain[: -len(base) - 1]:
        raise NapError(
            f"{domain} is the default address of an app named {domain[: -len(base) - 1]}: "
            f"names directly under {base} are reserved for apps"
        )
    with state.transaction() as db:
        row = db.execute("SELECT app FROM domains WHERE domain = ?", (domain,)).fetchone()
        if row is not None:
            if row[0] == app.name:
                raise NapError(f"{app.name} already has the domain {domain}")
            raise NapError(f"{domain} belongs to the app {row[0]}: remove it there first")
        db.execute(
            "INSERT INTO domains (domain, app, added) VALUES (?, ?, ?)",
            (domain, app.name, time.time()),
        )


def remove_domain(state: State, app: App, domain: str) -> None:
    """Take ``domain`` away from the app."""
    check_domain(domain)
    with state.transaction() as db:
        done = db.execute("DELETE FROM domains WHERE domain = ? AND app = ?", (domain, app.name))
        if done.rowcount == 0:
            raise NapError(f"{app.name} has no domain {domain}: `nap domains list {app.name}`")


def certificate(state: State, app: App) -> CertificateRef | None:
    """The operator certificate of the app, if one was added."""
    row = state.db.execute(
        "SELECT cert, key, names, not_after FROM certificates WHERE app = ?", (app.name,)
    ).fetchone()
    if row is None:
        return None
    return CertificateRef(Path(row[0]), Path(row[1]), tuple(json.loads(row[2])), float(row[3]))


def cert_dir(settings: Settings, app: App) -> Path:
    """Where an app's certificate and private key are kept."""
    return settings.home / "router" / "certs" / app.name


def install_certificate(
    state: State, app: App, settings: Settings, cert_pem: bytes, key_pem: bytes
) -> CertificateRef:
    """Check the certificate against its key and the app's domains, then store both.

    The key is written with mode 0600 in a 0700 directory, the reference in nap.db.
    Nothing is changed when a check fails.
    """
    from nap_core.certs import check_pair

    names, not_after = check_pair(cert_pem, key_pem)
    ref = CertificateRef(Path(), Path(), names, not_after)
    missing = [d for d in app_domains(state, app, settings) if not ref.covers(d)]
    if missing:
        raise NapError(
            f"the certificate does not cover {', '.join(missing)} "
            f"(it names {', '.join(names) or 'no host'})"
        )
    directory = cert_dir(settings, app)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory.parent, 0o700)
    os.chmod(directory, 0o700)
    stamp = str(time.time_ns())  # new files: Caddy may read the old ones meanwhile
    cert_path, key_path = directory / f"{stamp}.crt", directory / f"{stamp}.key"
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert_pem)
    ref = CertificateRef(cert_path, key_path, names, not_after)
    old = certificate(state, app)
    with state.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO certificates (app, cert, key, names, not_after, added)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (app.name, str(cert_path), str(key_path), json.dumps(names), not_after, time.time()),
        )
    if old is not None:
        _remove_files(old)
    return ref


def remove_certificate(state: State, app: App) -> None:
    """Forget the app's certificate and delete its files."""
    old = certificate(state, app)
    if old is None:
        raise NapError(f"{app.name} has no certificate")
    with state.transaction() as db:
        db.execute("DELETE FROM certificates WHERE app = ?", (app.name,))
    _remove_files(old)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _remove_files(ref: CertificateRef) -> None:
    for path in (ref.cert, ref.key):
        path.unlink(missing_ok=True)
