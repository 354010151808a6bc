"""The router's values: the routing table the core hands the router, whole.

Built by :mod:`nap_core.routing` from nap.db; the router plugin gets these and
never opens nap.db.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from nap_core.checks import Check


@attrs.frozen
class Upstream:
    """One address the router forwards an app's requests to: a web placement."""

    host: str
    port: int

    @property
    def dial(self) -> str:
        """``HOST:PORT`` (``[HOST]:PORT`` for IPv6), as a proxy dials it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@attrs.frozen
class CertificateRef:
    """An operator's certificate for an app: files under ``NAP_HOME``, never their content.

    ``names`` are the DNS names the certificate covers (its subjectAltNames).
    """

    cert: Path
    key: Path
    names: tuple[str, ...] = ()
    not_after: float = 0.0

    def covers(self, domain: str) -> bool:
        """Whether the certificate is valid for ``domain`` (``*.`` covers one label)."""
        for name in self.names:
            if name == domain:
                return True
            if name.startswith("*.") and domain.partition(".")[2] == name[2:]:
                return True
        return False


@attrs.frozen
class Route:
    """How the router serves one app: the whole truth for that app, every time.

    :ivar app: the app's name.
    :ivar domains: every host name the app answers to, its default address first.
    :ivar upstreams: every web placement of the app's current release.
    :ivar certificate: the operator's certificate, if one was added.
    :ivar acme: obtain certificates over ACME for the domains no operator
        certificate covers.
    :ivar https_redirect: answer plain HTTP with a redirect to HTTPS for the
        domains that have a certificate.
    :ivar health_check: the first check of the release's ``CHECKS``, for the
        router to probe its upstreams with (active health checks), if it has one.
    """

    app: str
    domains: tuple[str, ...]
    upstreams: tuple[Upstream, ...]
    certificate: CertificateRef | None = None
    acme: bool = False
    https_redirect: bool = True
    health_check: Check | None = None

    def tls_domains(self) -> tuple[str, ...]:
        """The domains served over HTTPS: covered by the certificate, or by ACME (which
        no CA does for ``.localhost`` names, RFC 6761: those stay plain HTTP)."""
        cert = self.certificate
        if cert is None and not self.acme:
            return ()  # most apps: no need to look at each domain
        return tuple(
            d
            for d in self.domains
            if (cert is not None and cert.covers(d)) or (self.acme and not _local(d))
        )


def _local(domain: str) -> bool:
    return domain == "localhost" or domain.endswith(".localhost")


@attrs.frozen
class RouterStatus:
    """What the router says of itself: whether it runs, and where to look if not."""

    running: bool
    detail: str = ""
