"""Build and check the XAdES signature document (see the package docstring), with the ``xades`` rules."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration

from conformance.findings import Finding, Severity, Violation, rules
from conformance.pki.checks import (
    DIGEST_ALGORITHMS,
    EXC_C14N,
    LEGACY_SHA1,
    certificate_from_text,
    is_signature_certificate,
    lenient_validity,
    readable_certificates,
    trust_problem,
    validity_problem,
)
from conformance.xml import XmlInputError, parse_xml, xpath_of

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.1.1#"
MANIFEST_ID = "IHEManifest"
SIGNED_PROPERTIES_ID = "S0-SignedProperties"
PURPOSE_OF_SIGNATURE = "1.2.840.10065.1.12.1.14"  # "Source" (ASTM E1762), as in the official example
MANIFEST_TYPE = "http://www.w3.org/2000/09/xmldsig#Manifest"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903/v1.1.1#SignedProperties"
# The SubmissionSet has no content to hash: the official example gives its Reference the digest "AA=="; what binds
# it is its uniqueId inside the signed manifest.
SUBMISSION_SET_DIGEST = "AA=="
_ALGORITHMS = {
    "rsa-sha256": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256",
                   hashes.SHA256()),
    "rsa-sha1": ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1",
                 hashes.SHA1()),  # legacy, for tests of 2019-like documents
}
_DS = f"{{{DS_NS}}}"
_XA = f"{{{XADES_NS}}}"
_C14N = {  # canonicalisation transforms a manifest Reference may declare → (exclusive, with_comments)
    EXC_C14N: (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
}


def _b64_digest(algorithm_uri: str, data: bytes) -> str:
    return base64.b64encode(hashlib.new(DIGEST_ALGORITHMS[algorithm_uri], data).digest()).decode()


def _canonical(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    child = etree.SubElement(parent, tag, attributes)
    child.text = text
    return child


def _reference(parent: etree._Element, uri: str, digest_uri: str, digest: str, *, type_: str | None = None,
               transform: bool = False) -> etree._Element:
    reference = _sub(parent, f"{_DS}Reference", URI=uri, **({"Type": type_} if type_ else {}))
    if transform:
        _sub(_sub(reference, f"{_DS}Transforms"), f"{_DS}Transform", Algorithm=EXC_C14N)
    _sub(reference, f"{_DS}DigestMethod", Algorithm=digest_uri)
    _sub(reference, f"{_DS}DigestValue", digest)
    return reference


def build_signature_document(documents: Sequence[tuple[str, bytes]], submission_set_unique_id: str,
                             key: rsa.RSAPrivateKey, cert: x509.Certificate, *,
                             signing_time: dt.datetime | None = None, algorithm: str = "rsa-sha256") -> bytes:
    """The XAdES signature document over ``documents`` ((uniqueId, content) pairs) and the SubmissionSet.

    Signed with ``key`` (the structure seal), exclusive c14n, RSA-SHA256 by default. Document digests are over
    the exact bytes sent (no transform), so any change of a document breaks the manifest.
    """
    signature_uri, digest_uri, hash_algorithm = _ALGORITHMS[algorithm]
    signature_id = f"_{uuid.uuid4()}"
    signing_time = signing_time or dt.datetime.now(dt.UTC)
    # "ds:" prefix, not a default namespace: the un-namespaced SignatureProperties must stay out of it
    root = etree.Element(f"{_DS}Signature", nsmap={"ds": DS_NS}, Id=signature_id)
    signed_info = _sub(root, f"{_DS}SignedInfo")
    _sub(signed_info, f"{_DS}CanonicalizationMethod", Algorithm=EXC_C14N)
    _sub(signed_info, f"{_DS}SignatureMethod", Algorithm=signature_uri)
    signature_value = _sub(root, f"{_DS}SignatureValue")
    der = cert.public_bytes(serialization.Encoding.DER)
    _sub(_sub(_sub(root, f"{_DS}KeyInfo"), f"{_DS}X509Data"), f"{_DS}X509Certificate", base64.b64encode(der).decode())

    manifest = _sub(_sub(root, f"{_DS}Object"), f"{_DS}Manifest", Id=MANIFEST_ID)
    _reference(manifest, f"urn:oid:{submission_set_unique_id}", digest_uri, SUBMISSION_SET_DIGEST)
    for unique_id, content in documents:
        _reference(manifest, f"urn:oid:{unique_id}", digest_uri, _b64_digest(digest_uri, content))
    # No namespace, as in the official example: in the XML-DSig namespace a text-only SignatureProperty is
    # schema-invalid (its content model wants an element of another namespace)
    properties = _sub(_sub(root, f"{_DS}Object"), "SignatureProperties")
    _sub(properties, "SignatureProperty", PURPOSE_OF_SIGNATURE, Id="purposeOfSignature", Target=f"#{signature_id}")
    qualifying = etree.SubElement(_sub(root, f"{_DS}Object"), f"{_XA}QualifyingProperties", nsmap={None: XADES_NS},
                                  Target=f"#{signature_id}")
    signed_properties = _sub(qualifying, f"{_XA}SignedProperties", Id=SIGNED_PROPERTIES_ID)
    signature_properties = _sub(signed_properties, f"{_XA}SignedSignatureProperties")
    _sub(signature_properties, f"{_XA}SigningTime", signing_time.astimezone(dt.UTC).isoformat(timespec="seconds"))
    cert_element = _sub(_sub(signature_properties, f"{_XA}SigningCertificate"), f"{_XA}Cert")
    cert_digest = _sub(cert_element, f"{_XA}CertDigest")
    _sub(cert_digest, f"{_DS}DigestMethod", Algorithm=digest_uri)
    _sub(cert_digest, f"{_DS}DigestValue", _b64_digest(digest_uri, der))
    issuer_serial = _sub(cert_element, f"{_XA}IssuerSerial")
    _sub(issuer_serial, f"{_DS}X509IssuerName", cert.issuer.rfc4514_string())
    _sub(issuer_serial, f"{_DS}X509SerialNumber", str(cert.serial_number))
    _sub(_sub(signature_properties, f"{_XA}SignaturePolicyIdentifier"), f"{_XA}SignaturePolicyImplied")

    _reference(signed_info, f"#{MANIFEST_ID}", digest_uri, _b64_digest(digest_uri, _canonical(manifest)),
               type_=MANIFEST_TYPE, transform=True)
    _reference(signed_info, f"#{SIGNED_PROPERTIES_ID}", digest_uri,
               _b64_digest(digest_uri, _canonical(signed_properties)), type_=SIGNED_PROPERTIES_TYPE, transform=True)
    signature = key.sign(_canonical(signed_info), padding.PKCS1v15(), hash_algorithm)
    signature_value.text = base64.b64encode(signature).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- checking ----------------------------------------------------------------------------------------------

@dataclass(slots=True)
class XadesCheck:
    """Everything the ``xades`` rules read about one signature document."""

    root: etree._Element
    documents: Sequence[tuple[str, bytes]]
    submission_set_unique_id: str | None
    now: dt.datetime
    allow_sha1: bool = True
    trust: Sequence[x509.Certificate] = ()
    certificate: x509.Certificate | None = None
    intermediates: list[x509.Certificate] = field(default_factory=list)  # sent after the signer in X509Data
    certificate_error: str | None = None
    signature_error: str | None = None  # why signxml refused (digest, value, input)
    wrapping: str | None = None
    verified: bool = False
    manifest: etree._Element | None = None  # from the signed data when verified
    signing_time: dt.datetime | None = None
    problems: list[tuple[str, Severity | None]] = field(default_factory=list)  # structural problems


def _xades_rule(rule_id: str, title: str, *, severity: Severity = Severity.ERROR, hint: str | None = None):
    return rules.register(rule_id, kind="xades", title=title, severity=severity, hint=hint,
                          requirement="BENCH-XDS-SIGNATURE")


def _at(element: etree._Element | None, check: XadesCheck, message: str,
        severity: Severity | None = None) -> Violation:
    target = element if element is not None else check.root
    return Violation(message=message, location=xpath_of(target), line=target.sourceline, severity=severity)


@_xades_rule("BENCH-XADES-STRUCTURE", "ds:Signature with a signed IHEManifest, SignedProperties, purposeOfSignature",
             hint="build the signature document as in TD2.1-SignatureXades.xml (IHE DSG manifest + XAdES)")
def structure(check: XadesCheck) -> Iterator[Violation]:
    for problem, severity in check.problems:
        yield _at(check.root, check, problem, severity)


@_xades_rule("BENCH-XADES-SIGNATURE", "The signature (SignedInfo digests and value) verifies",
             hint="sign the final bytes; do not modify the document after signing")
def signature(check: XadesCheck) -> Iterator[Violation]:
    if check.signature_error and not check.wrapping:
        yield _at(check.root.find(f"{_DS}SignatureValue"), check, check.signature_error)


@_xades_rule("BENCH-XADES-WRAPPING", "The manifest read is the one signed", hint="sign one manifest, send it once")
def wrapping(check: XadesCheck) -> Iterator[Violation]:
    if check.wrapping:
        yield _at(check.root, check, check.wrapping)


@_xades_rule("BENCH-XADES-SHA1", "No SHA-1 in the signature document", severity=Severity.WARNING,
             hint="use rsa-sha256/sha256 (the 2019 official example uses SHA-1)")
def sha1(check: XadesCheck) -> Iterator[Violation]:
    used = sorted({e.get("Algorithm", "") for e in check.root.iter(f"{_DS}SignatureMethod", f"{_DS}DigestMethod")}
                  & LEGACY_SHA1)
    if used:
        yield _at(check.root.find(f"{_DS}SignedInfo"), check, f"legacy SHA-1 algorithms used: {', '.join(used)}",
                  severity=None if check.allow_sha1 else Severity.ERROR)


@_xades_rule("BENCH-XADES-CERT-UNREADABLE", "The signer certificate is present and readable",
             hint="embed the DER certificate in ds:KeyInfo/ds:X509Data/ds:X509Certificate")
def certificate_unreadable(check: XadesCheck) -> Iterator[Violation]:
    if check.certificate_error:
        yield _at(check.root.find(f"{_DS}KeyInfo"), check, check.certificate_error)


@_xades_rule("BENCH-XADES-CERT-UNTRUSTED", "The signer certificate chains to a trusted CA",
             hint="sign with the structure seal certificate of the configured CA")
def certificate_untrusted(check: XadesCheck) -> Iterator[Violation]:
    if check.certificate is not None:
        problem = trust_problem(check.certificate, check.trust, check.intermediates)
        if problem:
            yield _at(check.root.find(f"{_DS}KeyInfo"), check, problem)


@_xades_rule("BENCH-XADES-CERT-VALIDITY", "The signer certificate is valid at SigningTime and now",
             hint="renew the certificate")
def certificate_validity(check: XadesCheck) -> Iterator[Violation]:
    if check.certificate is None:
        return
    moments = [(check.now, "now")] + ([(check.signing_time, "SigningTime")] if check.signing_time else [])
    problems = [p for when, what in moments if (p := validity_problem(check.certificate, when, what))]
    if problems:
        yield _at(check.root.find(f"{_DS}KeyInfo"), check, "; ".join(dict.fromkeys(problems)))


@_xades_rule("BENCH-XADES-CERT-USAGE", "The signer certificate is a signature certificate",
             hint="sign with the structure seal (ORG SIGN), not an authentication certificate")
def certificate_usage(check: XadesCheck) -> Iterator[Violation]:
    if check.certificate is not None and not is_signature_certificate(check.certificate):
        yield _at(check.root.find(f"{_DS}KeyInfo"), check,
                  "the signer certificate's keyUsage has neither digitalSignature nor nonRepudiation")


def _signing_certificate_problem(check: XadesCheck, cert_element: etree._Element) -> str | None:
    assert check.certificate is not None
    # DigestMethod/DigestValue read in any namespace: the quirk is reported by BENCH-XADES-STRUCTURE
    method = next(iter(_local(cert_element, "DigestMethod")), None)
    value = next((e.text for e in _local(cert_element, "DigestValue")), None)
    algorithm = method.get("Algorithm", "") if method is not None else ""
    if algorithm not in DIGEST_ALGORITHMS or not value:
        return "SigningCertificate/Cert has no usable CertDigest"
    der = check.certificate.public_bytes(serialization.Encoding.DER)
    if "".join(value.split()) != _b64_digest(algorithm, der):
        return "SigningCertificate's first CertDigest is not the digest of the certificate in KeyInfo"
    serial = next((e.text for e in _local(cert_element, "X509SerialNumber")), None)
    if serial is not None and serial.strip() != str(check.certificate.serial_number):
        return (f"SigningCertificate's X509SerialNumber {serial.strip()} is not the KeyInfo certificate's "
                f"{check.certificate.serial_number}")
    return None


@_xades_rule("BENCH-XADES-SIGNING-CERTIFICATE", "XAdES SigningCertificate designates the KeyInfo certificate",
             hint="put the digest and issuer/serial of the signing certificate first in SigningCertificate")
def signing_certificate(check: XadesCheck) -> Iterator[Violation]:
    if check.certificate is None:
        return
    cert_element = check.root.find(f".//{_XA}SignedProperties/{_XA}SignedSignatureProperties/"
                                   f"{_XA}SigningCertificate/{_XA}Cert")
    if cert_element is None:
        yield _at(check.root, check, "XAdES SigningCertificate/Cert is missing")
    elif problem := _signing_certificate_problem(check, cert_element):
        yield _at(cert_element, check, problem)


@_xades_rule("BENCH-XADES-SIGNING-TIME", "SigningTime present, with a time zone, not in the future",
             hint="write SigningTime as an xs:dateTime with a time zone at the moment of signing")
def signing_time(check: XadesCheck) -> Iterator[Violation]:
    element = check.root.find(f".//{_XA}SigningTime")
    if element is None or check.signing_time is None:
        yield _at(element, check, f"SigningTime is missing or invalid ({element.text if element is not None else None!r})")
    elif check.signing_time > check.now + dt.timedelta(minutes=5):
        yield _at(element, check, f"SigningTime {element.text} is in the future")


def _manifest_references(check: XadesCheck) -> dict[str, etree._Element]:
    assert check.manifest is not None
    found: dict[str, etree._Element] = {}
    for reference in check.manifest.iterfind(f"{_DS}Reference"):
        uri = reference.get("URI", "")
        found[uri.removeprefix("urn:oid:")] = reference
    return found


@_xades_rule("BENCH-XADES-COVERAGE", "The manifest references every document and the SubmissionSet, nothing else",
             hint="list every document uniqueId (urn:oid:…) and the SubmissionSet uniqueId in the IHEManifest")
def coverage(check: XadesCheck) -> Iterator[Violation]:
    if check.manifest is None:
        return
    references = _manifest_references(check)
    uris = [r.get("URI", "") for r in check.manifest.iterfind(f"{_DS}Reference")]
    for uri in sorted({u for u in uris if uris.count(u) > 1}):
        yield _at(check.manifest, check, f"the manifest references {uri} {uris.count(uri)} times")
    expected = {unique_id for unique_id, _ in check.documents}
    for unique_id, _ in check.documents:
        if unique_id not in references:
            yield _at(check.manifest, check, f"document {unique_id} of the submission is not in the manifest")
    if check.submission_set_unique_id:
        expected.add(check.submission_set_unique_id)
        if check.submission_set_unique_id not in references:
            yield _at(check.manifest, check,
                      f"the SubmissionSet {check.submission_set_unique_id} is not referenced by the manifest")
    for unique_id, reference in references.items():
        if unique_id not in expected:
            yield _at(reference, check, f"the manifest references urn:oid:{unique_id}, which is neither a document "
                                        "nor the SubmissionSet of this submission")


def _document_digest(reference: etree._Element, content: bytes) -> tuple[str, str] | str:
    """(expected, actual) digests of ``content`` per ``reference``, or why it cannot be computed."""
    method = reference.find(f"{_DS}DigestMethod")
    algorithm = method.get("Algorithm", "") if method is not None else ""
    if algorithm not in DIGEST_ALGORITHMS:
        return f"unsupported DigestMethod {algorithm!r}"
    transforms = [t.get("Algorithm", "") for t in reference.iterfind(f"{_DS}Transforms/{_DS}Transform")]
    data = content
    for transform in transforms:
        if transform not in _C14N:
            return f"unsupported Transform {transform!r}"
        exclusive, comments = _C14N[transform]
        try:
            data = etree.tostring(parse_xml(data).getroot(), method="c14n", exclusive=exclusive,
                                  with_comments=comments)
        except XmlInputError as exc:
            return f"the document cannot be canonicalised: {exc.message}"
    return "".join((reference.findtext(f"{_DS}DigestValue") or "").split()), _b64_digest(algorithm, data)


@_xades_rule("BENCH-XADES-DOCUMENT-DIGEST", "Each document's digest in the manifest matches its content",
             hint="compute the digest over the exact bytes of the document sent in the submission")
def document_digest(check: XadesCheck) -> Iterator[Violation]:
    if check.manifest is None:
        return
    references = _manifest_references(check)
    for unique_id, content in check.documents:
        reference = references.get(unique_id)
        if reference is None:
            continue
        outcome = _document_digest(reference, content)
        if isinstance(outcome, str):
            yield _at(reference, check, f"document {unique_id}: {outcome}")
        elif outcome[0] != outcome[1]:
            yield _at(reference, check, f"document {unique_id}: manifest digest {outcome[0]} but the document's "
                                        f"is {outcome[1]}: the document differs from the one signed")


def _local(root: etree._Element, name: str) -> list[etree._Element]:
    """Elements called ``name`` in any namespace (the 2019 example puts some in the wrong one)."""
    return [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == name]


def _structure_problems(root: etree._Element) -> list[tuple[str, Severity | None]]:
    if root.tag != f"{_DS}Signature":
        return [(f"the root element is {root.tag}, expected ds:Signature", None)]
    problems: list[tuple[str, Severity | None]] = []
    references = {r.get("URI"): r for r in root.iterfind(f"{_DS}SignedInfo/{_DS}Reference")}
    if f"#{MANIFEST_ID}" not in references:
        problems.append((f"SignedInfo does not reference #{MANIFEST_ID}: the manifest is not signed", None))
    if not any(r.get("Type") == SIGNED_PROPERTIES_TYPE for r in references.values()):
        problems.append(("SignedInfo does not reference the XAdES SignedProperties", None))
    purpose = [p for p in _local(root, "SignatureProperty") if p.get("Id") == "purposeOfSignature"]
    if not purpose or (purpose[0].text or "").strip() != PURPOSE_OF_SIGNATURE:
        problems.append((f"SignatureProperty purposeOfSignature must be {PURPOSE_OF_SIGNATURE}", None))
    own = f"#{root.get('Id')}"
    for element in [*purpose[:1], *_local(root, "QualifyingProperties")]:
        if element.get("Target") != own:
            problems.append((f"{etree.QName(element).localname}/@Target is {element.get('Target')!r}, expected "
                             f"{own!r} (the Signature's Id)", Severity.WARNING))
    for digest in _local(root, "CertDigest"):
        if any(etree.QName(c).namespace != DS_NS for c in digest if isinstance(c.tag, str)):
            problems.append(("CertDigest's DigestMethod/DigestValue are not in the XML-DSig namespace (XAdES "
                             "1.1.1 wants ds:DigestMethod/ds:DigestValue)", Severity.WARNING))
            break
    return problems


def _verify(check: XadesCheck, data: bytes) -> None:
    cert = check.certificate
    assert cert is not None
    when = min(max(check.now, cert.not_valid_before_utc), cert.not_valid_after_utc)  # validity judged by rules
    config = SignatureConfiguration(expect_references=True, signature_methods=frozenset(SignatureMethod),
                                    digest_algorithms=frozenset(DigestAlgorithm), verification_time=when)
    try:
        results = XMLVerifier().verify(data, x509_cert=cert, expect_config=config, validate_schema=False)
    except InvalidDigest as exc:
        check.signature_error = f"a SignedInfo reference does not match its target: {exc}"
    except InvalidSignature as exc:
        check.signature_error = f"SignatureValue does not verify with the certificate's key ({exc})"
    except InvalidInput as exc:
        check.signature_error = f"signature not verifiable: {exc}"
        if "Ambiguous reference" in str(exc):
            check.wrapping = f"{exc}: several elements carry a signed Id (XML signature wrapping)"
    except (SignXMLException, ValueError, etree.LxmlError, UnsupportedAlgorithm) as exc:
        check.signature_error = f"signature not verifiable: {type(exc).__name__}: {exc}"
    else:
        check.verified = True
        signed = [r.signed_xml for r in results if r.signed_xml is not None]  # type: ignore[union-attr]
        # read the manifest only from what was signed, never from the tree (wrapping)
        check.manifest = next((e for e in signed if e.tag == f"{_DS}Manifest" and e.get("Id") == MANIFEST_ID), None)


def _parse_time(text: str | None) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else None


def check_signature_document(xml: bytes, documents: Sequence[tuple[str, bytes]],
                             trust: Sequence[x509.Certificate], *, submission_set_unique_id: str | None = None,
                             now: dt.datetime | None = None, allow_sha1: bool = True) -> list[Finding]:
    """Findings on a XAdES signature document for a submission of ``documents`` ((uniqueId, content) pairs).

    Checks the signature against ``trust``, then that the signed manifest covers exactly the documents (and the
    SubmissionSet when its uniqueId is given) with the right digests. Never raises for bad input.
    """
    try:
        root = parse_xml(xml).getroot()
    except XmlInputError as exc:
        return [exc.to_finding()]
    check = XadesCheck(root=root, documents=documents, submission_set_unique_id=submission_set_unique_id,
                       now=now or dt.datetime.now(dt.UTC), allow_sha1=allow_sha1, trust=list(trust),
                       problems=_structure_problems(root))
    check.signing_time = _parse_time(root.findtext(f".//{_XA}SigningTime"))
    cert_texts = [e.text or "" for e in root.iterfind(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")]
    cert_text = cert_texts[0] if cert_texts else None
    check.intermediates = readable_certificates(cert_texts[1:])
    if root.tag == f"{_DS}Signature":
        if not cert_text:
            check.certificate_error = "no ds:KeyInfo/ds:X509Data/ds:X509Certificate"
        else:
            try:
                check.certificate = certificate_from_text(cert_text)
            except ValueError as exc:
                validity = lenient_validity(cert_text)
                until = f" (it expired on {validity[1]:%Y-%m-%d})" if validity and validity[1] < check.now else ""
                check.certificate_error = f"the signer certificate cannot be read by a strict DER parser{until}: {exc}"
        if check.certificate is not None:
            _verify(check, xml)
        duplicates = [e for e in root.iter() if isinstance(e.tag, str) and e.get("Id") == MANIFEST_ID]
        if len(duplicates) > 1 and not check.wrapping:
            check.wrapping = f"{len(duplicates)} elements carry Id {MANIFEST_ID!r} (XML signature wrapping)"
        if check.manifest is None and not check.wrapping:
            # not verified: still judge the coverage of the manifest as found, so every defect is reported
            check.manifest = root.find(f"{_DS}Object/{_DS}Manifest[@Id='{MANIFEST_ID}']")
    return rules.run("xades", check)
