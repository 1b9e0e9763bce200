"""Every ``vihf`` rule: silent on a valid signed token, and at least one case that makes it fire."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from lxml import etree

from conformance.findings import Severity, rules
from conformance.pki import CertifiedKey, TestPki
from conformance.vihf import (
    ROLE_GENERAL_PRACTICE,
    ROLE_MEDECIN,
    AuthMode,
    CodedValue,
    ReplayCache,
    VihfPolicy,
    build_vihf,
    verify_vihf,
)
from conformance.vihf.model import AUTH_MODE_KIT_SPELLING, DS_NS, SAML_NS, XSI_NS
from conformance.vihf.signature import sign_vihf

from .conftest import NOW
from .helpers import envelope

S = f"{{{SAML_NS}}}"
DS = f"{{{DS_NS}}}"
Mutator = Callable[[etree._Element], None]


def _attribute_value(assertion: etree._Element, name: str) -> etree._Element:
    found = assertion.find(f"{S}AttributeStatement/{S}Attribute[@Name='{name}']/{S}AttributeValue")
    assert found is not None
    return found


def duplicate_urn(assertion: etree._Element) -> None:
    attribute = _attribute_value(assertion, "Ressource_URN").getparent()
    attribute.addnext(etree.fromstring(etree.tostring(attribute)))


def untyped_lps_name(assertion: etree._Element) -> None:
    del _attribute_value(assertion, "LPS_Nom").attrib[f"{{{XSI_NS}}}type"]


def zone_less_instant(assertion: etree._Element) -> None:
    assertion.set("IssueInstant", NOW.strftime("%Y-%m-%dT%H:%M:%S"))


def offset_instant(assertion: etree._Element) -> None:
    assertion.set("IssueInstant", NOW.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat())


def inclusive_c14n(signed: etree._Element) -> None:
    method = signed.find(f"{DS}Signature/{DS}SignedInfo/{DS}CanonicalizationMethod")
    method.set("Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")


def signature_last(signed: etree._Element) -> None:
    """Moved after the AttributeStatement: still verifies (enveloped) but breaks the SAML schema order."""
    signed.append(signed.find(f"{DS}Signature"))


def garbage_certificate(signed: etree._Element) -> None:
    signed.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate").text = "MIIBAAAA"


def altered_patient(signed: etree._Element) -> None:
    _attribute_value(signed, "urn:oasis:names:tc:xacml:2.0:resource:resource-id").text = \
        "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH"


def altered_signature_value(signed: etree._Element) -> None:
    value = signed.find(f"{DS}Signature/{DS}SignatureValue")
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]


def wrapped_reference(signed: etree._Element) -> None:
    """The signature now points at a nested copy of the assertion: the outer one is what would be read."""
    inner = etree.fromstring(etree.tostring(signed))
    inner.remove(inner.find(f"{DS}Signature"))
    signed.set("ID", "_outer")
    advice = etree.Element(f"{S}Advice")
    advice.append(inner)
    signed.find(f"{S}Subject").addnext(advice)


@dataclass
class Case:
    rule: str
    changes: dict[str, Any] = field(default_factory=dict)  # model fields
    before_signing: Mutator | None = None  # XML edits, then signed
    after_signing: Mutator | None = None  # XML edits of the signed token
    policy: dict[str, Any] = field(default_factory=dict)
    mode: AuthMode = AuthMode.INDIRECTE
    signer: str | None = None  # attribute of TestPki
    unsigned: bool = False
    severity: Severity = Severity.ERROR
    twice: bool = False  # two assertions in wsse:Security
    tls: str | None = None  # attribute of TestPki: the request's TLS client certificate (default: the matching one)
    replayed: bool = False  # the same token is verified twice with one replay cache


CASES = [
    Case("BENCH-VIHF-ASSERTION-COUNT", twice=True),
    Case("BENCH-VIHF-VERSION", {"version": "1.1"}),
    Case("BENCH-VIHF-ID", {"assertion_id": "1-starts-with-a-digit"}),
    Case("BENCH-VIHF-ISSUE-INSTANT", before_signing=zone_less_instant),
    Case("BENCH-VIHF-ISSUE-INSTANT", before_signing=offset_instant, severity=Severity.WARNING),
    Case("BENCH-VIHF-ISSUER", {"issuer": None}, unsigned=True, policy={"lenient": True}),
    Case("BENCH-VIHF-ISSUER", {"issuer_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"},
         severity=Severity.WARNING),
    Case("BENCH-VIHF-ISSUER-SIGNER", {"issuer": "CN=SOMEONE ELSE,O=TEST,C=FR"}),
    Case("BENCH-VIHF-SUBJECT", {"subject_id": ""}),
    Case("BENCH-VIHF-NAMEID-FORMAT", {"subject_id": "X12345"}, mode=AuthMode.DIRECTE),
    Case("BENCH-VIHF-DIRECT-SIGNER", mode=AuthMode.DIRECTE, signer="structure", severity=Severity.WARNING),
    Case("BENCH-VIHF-AUTHN", {"authn_context": None}),
    Case("BENCH-VIHF-AUTHN", {"authn_context": "urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos"},
         severity=Severity.WARNING),
    Case("BENCH-VIHF-AUTHN", before_signing=lambda a: a.find(f"{S}AuthnStatement").attrib.pop("AuthnInstant")),
    Case("BENCH-VIHF-AUTHN", {"authn_instant": NOW + dt.timedelta(hours=1)}, severity=Severity.WARNING),
    Case("BENCH-VIHF-AUTHN", {"authn_context_decl": None}, mode=AuthMode.INDIRECTE_RENFORCEE,
         severity=Severity.WARNING),
    Case("BENCH-VIHF-CONDITIONS", {"audiences": ["urn:dmp"]}, severity=Severity.WARNING),
    Case("BENCH-VIHF-CONDITIONS", {"not_before": NOW, "not_on_or_after": NOW - dt.timedelta(minutes=1)}),
    Case("BENCH-VIHF-TIME-WINDOW", policy={"now": NOW + dt.timedelta(days=1)}),
    Case("BENCH-VIHF-REPLAY", replayed=True),
    Case("BENCH-VIHF-ATTR-MANDATORY", {"structure_id": None}),
    Case("BENCH-VIHF-ATTR-MANDATORY", {"auth_mode": None}),
    Case("BENCH-VIHF-LPS", {"lps_homologation": None}),
    Case("BENCH-VIHF-ATTR-EMPTY", {"lps_nom": ""}),
    Case("BENCH-VIHF-ATTR-DUPLICATE", before_signing=duplicate_urn),
    Case("BENCH-VIHF-ATTR-LEGACY", {"other_attributes": {"Mode_Acces": ["normal"]}}, severity=Severity.WARNING),
    Case("BENCH-VIHF-ATTR-TYPE", before_signing=untyped_lps_name, severity=Severity.WARNING),
    Case("BENCH-VIHF-VIHF-VERSION", {"vihf_version": "4.0"}, severity=Severity.WARNING),
    Case("BENCH-VIHF-VIHF-VERSION", {"vihf_version": "2.0"}),
    Case("BENCH-VIHF-RESSOURCE-URN", {"ressource_urn": "urn:dmp:v2"}),
    Case("BENCH-VIHF-AUTH-MODE", {"auth_mode": "CPS"}),
    Case("BENCH-VIHF-AUTH-MODE-NAME", {"auth_mode_name": AUTH_MODE_KIT_SPELLING}, severity=Severity.WARNING),
    Case("BENCH-VIHF-STRUCTURE-ID", {"structure_id": "9ABC"}),
    Case("BENCH-VIHF-TLS-CLIENT", tls="ps_authentication"),  # indirect mode, a person's certificate
    Case("BENCH-VIHF-TLS-CLIENT", mode=AuthMode.DIRECTE, tls="tls_client", severity=Severity.WARNING),
    Case("BENCH-VIHF-SECTEUR", {"secteur_activite": "SA07^1.2.250.1.71.4.2.99"}),
    Case("BENCH-VIHF-SECTEUR", {"secteur_activite": "SA98^1.2.250.1.71.4.2.4"}, severity=Severity.WARNING),
    Case("BENCH-VIHF-ROLE", {"roles": [CodedValue("99", "1.2.250.1.71.1.2.7")]}, severity=Severity.WARNING),
    Case("BENCH-VIHF-ROLE", {"roles": [ROLE_GENERAL_PRACTICE, ROLE_MEDECIN]}),  # specialty first
    Case("BENCH-VIHF-ROLE", {"roles": [CodedValue("X", "1.2.3.4")]}, severity=Severity.WARNING),
    Case("BENCH-VIHF-ROLE-SPECIALTY", {"roles": [ROLE_MEDECIN]}),
    Case("BENCH-VIHF-RESOURCE-ID", {"resource_id": "207058575627097^^^&1.2.250.1.213.1.4.2&ISO^NH"}),
    Case("BENCH-VIHF-RESOURCE-ID", {"resource_id": "207058575627097"}),
    Case("BENCH-VIHF-INS-KEY", {"resource_id": "207058575627098^^^&1.2.250.1.213.1.4.10&ISO^NH"}),
    Case("BENCH-VIHF-PURPOSE", {"purpose_of_use": CodedValue("urgence", "1.2.250.1.213.1.1.4.248")}),
    Case("BENCH-VIHF-PURPOSE", {"purpose_of_use": CodedValue("normal", "2.16.840.1.113883.5.8")}),
    Case("BENCH-VIHF-CONFIDENTIALITY", {"confidentiality_code": "SECRET"}),
    Case("BENCH-VIHF-MOJIBAKE", {"subject_name": "MÃ©decin TEST"}),
    Case("BENCH-VIHF-SIG-ABSENT", unsigned=True),
    Case("BENCH-VIHF-SIG-ABSENT", unsigned=True, policy={"lenient": True}, severity=Severity.WARNING),
    Case("BENCH-VIHF-SIG-STRUCTURE", after_signing=inclusive_c14n),
    Case("BENCH-VIHF-SIG-STRUCTURE", after_signing=signature_last),
    Case("BENCH-VIHF-SIG-DIGEST", after_signing=altered_patient),
    Case("BENCH-VIHF-SIG-VALUE", after_signing=altered_signature_value),
    Case("BENCH-VIHF-SIG-SHA1", policy={"allow_sha1": False}),  # signed with SHA-1 below
    Case("BENCH-VIHF-CERT-UNREADABLE", after_signing=garbage_certificate),
    Case("BENCH-VIHF-CERT-UNTRUSTED", policy={"trust": []}),
    Case("BENCH-VIHF-CERT-VALIDITY", signer="expired"),
    Case("BENCH-VIHF-CERT-USAGE", mode=AuthMode.DIRECTE, signer="ps_authentication"),
    Case("BENCH-VIHF-WRAPPING", after_signing=wrapped_reference),
]


def _signer(pki: TestPki, case: Case) -> CertifiedKey:
    if case.signer == "expired":
        return pki.issue("ORG SIGN EXPIRED", not_before=NOW - dt.timedelta(days=400),
                         not_after=NOW - dt.timedelta(days=1))
    if case.signer:
        return getattr(pki, case.signer)
    return pki.ps_signature if case.mode is AuthMode.DIRECTE else pki.structure


def run_case(case: Case, pki: TestPki, make_vihf: Callable[..., Any]) -> list[Any]:
    signer = _signer(pki, case)
    vihf = make_vihf(case.mode, signer=signer)
    for name, value in case.changes.items():
        setattr(vihf, name, value)
    element = build_vihf(vihf)
    if case.before_signing:
        case.before_signing(element)
    if not case.unsigned:
        element = sign_vihf(element, signer, algorithm="rsa-sha1" if case.rule.endswith("SHA1") else "rsa-sha256")
    if case.after_signing:
        case.after_signing(element)
    if case.twice:
        element = envelope(element, element)
    policy = VihfPolicy(**{"trust": pki.trust, "now": NOW, **case.policy})
    tls = case.tls or ("ps_authentication" if case.mode is AuthMode.DIRECTE else "tls_client")
    cache = ReplayCache()
    for _ in range(2 if case.replayed else 1):
        findings = verify_vihf(etree.tostring(element), policy, tls_client_certificate=getattr(pki, tls).cert,
                               replay=cache).findings
    assert not [f.message for f in findings if "could not be evaluated" in f.message]  # no rule crashed
    return findings


def test_a_valid_signed_token_raises_no_finding(pki: TestPki, make_vihf: Callable[..., Any]) -> None:
    for mode in AuthMode:
        assert run_case(Case("none", mode=mode), pki, make_vihf) == []


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.requirement(c.rule), id=f"{c.rule}-{i}")
                                  for i, c in enumerate(CASES)])
def test_rule_fires(case: Case, pki: TestPki, make_vihf: Callable[..., Any]) -> None:
    findings = [f for f in run_case(case, pki, make_vihf) if f.rule == case.rule]
    assert findings, f"{case.rule} did not fire"
    assert {f.severity for f in findings} == {case.severity}, [(f.severity, f.message) for f in findings]
    for finding in findings:  # actionable: where, and what to do
        assert finding.location and finding.location.startswith("/") and finding.line
        assert finding.hint and finding.message


def test_every_vihf_rule_has_a_failing_case() -> None:
    registered = {rule.id for rule in rules.of_kind("vihf")}
    assert len(registered) >= 25
    assert registered == {case.rule for case in CASES}


def test_broken_input_is_a_finding_not_a_crash() -> None:
    for data in (b"", b"<notxml", b"<a/>", b"<saml2:Assertion xmlns:saml2='urn:oasis:names:tc:SAML:2.0:assertion'/>"):
        result = verify_vihf(data, VihfPolicy(now=NOW))
        assert result.findings and not result.valid
