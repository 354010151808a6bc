"""Unit tests of the caddy plugin's rendering and of the core's domain rules
(one function each, no Caddy: the end-to-end tests are test_router*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nap_caddy.config import render
from nap_core.config import Settings
from nap_core.errors import NapError
from nap_core.model import Check
from nap_core.names import check_domain
from nap_core.route import CertificateRef, Route, Upstream


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.load({"NAP_HOME": str(tmp_path), "NAP_ROUTER_HTTP_PORT": "8080",
                          "NAP_ROUTER_HTTPS_PORT": "8443", **env})  # fmt: skip


def servers(config: dict) -> dict:  # type: ignore[type-arg]
    return config["apps"]["http"]["servers"]  # type: ignore[no-any-return]


def test_plain_apps_are_served_on_http_and_unknown_hosts_get_the_404_page(tmp_path: Path) -> None:
    route = Route("a", ("a.localhost", "www.a.test"), (Upstream("172.17.0.2", 8080),))

    config = render((route,), settings(tmp_path), "unix//s", "/d")

    assert set(servers(config)) == {"http"}
    [app, last] = servers(config)["http"]["routes"]
    assert app["match"] == [{"host": ["a.localhost", "www.a.test"]}]
    assert app["handle"][0]["upstreams"] == [{"dial": "172.17.0.2:8080"}]
    assert "match" not in last and last["handle"][0]["status_code"] == 404
    assert servers(config)["http"]["listen"] == [":8080"]
    assert "tls" not in config["apps"]


def test_a_certificate_moves_its_domains_to_https_and_redirects_http(tmp_path: Path) -> None:
    cert = CertificateRef(Path("/c.crt"), Path("/c.key"), ("a.localhost",))
    route = Route("a", ("a.localhost", "www.a.test"), (Upstream("10.0.0.1", 80),), cert)

    config = render((route,), settings(tmp_path), "unix//s", "/d")

    plain = servers(config)["http"]["routes"]
    assert plain[0]["match"] == [{"host": ["www.a.test"]}]  # not covered: plain HTTP
    assert plain[1]["handle"][0]["status_code"] == 308
    assert plain[1]["handle"][0]["headers"]["Location"] == [
        "https://{http.request.host}:8443{http.request.uri}"
    ]
    https = servers(config)["https"]
    assert https["routes"][0]["match"] == [{"host": ["a.localhost"]}]
    assert https["automatic_https"]["skip_certificates"] == ["a.localhost"]
    loaded = config["apps"]["tls"]["certificates"]["load_files"]
    assert loaded == [{"certificate": "/c.crt", "key": "/c.key"}]


def test_acme_gets_a_policy_with_the_issuer_settings(tmp_path: Path) -> None:
    route = Route("a", ("a.example.com",), (Upstream("10.0.0.1", 80),), acme=True,
                  https_redirect=False)  # fmt: skip
    env = {"NAP_ROUTER_ACME_EMAIL": "ops@example.com", "NAP_ROUTER_ACME_CA": "https://ca/dir",
           "NAP_ROUTER_ACME_CA_ROOT": "/root.pem"}  # fmt: skip

    config = render((route,), settings(tmp_path, **env), "unix//s", "/d")

    [policy] = config["apps"]["tls"]["automation"]["policies"]
    assert policy["subjects"] == ["a.example.com"]
    [issuer] = policy["issuers"]
    assert issuer["ca"] == "https://ca/dir" and issuer["email"] == "ops@example.com"
    assert issuer["trusted_roots_pem_files"] == ["/root.pem"]
    # No redirect: HTTP serves the app too.
    assert servers(config)["http"]["routes"][0]["handle"][0]["handler"] == "reverse_proxy"


def test_active_health_checks_use_the_apps_first_check_only_if_its_path_is_plain(
    tmp_path: Path,
) -> None:
    up = (Upstream("10.0.0.1", 80),)
    good = Route("a", ("a.localhost",), up, health_check=Check("/healthz", "ok (v1)"))
    odd = Route("b", ("b.localhost",), up, health_check=Check("/{http.request.host}"))

    config = render((good, odd), settings(tmp_path), "unix//s", "/d")

    [a, b, _] = servers(config)["http"]["routes"]
    active = a["handle"][0]["health_checks"]["active"]
    assert active["uri"] == "/healthz" and active["expect_body"] == r"ok\ \(v1\)"
    assert "active" not in b["handle"][0]["health_checks"]


def test_an_app_without_instances_answers_503(tmp_path: Path) -> None:
    config = render((Route("a", ("a.localhost",), ()),), settings(tmp_path), "unix//s", "/d")

    assert servers(config)["http"]["routes"][0]["handle"][0]["status_code"] == 503


@pytest.mark.parametrize(
    "domain",
    ["www.example.com", "a.b", "xn--bcher-kva.example", "a-1.example.io", "x" * 63 + ".com"],
)
def test_valid_domains(domain: str) -> None:
    assert check_domain(domain) == domain


@pytest.mark.parametrize(
    "domain",
    ["localhost", "Example.com", "*.example.com", "10.0.0.1", "a..b", "-a.com", "a-.com",
     "a.com.", "a.com:80", "a b.com", "a.com\n", "ex_ample.com", "x" * 64 + ".com",
     ("a" * 60 + ".") * 5 + "com", "a.123", ""],
)  # fmt: skip
def test_invalid_domains_are_refused(domain: str) -> None:
    with pytest.raises(NapError, match="invalid domain"):
        check_domain(domain)


def test_acme_leaves_localhost_names_on_plain_http(tmp_path: Path) -> None:
    route = Route("a", ("a.localhost", "shop.example.com"), (Upstream("10.0.0.1", 80),), acme=True)

    assert route.tls_domains() == ("shop.example.com",)
    config = render((route,), settings(tmp_path, NAP_ROUTER_ACME_EMAIL="ops@example.com"),
                    "unix//s", "/d")  # fmt: skip
    assert servers(config)["http"]["routes"][0]["match"] == [{"host": ["a.localhost"]}]
    [policy] = config["apps"]["tls"]["automation"]["policies"]
    assert policy["subjects"] == ["shop.example.com"]
