"""The ``soap`` artefact kind on every official example message (requests and responses)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from lxml import etree

from conformance.findings import Severity
from conformance.pki import TestPki
from conformance.soap import WSSE
from conformance.soap.kind import detect
from conformance.validation import ValidationContext, validate_bytes
from conformance.vihf import VihfPolicy, new_vihf, sign_vihf
from conformance.xds import builders

from ..xds.samples import PATIENT_ID, sample_submission

# Error findings the official examples really deserve, with the reason. The test fails when one of them
# disappears (the list must stay true) or when a new error appears (a bench regression or a new defect).
DOCUMENTED_DEFECTS: dict[str, dict[str, str]] = {
    "TD2.1_Alimentation_requete.xml": {
        "BENCH-XDS-DOC-MISSING": "ExtrinsicObject id 'DocumentME2' but xdsb:Document id 'documentME2' (case differs)",
        "BENCH-XDS-DOC-METADATA-MISSING": "the same case mismatch seen from the Document side",
        "BENCH-XDS-DE-TYPECODE": "typeCode 27899-4 is no longer in JDV_J07 (2024 revision); the example dates from 2021",
        "BENCH-XADES-COVERAGE": "the XAdES manifest references uniqueIds of another submission (…7898.3.9956570900, "
                                "…7898.4.9956570902), not this SubmissionSet and DocumentEntry",
        "BENCH-XADES-SIGNATURE": "the SignatureValue of the XAdES document does not verify",
        "BENCH-XADES-CERT-UNTRUSTED": "the replay has no trust store for the 2019 IGC-Santé TEST CA",
    },
    "TD0.5_Recherche_dun_patient_sans_INS_reponse.xml": {
        "XSD": "the PDQv3 response puts codeSystem on a code the NE2008 schema types without it and omits the "
               "required subjectOf2/@typeCode and administrativeObservation/@classCode",
    },
    "TD1.3a_Consultation_requete.xml": {
        "XSD": "unlike the TD0.2 request, its sender/receiver devices use asAgent where NE2009 expects "
               "asLocatedEntity, and respondTo/reasonOf lack their required typeCode",
    },
    "TD3.1_Recherche_de_document_reponse.xml": {
        "BENCH-XDS-DE-UNIQUEID": "uniqueIds such as 1.999888777.1.24 are not OIDs (second arc > 39 under 1)",
        "BENCH-XDS-DE-TYPECODE": "typeCodes of 2021 (27899-4, SYNTH…) are not in the 2024 JDV_J07",
    },
    "TD3.2_Consultation_dun_document_reponse.xml": {
        "BENCH-MTOM-XOP-UNRESOLVED": "the capture kept only the SOAP part: the document's MIME part is absent",
        "BENCH-XDS-RETRIEVE-RESPONSE": "the same missing part, seen by the ITI-43 response rule",
    },
    "TD3.3c_Supprimer_un_document_requete.xml": {
        "XSD": "the author Classification has no classifiedObject and the ExternalIdentifiers no registryObject, "
               "both required by rim.xsd",
    },
    "WS_INS2_rechercherInsAvecTraitsIdentite_reponse.xml": {
        "BENCH-WSA-ACTION": "INSi teleservice (CNAM), not a DMP transaction: no WS-Addressing headers",
        "BENCH-WSA-MESSAGEID": "INSi teleservice: no WS-Addressing headers",
        "BENCH-WSA-REPLYTO": "without wsa:Action or wsa:RelatesTo nothing says it is a response, so it is judged "
                             "as a request",
    },
    "WS_INS2_rechercherInsAvecTraitsIdentite_requete.xml": {
        "BENCH-WSA-REPLYTO": "INSi teleservice: no wsa:ReplyTo",
    },
}
# Responses whose action is shared by two transactions
AMBIGUOUS = {"TD1.3a_Consultation_reponse.xml": {"TD0.2", "TD1.3a"}}


def _messages(package: Path) -> list[Path]:
    return sorted(p for p in (package / "examples").glob("*.xml") if re.search(r"_(requete|reponse)\.xml$", p.name))


def _context(data: bytes, cisis: Path, lps: Path) -> ValidationContext:
    # replay each capture at its own date, so the 2019 VIHF time window is judged as it was then
    issued = re.search(rb'IssueInstant="([^"]+)"', data)
    now = dt.datetime.fromisoformat(issued.group(1).decode().replace("Z", "+00:00")) if issued else None
    return ValidationContext(lenient=True, package_dir=cisis, options={"dmp_lps_package": str(lps), "now": now})


def test_all_examples_are_covered(dmp_lps_package: Path):
    names = {p.name for p in _messages(dmp_lps_package)}
    assert len(names) == 28  # 14 request/response pairs
    assert set(DOCUMENTED_DEFECTS) <= names


@pytest.mark.official
def test_every_official_example_message(dmp_lps_package: Path, cisis_package: Path):
    for path in _messages(dmp_lps_package):
        data = path.read_bytes()
        assert detect(data), path.name
        result = validate_bytes(data, path.name, _context(data, cisis_package, dmp_lps_package))
        assert result.kind == "soap", path.name
        td = path.name.split("_")[0]
        if not path.name.startswith("WS_INS2"):
            assert result.details["transaction"] in AMBIGUOUS.get(path.name, {td}), path.name
            assert result.details["response"] is path.name.endswith("_reponse.xml"), path.name
        errors = {f.rule for f in result.findings if f.severity is Severity.ERROR}
        expected = set(DOCUMENTED_DEFECTS.get(path.name, {}))
        assert errors == expected, (path.name, [f"{f.rule}: {f.message}" for f in result.findings
                                                if f.is_error and f.rule not in expected])


def test_strict_mode_rejects_the_legacy_capture_with_a_hint(dmp_lps_package: Path):
    data = (dmp_lps_package / "examples" / "TD2.1_Alimentation_requete.xml").read_bytes()
    result = validate_bytes(data, "capture", ValidationContext(options={"dmp_lps_package": str(dmp_lps_package)}))
    assert result.kind == "soap" and not result.valid
    [finding] = result.findings
    assert finding.rule == "BENCH-MTOM-CONTENT-TYPE" and "--lenient" in (finding.hint or "")


def test_builder_message_with_a_signed_vihf_validates_without_errors(dmp_lps_package: Path, cisis_package: Path):
    pki = TestPki.generate()
    security = etree.Element(f"{{{WSSE}}}Security")
    security.append(sign_vihf(new_vihf(signer=pki.structure, patient=PATIENT_ID), pki.structure))
    request = sample_submission(signer=builders.xades_signer(pki.structure.key, pki.structure.cert))
    body, content_type = builders.td21_request(request, security=security).to_http()
    context = ValidationContext(package_dir=cisis_package, options={
        "content_type": content_type, "dmp_lps_package": str(dmp_lps_package),
        "vihf_policy": VihfPolicy(trust=[pki.ca.cert])})
    result = validate_bytes(body, "td21", context)
    assert result.details["transaction"] == "TD2.1"
    assert [f"{f.rule}: {f.message}" for f in result.findings if f.severity is not Severity.INFO] == []


@pytest.mark.parametrize("data,expected", [
    (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>', True),
    (b'--b\r\nContent-Type: application/xop+xml\r\n\r\n<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>',
     True),
    (b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>', False),
    (b"", False),
])
def test_detect(data: bytes, expected: bool):
    assert detect(data) is expected


def test_garbage_is_a_finding_not_a_crash():
    result = validate_bytes(b"--b\r\nnot really", "x", ValidationContext(lenient=True), kind="soap")
    assert not result.valid and result.findings[0].rule.startswith("BENCH-MTOM")


def test_a_saved_http_request_is_read_with_its_headers():
    body, content_type = builders.td21_request(sample_submission()).to_http()
    saved = (f"POST /DocumentRepository_Service HTTP/1.1\r\nHost: dmp.example\r\nContent-Type: {content_type}\r\n"
             f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    assert detect(saved)
    result = validate_bytes(saved, "capture.http", ValidationContext())
    assert result.details["transaction"] == "TD2.1" and result.details["attachments"] == 2
    assert not [f for f in result.findings if f.rule.startswith("BENCH-MTOM")]
