"""Builders of store submissions for the tests (no XDS parsing: the store takes plain dataclasses)."""

from __future__ import annotations

import uuid

from conformance.store import (
    HAS_MEMBER,
    RPLC,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewSubmissionSet,
    Submission,
)

PATIENT_INS = "248039263001064"
PATIENT_OID = "1.2.250.1.213.1.4.10"
PATIENT_CX = f"{PATIENT_INS}^^^&{PATIENT_OID}&ISO^NH"
REPOSITORY = "1.2.250.1.213.4.1.1.1.2"
CLASS_CR = "11^^1.2.250.1.213.1.1.4.1"


def oid() -> str:
    return f"1.2.250.1.999.{uuid.uuid4().int % 10**12}"


def entry(unique_id: str, *, patient: str = PATIENT_CX, symbolic: str | None = None, **fields: object) -> NewEntry:
    values: dict[str, object] = {"class_code": CLASS_CR, "type_code": "11488-4^^2.16.840.1.113883.6.1",
                                 "creation_time": "20240102030405", "confidentiality_codes": ["N^^2.16.840.1.113883.5.25"],
                                 "author_persons": ["899900063480"], "author_institutions": ["499900063480001"]}
    values.update(fields)
    return NewEntry(entry_uuid=symbolic or f"doc-{unique_id}", unique_id=unique_id, patient_id=patient,
                    **values)  # type: ignore[arg-type]


def submission(*entries: NewEntry, replaces: str | None = None, content: bytes | None = None,
               patient: str = PATIENT_CX) -> Submission:
    ss = NewSubmissionSet(entry_uuid="ss", unique_id=oid(), patient_id=patient, source_id="1.3.6.1.4.1.48364",
                          submission_time="20240102030405")
    documents = [NewDocument(e.unique_id, content if content is not None else f"<doc id='{e.unique_id}'/>".encode())
                 for e in entries]
    associations = [NewAssociation(f"a{i}", HAS_MEMBER, "ss", e.entry_uuid, {"SubmissionSetStatus": ["Original"]})
                    for i, e in enumerate(entries)]
    if replaces:
        associations.append(NewAssociation("rplc", RPLC, entries[0].entry_uuid, replaces))
    return Submission(submission_set=ss, entries=list(entries), documents=documents, associations=associations,
                      repository_id=REPOSITORY, submitter_id="899900063480")
