"""Store queries the FHIR API needs beyond the XDS ones (ITI-66 lists SubmissionSets of a patient)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from conformance.store.schema import SubmissionSet
from conformance.store.store import Store, canonical_cx


def submission_sets_of_patient(store: Store, patient_cx: str, *, unique_ids: Sequence[str] = (),
                               entry_uuids: Sequence[str] = (), limit: int = 1000) -> list[SubmissionSet]:
    """The SubmissionSets of one patient, newest first; optionally only those with these ids."""
    statement = select(SubmissionSet).where(SubmissionSet.patient_id == canonical_cx(patient_cx))
    if unique_ids or entry_uuids:
        statement = statement.where(SubmissionSet.unique_id.in_(list(unique_ids))
                                    | SubmissionSet.entry_uuid.in_(list(entry_uuids)))
    with store.reading() as s:
        return list(s.scalars(statement.order_by(SubmissionSet.id.desc()).limit(limit)))
