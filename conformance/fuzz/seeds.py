"""Seed messages the fuzzer mutates: built at run time (signed with a run-time PKI) and, when available, the
official example messages of the DMP LPS package."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import NamedTuple

from lxml import etree

SOAP = "application/soap+xml"
SOAP_XML = f"{SOAP}; charset=UTF-8"
PATIENT_CX = "248039263001064^^^&1.2.250.1.213.1.4.10&ISO^NH"
SOURCE_OID = "1.2.250.1.999.42"

CDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="FR"/><typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.2.8.2.1"/><templateId root="1.2.250.1.213.1.1.1.1"/>
  <id root="1.2.250.1.999.42.1.7"/><code code="11488-4" codeSystem="2.16.840.1.113883.6.1"
    displayName="Compte rendu de consultation"/>
  <title>Compte rendu</title><effectiveTime value="20261127101500+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/><languageCode code="fr-FR"/>
  <setId root="1.2.250.1.999.42.1.8"/><versionNumber value="1"/>
  <recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="248039263001064"/>
    <patient><name><given>JEAN</given><family qualifier="BR">DUPONT</family></name>
    <administrativeGenderCode code="M" codeSystem="2.16.840.1.113883.5.1"/>
    <birthTime value="19480326"/></patient>
  </patientRole></recordTarget>
  <author><time value="20261127101500+0100"/>
    <assignedAuthor><id root="1.2.250.1.71.4.2.1" extension="810002345678"/>
    <assignedPerson><name><family>LIBRE</family></name></assignedPerson></assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id root="1.2.250.1.213.4.1"/>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <component><nonXMLBody><text mediaType="text/plain">Texte</text></nonXMLBody></component>
</ClinicalDocument>
"""


class Seed(NamedTuple):
    name: str
    data: bytes
    content_type: str | None


@cache
def builtin_seeds() -> tuple[Seed, ...]:
    """A signed TD2.1 (MTOM), a TD3.1 query (plain SOAP), a bare VIHF, a CDA document and a PDSm bundle."""
    from conformance.client import signed_vihf_factory
    from conformance.fhir.builders import iti65_bundle
    from conformance.pki import TestPki
    from conformance.soap import to_bytes
    from conformance.vihf import AuthMode
    from conformance.xds import Author, Code
    from conformance.xds.builders import (
        document_entry_from_cda,
        new_submission_set,
        submission,
        td21_request,
        td31_request,
        xcn,
        xon,
    )
    from conformance.xds.queries import find_documents

    pki = TestPki.generate("fuzz")
    security = signed_vihf_factory(
        pki.ps_signature,
        mode=AuthMode.DIRECTE,
        subject_id=TestPki.PS_ID_NAT,
        structure_id=TestPki.STRUCTURE_ID,
    )
    author = Author(
        person=xcn(TestPki.PS_ID_NAT, "LIBRE", "MAX"), institutions=[xon("CABINET", TestPki.STRUCTURE_ID)]
    )
    entry = document_entry_from_cda(
        CDA,
        entry_id="doc1",
        class_code=Code("11", "1.2.250.1.213.1.1.4.1", "CR"),
        format_code=Code("urn:ihe:iti:xds-sd:text:2008", "1.3.6.1.4.1.19376.1.2.3"),
    )
    entry.patient_id = PATIENT_CX
    sset = new_submission_set(
        patient_id=PATIENT_CX,
        author=author,
        source_id=SOURCE_OID,
        content_type_code=Code("04", "1.2.250.1.213.1.1.4.12", "Hospitalisation de jour"),
    )
    feed, feed_type = td21_request(submission(sset, [(entry, CDA)]), security=security(PATIENT_CX)).to_http()
    query, query_type = td31_request(find_documents(PATIENT_CX), security=security(PATIENT_CX)).to_http()
    vihf = to_bytes(security(PATIENT_CX)[0])
    return (
        Seed("td2.1-mtom", feed, feed_type),
        Seed("td3.1-soap", query, query_type),
        Seed("vihf", vihf, None),
        Seed("cda", CDA, None),
        Seed("pdsm-bundle", json.dumps(iti65_bundle(2)).encode(), "application/fhir+json"),
    )


def official_seeds(official: Path, limit_bytes: int = 200_000) -> list[Seed]:
    """The example messages of ``official``/dmp-lps-package/examples and VIHF tokens (small ones only)."""
    folder = official / "dmp-lps-package" / "examples"
    found: list[Seed] = []
    for path in sorted(folder.rglob("*.xml")) if folder.is_dir() else []:
        data = path.read_bytes()
        if len(data) <= limit_bytes:
            found.append(Seed(path.name, data, _content_type(data)))
    return found


def _content_type(data: bytes) -> str | None:
    """The content type of a captured message: its MIME boundary when it is a multipart capture."""
    start = data.lstrip()[:200]
    if start.startswith(b"--"):
        boundary = start[2:].split(b"\n", 1)[0].strip().decode("ascii", "replace")
        return f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; start-info="{SOAP}"'
    try:
        etree.fromstring(data)
    except etree.XMLSyntaxError:
        return None
    return SOAP_XML
