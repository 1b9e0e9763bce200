"""The XAdES signature document of TD2.1: built at run time it verifies; every defect is named."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.findings import Severity, rules
from conformance.pki import TestPki
from conformance.xades import MANIFEST_ID, build_signature_document, check_signature_document

DS = "{http://www.w3.org/2000/09/xmldsig#}"
SS = "1.2.250.1.999.1.1.7898.3.1"
DOCS = [("1.2.250.1.999.1.1.7898.4.1", b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>"),
        ("1.2.250.1.999.1.1.7898.4.2", b"%PDF-1.4 not really")]
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate()


def check(xml: bytes, pki: TestPki, documents: list[tuple[str, bytes]] = DOCS, **kwargs: object) -> set[str]:
    findings = check_signature_document(xml, documents, kwargs.pop("trust", pki.trust),  # type: ignore[arg-type]
                                        submission_set_unique_id=SS, now=NOW, **kwargs)  # type: ignore[arg-type]
    for finding in findings:
        assert finding.location and finding.hint and finding.message
    return {f.rule for f in findings}


def build(pki: TestPki, signer: str = "structure", **kwargs: object) -> bytes:
    key = getattr(pki, signer)
    # sign "now" as the checks see it: module-level NOW may be minutes old on a slow CI run
    kwargs.setdefault("signing_time", NOW)
    return build_signature_document(DOCS, SS, key.key, key.cert, **kwargs)  # type: ignore[arg-type]


def edit(xml: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root)


@pytest.mark.requirement("BENCH-XDS-SIGNATURE")
def test_built_document_verifies_and_covers_the_submission(pki: TestPki) -> None:
    xml = build(pki)
    assert check(xml, pki) == set()
    root = etree.fromstring(xml)
    uris = [r.get("URI") for r in root.iterfind(f"{DS}Object/{DS}Manifest/{DS}Reference")]
    assert uris == [f"urn:oid:{SS}"] + [f"urn:oid:{uid}" for uid, _ in DOCS]


def test_verifies_with_signxml_independently(pki: TestPki) -> None:
    from signxml import XMLVerifier
    from signxml.verifier import SignatureConfiguration

    results = XMLVerifier().verify(build(pki), x509_cert=pki.structure.cert,
                                   expect_config=SignatureConfiguration(expect_references=2))
    assert [r.signed_xml.get("Id") for r in results] == [MANIFEST_ID, "S0-SignedProperties"]


def _first_digest(root: etree._Element) -> etree._Element:
    return root.find(f"{DS}Object/{DS}Manifest/{DS}Reference/{DS}DigestValue")


def _forged_manifest_first(root: etree._Element) -> None:
    forged = etree.fromstring(etree.tostring(root.find(f"{DS}Object")))
    root.find(f"{DS}KeyInfo").addnext(forged)


def _bad_signature_value(root: etree._Element) -> None:
    value = root.find(f"{DS}SignatureValue")
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]


CASES: list[tuple[str, Callable[[TestPki], set[str]]]] = [
    ("BENCH-XADES-DOCUMENT-DIGEST", lambda p: check(build(p), p, [(DOCS[0][0], b"<changed/>"), DOCS[1]])),
    ("BENCH-XADES-COVERAGE", lambda p: check(build(p), p, [*DOCS, ("1.2.250.1.999.9", b"x")])),  # unsigned doc
    ("BENCH-XADES-COVERAGE", lambda p: check(build(p), p, DOCS[:1])),  # the manifest names an unknown document
    ("BENCH-XADES-COVERAGE", lambda p: check(build_signature_document(
        [*DOCS, DOCS[0]], SS, p.structure.key, p.structure.cert), p)),  # a document listed twice
    ("BENCH-XADES-SIGNATURE", lambda p: check(edit(build(p), lambda r: setattr(_first_digest(r), "text", "AQ==")), p)),
    ("BENCH-XADES-SIGNATURE", lambda p: check(edit(build(p), _bad_signature_value), p)),
    ("BENCH-XADES-CERT-UNTRUSTED", lambda p: check(build(p), p, trust=TestPki.generate("rogue").trust)),
    ("BENCH-XADES-CERT-USAGE", lambda p: check(build(p, "ps_authentication"), p)),
    ("BENCH-XADES-SHA1", lambda p: check(build(p, algorithm="rsa-sha1"), p)),
    ("BENCH-XADES-SIGNING-TIME", lambda p: check(build(p, signing_time=NOW + dt.timedelta(hours=1)), p)),
    ("BENCH-XADES-STRUCTURE", lambda p: check(b"<Signature/>", p)),
    ("BENCH-XADES-STRUCTURE", lambda p: check(edit(build(p), lambda r: r.set("Id", "_renamed")), p)),
    ("BENCH-XADES-WRAPPING", lambda p: check(edit(build(p), _forged_manifest_first), p)),
    ("BENCH-XADES-CERT-UNREADABLE", lambda p: check(edit(build(p), lambda r: setattr(
        r.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate"), "text", "MIIBAAAA")), p)),
]


@pytest.mark.parametrize("rule,make", [pytest.param(r, m, marks=pytest.mark.requirement(r), id=f"{r}-{i}")
                                       for i, (r, m) in enumerate(CASES)])
def test_defect_is_named(rule: str, make: Callable[[TestPki], set[str]], pki: TestPki) -> None:
    assert rule in make(pki)


def test_sha1_severity_follows_the_policy(pki: TestPki) -> None:
    xml = build(pki, algorithm="rsa-sha1")
    allowed = check_signature_document(xml, DOCS, pki.trust, submission_set_unique_id=SS, now=NOW)
    assert [(f.rule, f.severity) for f in allowed] == [("BENCH-XADES-SHA1", Severity.WARNING)]
    refused = check_signature_document(xml, DOCS, pki.trust, submission_set_unique_id=SS, now=NOW, allow_sha1=False)
    assert [(f.rule, f.severity) for f in refused] == [("BENCH-XADES-SHA1", Severity.ERROR)]


@pytest.mark.requirement("BENCH-XADES-CERT-VALIDITY", "BENCH-XADES-SIGNING-CERTIFICATE")
def test_expired_certificate_and_signing_certificate_mismatch(pki: TestPki) -> None:
    old = pki.issue("ORG SIGN OLD", not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=2))
    xml = build_signature_document(DOCS, SS, old.key, old.cert, signing_time=NOW - dt.timedelta(days=3))
    assert check(xml, pki) == {"BENCH-XADES-CERT-VALIDITY"}
    # KeyInfo now shows another certificate than the one XAdES SigningCertificate designates
    other = base64.b64encode(pki.structure.cert.public_bytes(Encoding.DER)).decode()
    swapped = edit(build(pki, "ps_signature"), lambda r: setattr(
        r.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate"), "text", other))
    assert {"BENCH-XADES-SIGNING-CERTIFICATE", "BENCH-XADES-SIGNATURE"} <= check(swapped, pki)


def test_every_xades_rule_has_a_failing_case() -> None:
    covered = {rule for rule, _ in CASES} | {"BENCH-XADES-CERT-VALIDITY", "BENCH-XADES-SIGNING-CERTIFICATE"}
    assert {r.id for r in rules.of_kind("xades")} == covered


@pytest.mark.parametrize("data", [b"", b"<unclosed", b"<a/>"])
def test_bad_input_is_a_finding(data: bytes, pki: TestPki) -> None:
    findings = check_signature_document(data, DOCS, pki.trust)
    assert findings and all(f.is_error for f in findings)


@pytest.mark.official
def test_official_example_defects(dmp_lps_package: Path) -> None:
    examples = dmp_lps_package / "examples"
    xml = (examples / "TD2.1-SignatureXades.xml").read_bytes()
    document = (examples / "TD2.1-DocumentME2.xml").read_bytes()
    later = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # against the uniqueIds the example itself references: SHA-1, expired untrusted certificate, namespace quirks,
    # a SignatureValue that does not verify and a document digest that does not match the shipped CDA
    own = check_signature_document(xml, [("1.2.250.1.999.1.1.7898.4.9956570902", document)], [],
                                   submission_set_unique_id="1.2.250.1.999.1.1.7898.3.9956570900", now=later)
    assert {f.rule for f in own} == {"BENCH-XADES-STRUCTURE", "BENCH-XADES-SIGNATURE", "BENCH-XADES-SHA1",
                                     "BENCH-XADES-CERT-UNTRUSTED", "BENCH-XADES-CERT-VALIDITY",
                                     "BENCH-XADES-DOCUMENT-DIGEST"}
    # against the TD2.1 request it travels with: its manifest names other uniqueIds
    request = check_signature_document(xml, [("1.2.250.1.999.1.1.7898.4.1622814651504", document)], [],
                                       submission_set_unique_id="1.2.250.1.999.1.1.7898.3.1622814651504", now=later)
    coverage = [f.message for f in request if f.rule == "BENCH-XADES-COVERAGE"]
    assert len(coverage) == 4


@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_random_corruption_never_crashes(data: st.DataObject) -> None:
    pki = TestPki.generate()
    raw = bytearray(build(pki))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    findings = check_signature_document(bytes(raw), DOCS, pki.trust, submission_set_unique_id=SS, now=NOW)
    assert not any("could not be evaluated" in f.message for f in findings)
