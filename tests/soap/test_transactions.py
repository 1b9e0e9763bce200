import pytest
from lxml import etree

from conformance.soap import build_envelope, parse_envelope, to_bytes
from conformance.soap.transactions import BY_TD, detect_transaction
from conformance.xds import Status, builders

from ..xds.samples import sample_submission

HL7 = "urn:hl7-org:v3"


def _hl7(root_name: str, reason: str) -> etree._Element:
    root = etree.Element(f"{{{HL7}}}{root_name}")
    control = etree.SubElement(root, f"{{{HL7}}}controlActProcess")
    etree.SubElement(control, f"{{{HL7}}}reasonCode", code=reason)
    return root


@pytest.mark.parametrize("root,reason,td", [
    ("PRPA_IN201307UV02", "TEST_EXST", "TD0.2"), ("PRPA_IN201307UV02", "CNSLT_DATA", "TD1.3a"),
    ("PRPA_IN201314UV02", "MODIF_DATA", "TD1.3b"), ("PRPA_IN201314UV02", "FERM", "TD1.4"),
])
def test_hl7v3_transactions_are_told_apart_by_reason_code(root, reason, td):
    action = BY_TD[td].request_action
    message = parse_envelope(to_bytes(build_envelope(_hl7(root, reason), action=action)))
    detected = detect_transaction(message)
    assert detected.transaction is BY_TD[td] and not detected.is_response


@pytest.mark.parametrize("new_status,td", [(Status.DELETED, "TD3.3c"), (Status.ARCHIVED, "TD3.3d"),
                                           (Status.APPROVED, "TD3.3d")])
def test_iti57_delete_and_archive(new_status, td):
    sset = sample_submission().metadata.submission_set
    outgoing = builders.td33_status_request(sset, "urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                                            original_status=Status.ARCHIVED, new_status=new_status)
    message = parse_envelope(to_bytes(outgoing.envelope))
    assert detect_transaction(message).transaction is BY_TD[td]


def test_body_decides_when_the_action_is_unknown():
    message = parse_envelope(to_bytes(build_envelope(_hl7("PRPA_IN201305UV02", "x"), action="urn:example:x")))
    assert detect_transaction(message).transaction is BY_TD["TD0.5"]


def test_cxf_fault_action_maps_to_the_response():
    action = "urn:si-dmp-patients:PatientSpecificEndPoint:updatePatientAccess:Fault:SoapFault"
    message = parse_envelope(to_bytes(build_envelope(None, action=action, reply_to=None, relates_to="urn:uuid:1")))
    detected = detect_transaction(message)
    assert detected.transaction is BY_TD["TD1.5d"] and detected.is_response


def test_unknown_message():
    message = parse_envelope(to_bytes(build_envelope(etree.Element("x"), action="urn:example:x")))
    assert detect_transaction(message).transaction is None
