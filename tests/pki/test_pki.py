"""The run-time test PKI: shapes of the certificates, caching, PEM output."""

from __future__ import annotations

import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from conformance.pki import TestPki, load_certificates


def _usage(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


def test_certificates_have_the_expected_usages() -> None:
    pki = TestPki.generate()
    for signer in (pki.structure, pki.ps_signature):
        assert _usage(signer.cert).digital_signature and _usage(signer.cert).content_commitment
        signer.cert.verify_directly_issued_by(pki.ca.cert)
    auth = pki.ps_authentication.cert
    assert not _usage(auth).digital_signature and not _usage(auth).content_commitment
    assert auth.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    assert pki.ps_authentication.cert.subject == pki.ps_signature.cert.subject  # same person, two keys
    san = pki.tls_server.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert ExtendedKeyUsageOID.CLIENT_AUTH in pki.tls_client.cert.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    assert pki.ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_generation_is_cached_per_name() -> None:
    first = TestPki.generate()
    start = time.perf_counter()
    assert TestPki.generate() is first
    assert time.perf_counter() - start < 0.01
    assert TestPki.generate("rogue").ca.cert != first.ca.cert  # another name: an independent CA


def test_write_pem_files(tmp_path: Path) -> None:
    pki = TestPki.generate()
    paths = pki.write(tmp_path / "pki")
    assert load_certificates(paths["ca.crt"].read_bytes()) == [pki.ca.cert]
    assert paths["tls_server.key"].read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert paths["tls_server.key"].stat().st_mode & 0o777 == 0o600
    der = pki.ca.cert.public_bytes(Encoding.DER)
    assert load_certificates(der) == [pki.ca.cert]
