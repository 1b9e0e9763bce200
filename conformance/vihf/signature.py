"""Enveloped XML-DSig of the VIHF: signing (signxml, loaded key objects) and a diagnosing verification.

Verification never trusts the embedded certificate alone: the certificate must chain to the configured trust store.
It reports each fact separately (structure, digest, signature value, certificate, trust, key usage) so rules can say
exactly what is wrong, and it returns the element signxml verified: attributes are read from that signed data
only, never re-found in the original tree (XML signature wrapping).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
    methods,
)
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration

from conformance.pki import CertifiedKey
from conformance.pki.checks import (
    DIGEST_ALGORITHMS,
    EXC_C14N,
    certificate_from_text,
    dn_equal,
    lenient_validity,
    readable_certificates,
    trust_problem,
)
from conformance.vihf.codec import build_vihf
from conformance.vihf.model import DS_NS, SAML_NS, Vihf

__all__ = [
    "SignatureReport",
    "check_signature",
    "dn_equal",
    "sign_element",
    "sign_vihf",
]

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_DS = f"{{{DS_NS}}}"
_ID_ATTRIBUTES = ("ID", "Id", "id")


class _Sha1CapableSigner(XMLSigner):
    # signxml refuses to sign with SHA-1; the bench still produces legacy (2019-like) tokens to test verifiers
    def check_deprecated_methods(self) -> None:
        return None


_ALL_SIGNATURE_METHODS = frozenset(SignatureMethod)
_ALL_DIGESTS = frozenset(DigestAlgorithm)


def sign_element(element: etree._Element, signer: CertifiedKey, *, algorithm: str = "rsa-sha256",
                 after: str | None = None, chain: Sequence[x509.Certificate] = ()) -> etree._Element:
    """Sign ``element`` (enveloped, Reference ``#<ID>``, exclusive c14n); the Signature goes after child ``after``.

    ``algorithm`` is ``rsa-sha256`` (default) or ``rsa-sha1`` (legacy, for tests of old tokens); ``chain`` adds
    intermediate CA certificates after the signer's in X509Data. Returns a new element (``element`` is unchanged).
    """
    element = copy.deepcopy(element)
    placeholder = etree.Element(f"{_DS}Signature", Id="placeholder", nsmap={"ds": DS_NS})
    anchor = element.find(after) if after else None
    if anchor is not None:
        anchor.addnext(placeholder)
    else:
        element.insert(0, placeholder)
    digest = "sha1" if algorithm.endswith("sha1") else algorithm.rsplit("-", 1)[-1]
    signer_cls = _Sha1CapableSigner if digest == "sha1" else XMLSigner
    xml_signer = signer_cls(method=methods.enveloped, signature_algorithm=algorithm, digest_algorithm=digest,
                            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    identifier = next((element.get(a) for a in _ID_ATTRIBUTES if element.get(a)), None)
    # No InclusiveNamespaces (kit style): signxml would put them on SignedInfo only, not on the Reference transform
    return xml_signer.sign(element, key=signer.key, cert=[signer.cert, *chain],
                           reference_uri=f"#{identifier}" if identifier else None)


def sign_vihf(assertion: etree._Element | Vihf, signer: CertifiedKey, *, algorithm: str = "rsa-sha256",
              chain: Sequence[x509.Certificate] = ()) -> etree._Element:
    """The assertion with an enveloped signature placed right after ``saml2:Issuer`` (as in the official tokens)."""
    if isinstance(assertion, Vihf):
        assertion = build_vihf(assertion)
    return sign_element(assertion, signer, algorithm=algorithm, after=f"{{{SAML_NS}}}Issuer", chain=chain)


# --- verification -----------------------------------------------------------------------------------------

@dataclass(slots=True)
class SignatureReport:
    """Every fact the signature rules need, established once per assertion."""

    present: bool = False
    signature_method: str | None = None
    digest_method: str | None = None
    c14n_method: str | None = None
    reference_uris: list[str] = field(default_factory=list)
    transforms: list[str] = field(default_factory=list)
    structure_problems: list[str] = field(default_factory=list)  # not enveloped, wrong transforms …
    wrapping_problems: list[str] = field(default_factory=list)  # what is signed is not what is read
    digest_ok: bool | None = None  # computed independently of the certificate
    value_ok: bool | None = None  # signature value over SignedInfo (needs a readable certificate)
    verified: bool = False  # signxml accepted the whole signature against the pinned certificate
    error: str | None = None  # signxml's message when it refused
    certificate: x509.Certificate | None = None
    certificate_error: str | None = None
    certificate_validity: tuple[dt.datetime, dt.datetime] | None = None  # read leniently when strict parsing fails
    trusted: bool | None = None
    trust_problem: str | None = None
    signed_element: etree._Element | None = None  # what signxml returns as signed: the only element to read

    @property
    def ok(self) -> bool:
        return (self.present and self.verified and bool(self.trusted) and not self.structure_problems
                and not self.wrapping_problems)


def _check_structure(assertion: etree._Element, signature: etree._Element, report: SignatureReport) -> None:
    signed_info = signature.find(f"{_DS}SignedInfo")
    if signed_info is None:
        report.structure_problems.append("ds:SignedInfo is missing")
        return
    c14n = signed_info.find(f"{_DS}CanonicalizationMethod")
    method = signed_info.find(f"{_DS}SignatureMethod")
    report.c14n_method = c14n.get("Algorithm") if c14n is not None else None
    report.signature_method = method.get("Algorithm") if method is not None else None
    references = signed_info.findall(f"{_DS}Reference")
    report.reference_uris = [r.get("URI", "") for r in references]
    if report.c14n_method != EXC_C14N:
        report.structure_problems.append(
            f"CanonicalizationMethod is {report.c14n_method!r}, expected exclusive c14n {EXC_C14N}")
    if len(references) != 1:
        report.structure_problems.append(f"SignedInfo has {len(references)} References, expected exactly 1")
        return
    reference = references[0]
    digest = reference.find(f"{_DS}DigestMethod")
    report.digest_method = digest.get("Algorithm") if digest is not None else None
    report.transforms = [t.get("Algorithm", "") for t in reference.iterfind(f"{_DS}Transforms/{_DS}Transform")]
    if report.transforms[:1] != [ENVELOPED] or any(t != EXC_C14N for t in report.transforms[1:]):
        report.structure_problems.append(
            f"Transforms are {report.transforms}, expected enveloped-signature then exclusive c14n")
    previous = signature.getprevious()
    while previous is not None and not isinstance(previous.tag, str):  # comments, processing instructions
        previous = previous.getprevious()
    if previous is None or previous.tag != f"{{{SAML_NS}}}Issuer":
        report.structure_problems.append("ds:Signature must come right after saml2:Issuer (SAML 2.0 schema order)")
    expected = f"#{assertion.get('ID', '')}"
    if reference.get("URI") != expected:
        report.wrapping_problems.append(
            f"the signature's Reference URI is {reference.get('URI')!r} but the assertion read is {expected!r}: "
            "the signature covers another element (XML signature wrapping)")


def _own_digest(assertion: etree._Element, signature: etree._Element, report: SignatureReport) -> None:
    """Recompute the Reference digest (enveloped + exc-c14n) without needing the certificate."""
    algorithm = DIGEST_ALGORITHMS.get(report.digest_method or "")
    value = signature.find(f"{_DS}SignedInfo/{_DS}Reference/{_DS}DigestValue")
    if algorithm is None or value is None or report.wrapping_problems:
        return
    payload = copy.deepcopy(assertion)  # keeps the namespaces in scope; no re-parse of possibly odd input
    own = payload.find(f"{_DS}Signature")
    if own is not None:
        payload.remove(own)
    prefixes = signature.find(f"{_DS}SignedInfo/{_DS}Reference/{_DS}Transforms/{_DS}Transform/"
                              f"{{{EXC_C14N}}}InclusiveNamespaces")
    inclusive = (prefixes.get("PrefixList", "").split() or None) if prefixes is not None else None
    try:
        canonical = etree.tostring(payload, method="c14n", exclusive=True, with_comments=False,
                                   inclusive_ns_prefixes=inclusive)
    except (etree.LxmlError, ValueError):
        return  # not canonicalisable: signxml's verdict (a structure finding) says why
    try:
        expected = base64.b64decode("".join((value.text or "").split()))
    except ValueError:  # binascii.Error, or non-ASCII text
        report.digest_ok = False
        return
    report.digest_ok = hashlib.new(algorithm, canonical).digest() == expected


def check_signature(assertion: etree._Element, *, trust: Sequence[x509.Certificate],
                    signing_time: dt.datetime | None = None) -> SignatureReport:
    """Establish the facts about the enveloped signature of ``assertion`` (see :class:`SignatureReport`)."""
    report = SignatureReport()
    signature = assertion.find(f"{_DS}Signature")
    if signature is None:
        return report
    report.present = True
    _check_structure(assertion, signature, report)
    _own_digest(assertion, signature, report)
    cert_texts = [e.text or "" for e in signature.iterfind(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")]
    cert_text = cert_texts[0] if cert_texts else None
    if not cert_text:
        report.certificate_error = "no ds:KeyInfo/ds:X509Data/ds:X509Certificate in the signature"
        return report
    try:
        report.certificate = certificate_from_text(cert_text)
    except ValueError as exc:
        report.certificate_error = f"the signer certificate cannot be read by a strict DER parser: {exc}"
        report.certificate_validity = lenient_validity(cert_text)
        return report
    cert = report.certificate
    report.trust_problem = trust_problem(cert, trust, readable_certificates(cert_texts[1:]))
    report.trusted = report.trust_problem is None
    # Certificate validity is judged by the rules; signxml only needs a time inside it to check the cryptography
    when = signing_time or dt.datetime.now(dt.UTC)
    when = min(max(when, cert.not_valid_before_utc), cert.not_valid_after_utc)
    # any number of References: a count other than 1 is a structure finding, not a signature-value failure
    config = SignatureConfiguration(signature_methods=_ALL_SIGNATURE_METHODS, digest_algorithms=_ALL_DIGESTS,
                                    verification_time=when, expect_references=True)
    try:
        result = XMLVerifier().verify(etree.tostring(assertion), x509_cert=cert, expect_config=config,
                                      id_attribute="ID", validate_schema=False)
    except InvalidDigest as exc:
        report.value_ok, report.error = True, str(exc)  # signxml checks the value before the digests
        report.digest_ok = False
    except InvalidSignature as exc:
        report.value_ok, report.error = False, str(exc)
    except InvalidInput as exc:
        report.error = str(exc)
        if "Ambiguous reference" in str(exc):
            report.wrapping_problems.append(f"{exc}: several elements carry the signed ID (XML signature wrapping)")
        else:
            report.structure_problems.append(f"signature not verifiable: {exc}")
    except (SignXMLException, ValueError, etree.LxmlError, UnsupportedAlgorithm) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        report.structure_problems.append(f"signature not verifiable: {exc}")
    else:
        report.value_ok, report.digest_ok, report.verified = True, True, True
        results = result if isinstance(result, list) else [result]
        signed = next((r.signed_xml for r in results if r.signed_xml is not None and r.signed_xml.tag == assertion.tag
                       and r.signed_xml.get("ID") == assertion.get("ID")), None)
        report.signed_element = signed
        if signed is None:
            report.wrapping_problems.append("no signed data is the assertion that is read")
            report.verified = False
    return report

