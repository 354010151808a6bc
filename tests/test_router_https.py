"""HTTPS at the router: an operator's certificate (made by openssl here), and
certificates over ACME from a real ACME server on loopback (Debian's pebble,
with pebble-challtestsrv answering every name with 127.0.0.1).
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

from conftest import SampleApp
from routerlab import Pebble, RouterHome, get, self_signed


def curl(
    url: str, cacert: Path, host: str, port: int, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", "--cacert", str(cacert),
         "--resolve", f"{host}:{port}:127.0.0.1", *extra, url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_operator_certificate_serves_https_and_http_redirects(
    router: RouterHome, sample_app: SampleApp, rapp: str, tmp_path: Path
) -> None:
    nap = router.nap
    nap("deploy", rapp, str(sample_app.path), check=True)
    host = f"{rapp}.localhost"
    cert, key = self_signed(tmp_path, host)

    added = nap("certs", "add", rapp, str(cert), str(key), check=True)

    assert added.stdout.split() == [f"https://{host}:{router.https_port}"]
    url = f"https://{host}:{router.https_port}/"
    answer = curl(url, cert, host, router.https_port)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == "hello 1"
    status, _ = get(router.http_port, host)
    assert status == 308
    redirected = curl(f"http://{host}:{router.http_port}/", cert, host, router.https_port, "-L")
    assert redirected.stdout == "hello 1", redirected.stderr
    [stored_key] = (router.home / "router" / "certs" / rapp).glob("*.key")
    assert stat.S_IMODE(stored_key.stat().st_mode) == 0o600
    # The push names the HTTPS address first.
    sample_app.serve("hello 2")
    record = json.loads(nap("deploy", rapp, str(sample_app.path), "--json", check=True).stdout)
    assert record["urls"] == [f"https://{host}:{router.https_port}"]
    assert curl(url, cert, host, router.https_port).stdout == "hello 2"
    # https_redirect = false serves plain HTTP too.
    nap("router", "reload", check=True, NAP_ROUTER_HTTPS_REDIRECT="false")
    assert get(router.http_port, host) == (200, "hello 2")


def test_a_certificate_that_does_not_fit_is_refused_and_nothing_changes(
    router: RouterHome, sample_app: SampleApp, rapp: str, tmp_path: Path
) -> None:
    nap = router.nap
    nap("deploy", rapp, str(sample_app.path), check=True)
    host = f"{rapp}.localhost"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cert, key = self_signed(tmp_path / "a", host)
    _, other_key = self_signed(tmp_path / "b", host)
    wrong_cert, wrong_cert_key = self_signed(tmp_path, "elsewhere.example.test")

    for args, says in [
        ((cert, other_key), "does not match the private key"),
        ((wrong_cert, wrong_cert_key), f"does not cover {host}"),
        ((key, key), "no PEM certificate"),
        ((cert, cert), "no unencrypted PEM private key"),
        ((tmp_path / "missing.pem", key), "cannot read"),
    ]:
        refused = nap("certs", "add", rapp, *map(str, args))
        assert refused.returncode != 0
        assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1, says
        assert says in refused.stderr
    assert not (router.home / "router" / "certs" / rapp).exists() or not list(
        (router.home / "router" / "certs" / rapp).iterdir()
    )
    assert get(router.http_port, host) == (200, "hello 1")


def test_acme_certificates_from_pebble_serve_https(
    router: RouterHome, sample_app: SampleApp, rapp: str
) -> None:
    pebble = Pebble(http_port=router.http_port)
    pebble.start()
    try:
        env = {
            "NAP_ROUTER_DOMAIN": "nap.test",
            "NAP_ROUTER_ACME_EMAIL": "ops@nap.test",
            "NAP_ROUTER_ACME_CA": pebble.directory,
            "NAP_ROUTER_ACME_CA_ROOT": str(pebble.tls_root),
        }
        router.nap.env.update(env)
        record = router.nap.deploy_json(rapp, sample_app.path)
        host = f"{rapp}.nap.test"
        assert record["urls"] == [f"https://{host}:{router.https_port}"]
        root = pebble.issuing_root()

        url = f"https://{host}:{router.https_port}/"
        answer = curl(
            url,
            root,
            host,
            router.https_port,
            "--retry",
            "60",
            "--retry-delay",
            "1",
            "--retry-all-errors",
        )

        assert answer.returncode == 0, f"{answer.stderr}\n{caddy_log(router)}"
        assert answer.stdout == "hello 1"
        assert get(router.http_port, host)[0] == 308
    finally:
        pebble.stop()


def caddy_log(router: RouterHome) -> str:
    path = router.home / "router" / "caddy" / "caddy.log"
    return path.read_text()[-3000:] if path.exists() else ""
