"""Certificate checks shared by the XML-DSig verifiers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from conformance.pki import TestPki
from conformance.pki.checks import (
    certificate_from_text,
    dn_equal,
    is_signature_certificate,
    lenient_validity,
    trust_problem,
    validity_problem,
)


@pytest.mark.parametrize("left,right,equal", [
    ("CN=a,O=TEST,C=FR", "cn=A, o=test, c=FR", True),
    ("CN=a,O=TEST,C=FR", "C=FR,O=TEST,CN=a", True),  # reversed RDN order (LDAP vs X.500 display)
    ("/C=FR/O=TEST/CN=a", "CN=a,O=TEST,C=FR", True),  # OpenSSL syntax (the INSi example)
    ("CN=a+2.5.4.4=#14045452414c,C=FR", "SN=TRAL+CN=a,C=FR", True),  # multi-valued RDN, hex BER value
    ("CN=a\\,b,C=FR", "CN=a\\,b,C=FR", True),
    ("CN=a,O=TEST,C=FR", "CN=b,O=TEST,C=FR", False),
    ("CN=a,O=TEST,C=FR", "CN=a,O=TEST", False),
])
def test_dn_equal(left: str, right: str, equal: bool) -> None:
    assert dn_equal(left, right) is equal


def test_trust_and_validity() -> None:
    pki, rogue = TestPki.generate(), TestPki.generate("rogue")
    assert trust_problem(pki.structure.cert, pki.trust) is None
    assert trust_problem(pki.structure.cert, [pki.structure.cert]) is None  # a pinned signer
    assert "does not chain to any of the 1" in (trust_problem(rogue.structure.cert, pki.trust) or "")
    assert "no trust store is configured" in (trust_problem(pki.structure.cert, []) or "")
    cert = pki.structure.cert
    assert validity_problem(cert, cert.not_valid_before_utc + dt.timedelta(days=1), "now") is None
    assert "expired" in (validity_problem(cert, cert.not_valid_after_utc + dt.timedelta(days=1), "now") or "")
    assert "not yet valid" in (validity_problem(cert, cert.not_valid_before_utc - dt.timedelta(days=1), "x") or "")
    assert is_signature_certificate(cert) and not is_signature_certificate(pki.ps_authentication.cert)


def _certificate_text(path: Path) -> str:
    match = re.search(r"<X509Certificate>([^<]+)</X509Certificate>", path.read_text(encoding="latin-1"))
    assert match
    return match.group(1)


@pytest.mark.official
def test_official_certificates(dmp_lps_package: Path) -> None:
    tokens = dmp_lps_package / "examples" / "Exemples_Jeton_VIHF"
    refused = _certificate_text(tokens / "VIHF_DIRECTE_signe.xml")
    with pytest.raises(ValueError):
        certificate_from_text(refused)  # unsorted SET in the subject: strict DER refuses it
    assert lenient_validity(refused) == (dt.datetime(2016, 2, 1, 0, 0, 1, tzinfo=dt.UTC),
                                         dt.datetime(2020, 3, 31, 21, 59, 59, tzinfo=dt.UTC))
    xades = certificate_from_text(_certificate_text(dmp_lps_package / "examples" / "TD2.1-SignatureXades.xml"))
    assert lenient_validity(_certificate_text(dmp_lps_package / "examples" / "TD2.1-SignatureXades.xml")) == (
        xades.not_valid_before_utc, xades.not_valid_after_utc)
    # the Issuer of the TD0.5 request's VIHF (hex BER values) names the XAdES example's signer, Dr MAX LIBRE
    issuer = "2.5.4.42=#0c034d4158+2.5.4.4=#0c054c49425245+CN=899900063480,2.5.4.12=#0c084dc3a9646563696e,C=FR"
    assert dn_equal(issuer, xades.subject.rfc4514_string())
    assert lenient_validity("not base64 at all") is None


def test_chains_through_intermediates() -> None:
    pki = TestPki.generate()
    intermediate = pki.issue_ca("TEST AC ELEMENTAIRE ORGANISATIONS")
    leaf = pki.issue("ORG SIGN CHAINED", issuer=intermediate).cert
    assert trust_problem(leaf, pki.trust) is not None  # the root alone cannot link the leaf
    assert trust_problem(leaf, pki.trust, [intermediate.cert]) is None  # the signer sent its intermediate
    assert trust_problem(leaf, [intermediate.cert]) is None  # or the intermediate is itself trusted
    # an end-entity certificate cannot act as an intermediate
    fake = pki.issue("NOT A CA", issuer=pki.structure).cert
    assert trust_problem(fake, pki.trust, [pki.structure.cert]) is not None
