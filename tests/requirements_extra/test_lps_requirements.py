"""LPS requirements the validators check on the wire: what an LPS request must carry, judged on the serialized
message (SOAP + MTOM parse, XDS body, transaction detection, ``xds`` rules) as the reference DMP judges it."""

from __future__ import annotations

import pytest

import conformance.xds.rules  # noqa: F401  (registers the rules)
from conformance.findings import Finding, rules
from conformance.identity.nir import INS_C_OID
from conformance.soap import parse_message
from conformance.soap.transactions import detect_transaction
from conformance.xds import (
    ProvideAndRegisterRequest,
    Status,
    SubmissionSet,
    SubmitObjectsRequest,
    builders,
    parse_body,
)
from conformance.xds.builders import OutgoingMessage
from conformance.xds.rules import XdsCheck
from tests.xds.samples import INS, PATIENT_ID, sample_submission

ENTRY_UUID = "urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"
PATIENT_RULES = {"BENCH-XDS-PATIENTID", "BENCH-XDS-PATIENTID-KEY"}


def _on_the_wire(outgoing: OutgoingMessage) -> tuple[str | None, list[Finding]]:
    """(detected transaction, ``xds`` findings) of a request once serialized and parsed back."""
    data, content_type = outgoing.to_http()
    message = parse_message(data, content_type)
    detected = detect_transaction(message)
    body = parse_body(message)
    assert body is not None, "the request body is not an XDS message"
    found = rules.run("xds", XdsCheck(body))
    return (detected.transaction.td if detected.transaction else None), found


def _with_patient(patient_id: str) -> ProvideAndRegisterRequest:
    """The sample feed with ``patient_id`` on its SubmissionSet and every DocumentEntry."""
    request = sample_submission()
    for obj in [*request.metadata.submission_sets, *request.metadata.document_entries]:
        obj.patient_id = patient_id
    return request


# --- EX_GEN-1530: only the INS identifies the patient -------------------------------------------------------

@pytest.mark.requirement("EX_GEN-1530")
def test_a_feed_identified_by_the_ins_passes_the_patient_id_rules() -> None:
    _, found = _on_the_wire(builders.td21_request(_with_patient(PATIENT_ID)))
    assert not [f for f in found if f.rule in PATIENT_RULES], [f"{f.rule}: {f.message}" for f in found]


@pytest.mark.requirement("EX_GEN-1530")
@pytest.mark.parametrize("patient_id,rule,why", [
    ("IPP0042^^^&1.2.250.1.999.1.1.4242.2&ISO^PI", "BENCH-XDS-PATIENTID", "a local IPP"),
    (f"{INS}^^^&{INS_C_OID}&ISO^NH", "BENCH-XDS-PATIENTID", "the legacy computed INS-C"),
    (f"{INS[:-2]}00^^^&1.2.250.1.213.1.4.10&ISO^NH", "BENCH-XDS-PATIENTID-KEY", "a NIR with a wrong key"),
], ids=["ipp", "ins-c", "bad-key"])
def test_a_feed_identified_by_anything_but_a_valid_ins_is_refused(patient_id: str, rule: str, why: str) -> None:
    _, found = _on_the_wire(builders.td21_request(_with_patient(patient_id)))
    fired = [f for f in found if f.rule == rule]
    assert fired, f"{rule} did not fire on {why} ({patient_id})"
    assert all(f.location and patient_id.split("^")[0] in f.message for f in fired)


# --- RG_3430: TD3.3c is an ITI-57 UpdateAvailabilityStatus to Deleted ----------------------------------------

def _submission_set() -> SubmissionSet:
    sset = sample_submission().metadata.submission_set
    assert sset is not None
    return sset


@pytest.mark.requirement("RG_3430")
@pytest.mark.parametrize("original", [Status.APPROVED, Status.ARCHIVED])
def test_td33c_delete_is_an_iti57_status_update_to_deleted(original: str) -> None:
    outgoing = builders.td33_status_request(_submission_set(), ENTRY_UUID, original_status=original)
    transaction, found = _on_the_wire(outgoing)
    assert transaction == "TD3.3c", f"detected as {transaction}"
    assert found == [], [f"{f.rule}: {f.message}" for f in found]
    body = parse_body(parse_message(*outgoing.to_http()))
    assert isinstance(body, SubmitObjectsRequest)
    [update] = body.metadata.associations
    assert (update.target, update.new_status) == (ENTRY_UUID, Status.DELETED)


@pytest.mark.requirement("RG_3430")
@pytest.mark.parametrize("original,new,target", [
    (Status.DELETED, Status.APPROVED, ENTRY_UUID),  # "undeleting" is not a transition of JDV_J52
    (Status.APPROVED, Status.DELETED, "1.2.250.1.999.1.1.4242.4.1001"),  # a uniqueId instead of the entryUUID
], ids=["undelete", "unique-id-target"])
def test_a_malformed_deletion_is_reported(original: str, new: str, target: str) -> None:
    outgoing = builders.td33_status_request(_submission_set(), target,
                                            original_status=original, new_status=new)
    _, found = _on_the_wire(outgoing)
    fired = [f for f in found if f.rule == "BENCH-XDS-STATUS-UPDATE"]
    assert fired and all(f.location for f in fired), [f"{f.rule}: {f.message}" for f in found]
