"""Checking an operator's certificate and private key (the ``cryptography`` package).

Imported only by ``nap certs add``: cryptography costs time to import.
"""

from __future__ import annotations

import time

from nap_core.errors import NapError

#: PEM files larger than this are refused before parsing.
MAX_PEM = 256 * 1024


def check_pair(cert_pem: bytes, key_pem: bytes) -> tuple[tuple[str, ...], float]:
    """Check that the first certificate of ``cert_pem`` matches ``key_pem`` and is valid now.

    :return: the DNS names the certificate covers and its expiry (a Unix time).
    :raise NapError: one line saying what is wrong.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if len(cert_pem) > MAX_PEM or len(key_pem) > MAX_PEM:
        raise NapError(f"certificate and key files must be under {MAX_PEM // 1024} KiB")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise NapError("the certificate file holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise NapError("the key file holds no unencrypted PEM private key") from None
    leaf = chain[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if leaf.public_key().public_bytes(encoding, public) != key.public_key().public_bytes(
        encoding, public
    ):
        raise NapError("the certificate does not match the private key")
    now = time.time()
    not_after = leaf.not_valid_after_utc.timestamp()
    if not_after < now:
        raise NapError(f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc.timestamp() > now:
        raise NapError(f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
    return names_of(leaf), not_after


def names_of(cert: object) -> tuple[str, ...]:
    """The DNS names of a certificate: its subjectAltNames, else its common name."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    assert isinstance(cert, x509.Certificate)
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = alt.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return tuple(sorted({name.lower() for name in names}))
