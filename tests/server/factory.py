"""XDS submissions for the server tests, built with the XDS builders (no hand-written ebRIM)."""

from __future__ import annotations

from conformance.identity import Ins
from conformance.pki import TestPki
from conformance.xds import Author, Code, DocumentEntry, ProvideAndRegisterRequest
from conformance.xds.builders import (
    new_oid,
    new_submission_set,
    replacement_association,
    submission,
    utc_now_dtm,
    xcn,
    xon,
)

LPS_OID = "1.2.250.1.999.42"
CLASS_CR = Code("11", "1.2.250.1.213.1.1.4.1", "Compte rendu")
TYPE_CR = Code("11488-4", "2.16.840.1.113883.6.1", "Compte rendu de consultation")
FORMAT = Code("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3", "PDF")
NORMAL = Code("N", "2.16.840.1.113883.5.25", "Normal")
MASQUE_PS = Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux professionnels de santé")


def author(person_id: str = TestPki.PS_ID_NAT, structure_id: str = TestPki.STRUCTURE_ID) -> Author:
    return Author(person=xcn(person_id, "LIBRE", "MAX"), institutions=[xon("CABINET TEST", structure_id)],
                  roles=[], specialties=["G15_10/SM26^Médecin^1.2.250.1.213.1.1.4.5"])


def entry(patient: Ins, *, entry_id: str = "doc1", unique_id: str | None = None, person_id: str = TestPki.PS_ID_NAT,
          structure_id: str = TestPki.STRUCTURE_ID, masked: bool = False, class_code: Code = CLASS_CR) -> DocumentEntry:
    now = utc_now_dtm()
    return DocumentEntry(
        id=entry_id, mime_type="text/xml", unique_id=unique_id or new_oid(LPS_OID), patient_id=patient.cx(),
        title="Compte rendu", class_code=class_code, type_code=TYPE_CR, format_code=FORMAT,
        healthcare_facility_type_code=Code("SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel"),
        practice_setting_code=Code("ORG07", "1.2.250.1.213.1.1.4.9", "Généraliste"),
        confidentiality_codes=[NORMAL, *([MASQUE_PS] if masked else [])],
        authors=[author(person_id, structure_id)], creation_time=now, service_start_time=now,
        service_stop_time=now, language_code="fr-FR")


def feed_request(patient: Ins, content: bytes = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>", *,
                 replaces: str | None = None, **entry_fields: object) -> tuple[ProvideAndRegisterRequest, DocumentEntry]:
    document = entry(patient, **entry_fields)  # type: ignore[arg-type]
    sset = new_submission_set(patient_id=patient.cx(), author=author(
        str(entry_fields.get("person_id", TestPki.PS_ID_NAT)), str(entry_fields.get("structure_id", TestPki.STRUCTURE_ID))),
        content_type_code=Code("04", "1.2.250.1.213.1.1.4.12", "Hospitalisation de jour"), source_id=LPS_OID)
    request = submission(sset, [(document, content)])
    if replaces:
        request.metadata.associations.append(replacement_association(document.id, replaces))
    return request, document


def update_set(patient: Ins) -> object:
    return new_submission_set(patient_id=patient.cx(), author=author(), source_id=LPS_OID,
                              content_type_code=Code("04", "1.2.250.1.213.1.1.4.12", "Hospitalisation de jour"))
