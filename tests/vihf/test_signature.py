"""Signing and verifying VIHF tokens made at run time: trust, time, tampering, injection and wrapping."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml import XMLSigner, methods

from conformance.pki import TestPki
from conformance.vihf import (
    AuthMode,
    CodedValue,
    ReplayCache,
    Vihf,
    VihfPolicy,
    build_vihf,
    parse_vihf,
    sign_vihf,
    verify_vihf,
)
from conformance.vihf.model import DS_NS, SAML_NS

from .conftest import NOW
from .helpers import envelope

S = f"{{{SAML_NS}}}"


def set_attribute(assertion: etree._Element, name: str, value: str) -> None:
    holder = assertion.find(f"{S}AttributeStatement/{S}Attribute[@Name='{name}']/{S}AttributeValue")
    assert holder is not None
    holder.text = value


def rule_ids(data: etree._Element | bytes, policy: VihfPolicy) -> set[str]:
    return verify_vihf(data, policy).rule_ids


@pytest.mark.requirement("BENCH-VIHF-SIGNATURE")
@pytest.mark.parametrize("mode", list(AuthMode))
def test_signed_token_verifies_when_its_ca_is_trusted(mode: AuthMode, make_vihf: Callable[..., Vihf],
                                                      signed: Callable[..., etree._Element],
                                                      policy: VihfPolicy) -> None:
    vihf = make_vihf(mode)
    token = signed(vihf)
    for source in (token, etree.tostring(token), etree.tostring(envelope(token))):
        result = verify_vihf(source, policy)
        assert result.findings == [] and result.authenticated
        assert result.vihf == vihf  # read back from the signed data


def test_signature_is_placed_after_the_issuer(make_vihf: Callable[..., Vihf],
                                              signed: Callable[..., etree._Element]) -> None:
    token = signed(make_vihf())
    assert token[0].tag == f"{S}Issuer" and token[1].tag == f"{{{DS_NS}}}Signature"
    reference = token[1].find(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")
    assert reference is not None and reference.get("URI") == f"#{token.get('ID')}"


@pytest.mark.requirement("BENCH-VIHF-CERT-UNTRUSTED")
def test_untrusted_ca_is_refused(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                 rogue_pki: TestPki) -> None:
    vihf = make_vihf(signer=rogue_pki.structure)
    result = verify_vihf(signed(vihf, rogue_pki.structure), VihfPolicy(trust=TestPki.generate().trust, now=NOW))
    assert result.rule_ids == {"BENCH-VIHF-CERT-UNTRUSTED"} and not result.authenticated
    # trusting nothing is also refusal: the embedded certificate alone proves nothing
    assert rule_ids(signed(vihf, rogue_pki.structure), VihfPolicy(now=NOW)) == {"BENCH-VIHF-CERT-UNTRUSTED"}


@pytest.mark.parametrize("offset,word", [(dt.timedelta(hours=2), "expired"),
                                         (-dt.timedelta(minutes=10), "not yet valid")])
@pytest.mark.requirement("BENCH-VIHF-TIME-WINDOW")
def test_time_window_with_clock_skew(offset: dt.timedelta, word: str, make_vihf: Callable[..., Vihf],
                                     signed: Callable[..., etree._Element], pki: TestPki) -> None:
    token = signed(make_vihf())
    result = verify_vihf(token, VihfPolicy(trust=pki.trust, now=NOW + offset))
    assert result.rule_ids == {"BENCH-VIHF-TIME-WINDOW"}
    assert word in result.findings[0].message
    # inside the skew it passes
    small = dt.timedelta(minutes=3) if offset < dt.timedelta(0) else dt.timedelta(minutes=62)
    assert verify_vihf(token, VihfPolicy(trust=pki.trust, now=NOW - small if offset < dt.timedelta(0)
                                         else NOW + small - dt.timedelta(minutes=3))).findings == []


@pytest.mark.requirement("BENCH-VIHF-TIME-WINDOW")
def test_conditions_window_is_used(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                   pki: TestPki) -> None:
    vihf = make_vihf(not_before=NOW - dt.timedelta(minutes=1), not_on_or_after=NOW + dt.timedelta(hours=8))
    token = signed(vihf)
    assert verify_vihf(token, VihfPolicy(trust=pki.trust, now=NOW + dt.timedelta(hours=7))).findings == []
    assert rule_ids(token, VihfPolicy(trust=pki.trust, now=NOW + dt.timedelta(hours=9))) == {"BENCH-VIHF-TIME-WINDOW"}


@pytest.mark.requirement("BENCH-VIHF-SIG-DIGEST")
def test_altered_signed_attribute_is_a_digest_failure(make_vihf: Callable[..., Vihf],
                                                      signed: Callable[..., etree._Element],
                                                      policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    set_attribute(token, "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
                  "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH")
    result = verify_vihf(token, policy)
    assert result.rule_ids == {"BENCH-VIHF-SIG-DIGEST"} and not result.authenticated
    assert result.signature is not None and result.signature.value_ok is True


@pytest.mark.requirement("BENCH-VIHF-SIG-VALUE")
def test_altered_signature_value_is_named(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                          policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    value = token.find(f"{{{DS_NS}}}Signature/{{{DS_NS}}}SignatureValue")
    assert value is not None and value.text
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]
    assert rule_ids(token, policy) == {"BENCH-VIHF-SIG-VALUE"}


@pytest.mark.requirement("BENCH-VIHF-ASSERTION-COUNT")
def test_second_assertion_is_refused(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                     policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    forged = signed(make_vihf(subject_id="899999999999"))
    result = verify_vihf(envelope(token, forged), policy)
    assert result.rule_ids == {"BENCH-VIHF-ASSERTION-COUNT"} and not result.valid


@pytest.mark.requirement("BENCH-VIHF-CERT-USAGE")
def test_authentication_only_certificate_cannot_sign(make_vihf: Callable[..., Vihf],
                                                      signed: Callable[..., etree._Element], pki: TestPki,
                                                      policy: VihfPolicy) -> None:
    vihf = make_vihf(AuthMode.DIRECTE, signer=pki.ps_authentication)
    assert rule_ids(signed(vihf, pki.ps_authentication), policy) == {"BENCH-VIHF-CERT-USAGE"}


@pytest.mark.requirement("BENCH-VIHF-CERT-VALIDITY")
def test_expired_certificate_is_named(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                      pki: TestPki, policy: VihfPolicy) -> None:
    old = pki.issue("ORG SIGN EXPIRED", not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=1))
    result = verify_vihf(signed(make_vihf(signer=old), old), policy)
    assert result.rule_ids == {"BENCH-VIHF-CERT-VALIDITY"}
    assert "expired" in result.findings[0].message


@pytest.mark.requirement("BENCH-VIHF-ISSUER-SIGNER")
def test_issuer_must_be_the_signer(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                   pki: TestPki, policy: VihfPolicy) -> None:
    vihf = make_vihf(signer=pki.ps_signature)  # Issuer = the PS, but the structure signs
    assert rule_ids(signed(vihf, pki.structure), policy) == {"BENCH-VIHF-ISSUER-SIGNER"}


@pytest.mark.requirement("BENCH-VIHF-SIG-SHA1")
def test_legacy_sha1_is_a_warning_or_an_error(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                              pki: TestPki) -> None:
    token = signed(make_vihf(), algorithm="rsa-sha1")
    allowed = verify_vihf(token, VihfPolicy(trust=pki.trust, now=NOW))
    assert allowed.rule_ids == {"BENCH-VIHF-SIG-SHA1"} and allowed.valid and allowed.authenticated
    refused = verify_vihf(token, VihfPolicy(trust=pki.trust, now=NOW, allow_sha1=False))
    assert refused.rule_ids == {"BENCH-VIHF-SIG-SHA1"} and not refused.valid


# --- XML signature wrapping ---------------------------------------------------------------------------------

def _forge(original: etree._Element, new_id: str | None) -> etree._Element:
    """A copy of the signed assertion with another patient; its ID changed when ``new_id`` is given."""
    forged = copy.deepcopy(original)
    if new_id:
        forged.set("ID", new_id)
    set_attribute(forged, "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
                  "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH")
    return forged


def wrap_original_inside_forged(original: etree._Element) -> etree._Element:
    """XSW: forged assertion (new ID) keeps the original Signature; the original hides in its Advice."""
    forged = _forge(original, "_forged")
    advice = etree.Element(f"{S}Advice")
    hidden = copy.deepcopy(original)
    hidden.remove(hidden.find(f"{{{DS_NS}}}Signature"))
    advice.append(hidden)
    forged.find(f"{S}Subject").addnext(advice)
    return envelope(forged)


def same_id_original_in_advice(original: etree._Element) -> etree._Element:
    """XSW: forged assertion with the original's ID; the untouched signed original nested in its Advice."""
    forged = _forge(original, None)
    advice = etree.Element(f"{S}Advice")
    advice.append(copy.deepcopy(original))
    forged.find(f"{S}Subject").addnext(advice)
    return envelope(forged)


def same_id_original_in_body(original: etree._Element) -> etree._Element:
    """XSW: forged assertion (same ID, original signature) in the header; the signed original in the Body."""
    env = envelope(_forge(original, None))
    env[1].append(copy.deepcopy(original))
    return env


def signature_moved_to_security(original: etree._Element) -> etree._Element:
    """The Signature taken out of the assertion and put beside it (detached): nothing signs what is read."""
    forged = _forge(original, None)
    signature = forged.find(f"{{{DS_NS}}}Signature")
    forged.remove(signature)
    env = envelope(forged)
    env[0][0].append(signature)
    return env


WRAPPINGS = {
    "original-inside-forged": (wrap_original_inside_forged, {"BENCH-VIHF-WRAPPING"}),
    "same-id-in-advice": (same_id_original_in_advice, {"BENCH-VIHF-WRAPPING"}),
    "same-id-in-body": (same_id_original_in_body, {"BENCH-VIHF-WRAPPING", "BENCH-VIHF-SIG-DIGEST"}),
    "signature-detached": (signature_moved_to_security, {"BENCH-VIHF-SIG-ABSENT"}),
}


@pytest.mark.requirement("BENCH-VIHF-WRAPPING")
@pytest.mark.parametrize("name", sorted(WRAPPINGS))
def test_signature_wrapping_is_detected(name: str, make_vihf: Callable[..., Vihf],
                                        signed: Callable[..., etree._Element], policy: VihfPolicy) -> None:
    attack, expected = WRAPPINGS[name]
    original = signed(make_vihf())
    result = verify_vihf(etree.tostring(attack(original)), policy)
    assert expected <= result.rule_ids, [(f.rule, f.message) for f in result.findings]
    assert not result.authenticated and not result.valid
    # whatever was read, the forged patient is never presented as authenticated
    assert result.vihf is None or result.signature is None or not result.signature.ok


@pytest.mark.requirement("BENCH-VIHF-WRAPPING")
def test_verified_vihf_comes_from_the_signed_data(make_vihf: Callable[..., Vihf],
                                                  signed: Callable[..., etree._Element], policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    result = verify_vihf(token, policy)
    assert result.signature is not None and result.signature.signed_element is not None
    assert result.signature.signed_element is not token  # a fresh tree built from the canonical signed bytes
    assert parse_vihf(result.signature.signed_element) == result.vihf


# --- replay -------------------------------------------------------------------------------------------------

def test_replay_cache_refuses_a_second_use_within_the_window(make_vihf: Callable[..., Vihf],
                                                             policy: VihfPolicy) -> None:
    cache = ReplayCache()
    vihf = make_vihf()
    assert cache.remember(vihf, policy) is True
    assert cache.remember(vihf, policy) is False
    later = VihfPolicy(now=NOW + dt.timedelta(hours=2))
    assert cache.remember(make_vihf(), later) is True and len(cache) == 1  # expired ids are purged
    assert cache.check_and_remember(vihf.assertion_id, NOW + dt.timedelta(hours=3), NOW + dt.timedelta(hours=2))


# --- the server's way in: elements of an already parsed message ---------------------------------------------

def test_security_header_or_assertion_element_of_a_parsed_message(make_vihf: Callable[..., Vihf],
                                                                   signed: Callable[..., etree._Element],
                                                                   policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    message = etree.fromstring(etree.tostring(envelope(token)))
    security = message[0][0]
    assert verify_vihf(security, policy).authenticated
    assert verify_vihf(security[0], policy).authenticated
    # a sibling injected next to it is seen even when only the first assertion element is handed over
    security.append(copy.deepcopy(security[0]))
    assert verify_vihf(security[0], policy).rule_ids == {"BENCH-VIHF-ASSERTION-COUNT", "BENCH-VIHF-WRAPPING"}


@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_corruption_never_crashes(data: st.DataObject, make_vihf: Callable[..., Vihf],
                                         signed: Callable[..., etree._Element], policy: VihfPolicy) -> None:
    raw = bytearray(etree.tostring(signed(make_vihf())))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    result = verify_vihf(bytes(raw), policy)  # must not raise
    assert all(f.rule and f.message for f in result.findings)
    assert not any("could not be evaluated" in f.message for f in result.findings)
    if result.authenticated:  # only a change the canonical form ignores may still verify
        assert result.vihf is not None


@pytest.mark.requirement("BENCH-VIHF-WRAPPING")
def test_comment_inside_the_name_id_does_not_truncate_it(make_vihf: Callable[..., Vihf],
                                                          signed: Callable[..., etree._Element],
                                                          policy: VihfPolicy) -> None:
    """The SAML comment attack: exc-c14n ignores comments, so the signature still verifies; the NameID read
    must be the whole signed one, not the text before the comment."""
    vihf = make_vihf()
    raw = etree.tostring(signed(vihf)).replace(
        f"<saml2:NameID>{vihf.subject_id}<".encode(),
        f"<saml2:NameID>{vihf.subject_id[:4]}<!--x-->{vihf.subject_id[4:]}<".encode())
    assert b"<!--x-->" in raw
    result = verify_vihf(raw, policy)
    assert result.authenticated and result.vihf is not None and result.vihf.subject_id == vihf.subject_id


_free_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=25).map(
    str.strip).filter(bool)


@pytest.mark.requirement("BENCH-VIHF-SIGNATURE")
@given(subject=_free_text, name=_free_text, display=_free_text, mode=st.sampled_from(list(AuthMode)))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_signed_content_verifies_and_reads_back(subject: str, name: str, display: str, mode: AuthMode,
                                                    make_vihf: Callable[..., Vihf],
                                                    signed: Callable[..., etree._Element],
                                                    policy: VihfPolicy) -> None:
    vihf = make_vihf(mode, subject_id=subject, subject_name=name,
                     roles=[CodedValue("10", "1.2.250.1.71.1.2.7", display), CodedValue("SM26", "1.2.250.1.71.4.2.5")])
    result = verify_vihf(etree.tostring(signed(vihf)), policy)
    assert result.signature is not None and result.signature.ok
    assert result.vihf == vihf


@pytest.mark.requirement("BENCH-VIHF-CERT-UNTRUSTED")
def test_signer_issued_by_an_intermediate(make_vihf: Callable[..., Vihf], pki: TestPki,
                                          policy: VihfPolicy) -> None:
    intermediate = pki.issue_ca("TEST AC ELEMENTAIRE ORGANISATIONS")
    seal = pki.issue("ORG SIGN 10B0127189", issuer=intermediate)
    vihf = make_vihf(signer=seal)
    assert verify_vihf(sign_vihf(vihf, seal, chain=[intermediate.cert]), policy).authenticated
    assert verify_vihf(sign_vihf(vihf, seal), policy).rule_ids == {"BENCH-VIHF-CERT-UNTRUSTED"}


@pytest.mark.requirement("BENCH-VIHF-SIG-STRUCTURE")
def test_two_references_are_a_structure_finding(make_vihf: Callable[..., Vihf], pki: TestPki,
                                                policy: VihfPolicy) -> None:
    element = build_vihf(make_vihf())
    identifier = element.get("ID")
    signer = XMLSigner(method=methods.enveloped, c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    token = signer.sign(element, key=pki.structure.key, cert=[pki.structure.cert],
                        reference_uri=[f"#{identifier}", f"#{identifier}"])
    result = verify_vihf(token, policy)
    assert result.rule_ids == {"BENCH-VIHF-SIG-STRUCTURE"}
    assert "2 References" in result.findings[0].message


@pytest.mark.requirement("BENCH-VIHF-REPLAY")
def test_replay_through_verify(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                               policy: VihfPolicy) -> None:
    cache = ReplayCache()
    token = etree.tostring(signed(make_vihf()))
    assert verify_vihf(token, policy, replay=cache).authenticated
    second = verify_vihf(token, policy, replay=cache)
    assert second.rule_ids == {"BENCH-VIHF-REPLAY"} and not second.authenticated
    assert verify_vihf(etree.tostring(signed(make_vihf())), policy, replay=cache).authenticated  # a fresh token
    unsigned = etree.tostring(build_vihf(make_vihf()))  # unsigned tokens are never remembered (lenient replays)
    lenient = VihfPolicy(trust=policy.trust, now=NOW, lenient=True)
    assert "BENCH-VIHF-REPLAY" not in verify_vihf(unsigned, lenient, replay=cache).rule_ids
    assert "BENCH-VIHF-REPLAY" not in verify_vihf(unsigned, lenient, replay=cache).rule_ids


@pytest.mark.requirement("BENCH-VIHF-SIGNATURE")
def test_signature_checks_out_without_signxml(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                              pki: TestPki) -> None:
    """Independent check of what the builder emits: exc-c14n digest of the assertion without its Signature, and
    RSA PKCS#1 v1.5 SHA-256 over the exc-c14n SignedInfo, with the certificate's public key."""
    token = etree.fromstring(etree.tostring(signed(make_vihf())))
    ds = f"{{{DS_NS}}}"
    signature = token.find(f"{ds}Signature")
    signed_info = signature.find(f"{ds}SignedInfo")
    digest = base64.b64decode(signed_info.findtext(f"{ds}Reference/{ds}DigestValue"))
    value = base64.b64decode(signature.findtext(f"{ds}SignatureValue"))
    canonical_info = etree.tostring(signed_info, method="c14n", exclusive=True)
    token.remove(signature)
    assert hashlib.sha256(etree.tostring(token, method="c14n", exclusive=True)).digest() == digest
    pki.structure.cert.public_key().verify(value, canonical_info, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.requirement("BENCH-VIHF-SIG-ABSENT")
def test_a_nested_signature_is_not_an_enveloped_one(make_vihf: Callable[..., Vihf],
                                                    signed: Callable[..., etree._Element], policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    signature = token.find(f"{{{DS_NS}}}Signature")
    token.find(f"{S}Subject").append(signature)
    result = verify_vihf(token, policy)
    assert result.rule_ids == {"BENCH-VIHF-SIG-ABSENT"}
    assert "nested at /saml:Assertion/saml:Subject/ds:Signature" in result.findings[0].message


def _corrupt_certificate(token: etree._Element, old: bytes, new: bytes) -> None:
    element = token.find(f"{{{DS_NS}}}Signature/{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    der = base64.b64decode(element.text)
    assert old in der
    element.text = base64.b64encode(der.replace(old, new, 1)).decode()


RSA_OID = bytes.fromhex("2a864886f70d010101")
CORRUPTIONS = {  # regressions found by fuzzing: cryptography parses certificate fields lazily
    "unknown-key-algorithm": lambda t: _corrupt_certificate(t, RSA_OID, RSA_OID[:-1] + b"\x7f"),
    "malformed-issuer": lambda t: _corrupt_certificate(t, b"\x0c\x14DMP CONFORMANCE TEST",
                                                       b"\x8c\x14DMP CONFORMANCE TEST"),
}


@pytest.mark.requirement("BENCH-VIHF-CERT-UNREADABLE")
@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupted_certificate_is_unreadable_not_a_crash(name: str, make_vihf: Callable[..., Vihf],
                                                         signed: Callable[..., etree._Element],
                                                         policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    CORRUPTIONS[name](token)
    assert verify_vihf(token, policy).rule_ids == {"BENCH-VIHF-CERT-UNREADABLE"}


def test_non_ascii_digest_value_is_a_finding(make_vihf: Callable[..., Vihf], signed: Callable[..., etree._Element],
                                             policy: VihfPolicy) -> None:
    token = signed(make_vihf())
    token.find(f"{{{DS_NS}}}Signature/{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference/{{{DS_NS}}}DigestValue").text = "é"
    result = verify_vihf(token, policy)
    assert "BENCH-VIHF-SIG-DIGEST" in result.rule_ids and not result.authenticated
