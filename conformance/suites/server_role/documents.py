"""Documents and submissions the server-role suite feeds, built with the XDS builders (no hand-written
ebRIM)."""

from __future__ import annotations

from typing import Any

from conformance.xds import Author, Code, DocumentEntry, ProvideAndRegisterRequest
from conformance.xds.builders import (
    SignatureHook,
    new_oid,
    new_submission_set,
    placeholder_signature,
    submission,
    utc_now_dtm,
    xcn,
    xon,
)

LPS_OID = "1.2.250.1.999.42"  # source OID of the bench acting as an LPS
CLASS_CR = Code("11", "1.2.250.1.213.1.1.4.1", "Compte rendu")
TYPE_CR = Code("11488-4", "2.16.840.1.113883.6.1", "Compte rendu de consultation")
FORMAT_PDF = Code("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3", "PDF")
NORMAL = Code("N", "2.16.840.1.113883.5.25", "Normal")
CONTENT_TYPE = Code("04", "1.2.250.1.213.1.1.4.12", "Hospitalisation de jour")


def author(person_id: str, structure_id: str) -> Author:
    """The author is the VIHF subject, as the author rule (EX_2.1-1140) requires."""
    return Author(
        person=xcn(person_id, "LIBRE", "MAX"),
        institutions=[xon("CABINET TEST", structure_id)],
        roles=[],
        specialties=["G15_10/SM26^Médecin^1.2.250.1.213.1.1.4.5"],
    )


def feed_request(
    patient: Any, content: bytes, *, person_id: str, structure_id: str, signer: SignatureHook | None = None
) -> tuple[ProvideAndRegisterRequest, DocumentEntry]:
    """A TD2.1 submission of one document for ``patient`` (an Ins), authored by ``person_id``, its XAdES
    signature made by ``signer`` (``xades_signer(key, cert)``; an unsigned placeholder when None)."""
    now = utc_now_dtm()
    writer = author(person_id, structure_id)
    entry = DocumentEntry(
        id="doc1",
        mime_type="text/xml",
        unique_id=new_oid(LPS_OID),
        patient_id=patient.cx(),
        title="Compte rendu de consultation",
        class_code=CLASS_CR,
        type_code=TYPE_CR,
        format_code=FORMAT_PDF,
        healthcare_facility_type_code=Code("SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel"),
        practice_setting_code=Code("ORG07", "1.2.250.1.213.1.1.4.9", "Généraliste"),
        confidentiality_codes=[NORMAL],
        authors=[writer],
        creation_time=now,
        service_start_time=now,
        service_stop_time=now,
        language_code="fr-FR",
        legal_authenticator=xcn(person_id, "LIBRE", "MAX"),
        source_patient_id=patient.cx(),
    )
    submission_set = new_submission_set(
        patient_id=patient.cx(), author=writer, content_type_code=CONTENT_TYPE, source_id=LPS_OID
    )
    return submission(submission_set, [(entry, content)], signer=signer or placeholder_signature), entry


def update_set(patient: Any, person_id: str, structure_id: str) -> Any:
    """The SubmissionSet of a metadata update (TD3.3): same author and source as the feeds."""
    return new_submission_set(
        patient_id=patient.cx(),
        author=author(person_id, structure_id),
        content_type_code=CONTENT_TYPE,
        source_id=LPS_OID,
    )
