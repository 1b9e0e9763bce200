from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.soap import parse_message
from conformance.xds import (
    Action,
    AdhocQueryRequest,
    AdhocQueryResponse,
    AssociationType,
    Code,
    ProvideAndRegisterRequest,
    RegistryResponse,
    RetrievedDocument,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
    Status,
    SubmitObjectsRequest,
    builders,
    parse_body,
)
from conformance.xds.queries import (
    StoredQuery,
    decode_values,
    find_documents,
    find_submission_sets,
    format_list,
    get_associations,
    get_documents,
    get_related_documents,
    get_submission_set_and_contents,
    missing_parameters,
    parameters_of,
    quote,
)

from .samples import CDA, PATIENT_ID, sample_submission


def _round(outgoing: builders.OutgoingMessage):
    body, content_type = outgoing.to_http()
    message = parse_message(body, content_type)
    assert message.action == outgoing.action and message.message_id == outgoing.message_id
    assert message.findings == []
    return message, parse_body(message)


def test_td21_request_round_trips_with_documents_and_signature():
    request = sample_submission()
    _, parsed = _round(builders.td21_request(request))
    assert isinstance(parsed, ProvideAndRegisterRequest) and parsed == request
    types = [a.type for a in parsed.metadata.associations]
    assert types.count(AssociationType.HAS_MEMBER) == 2 and types.count(AssociationType.SIGNS) == 1
    assert parsed.documents["Doc01"] == CDA
    assert b"IHEManifest" in parsed.documents["Signature01"]


def test_document_entry_from_cda_maps_the_header():
    entry = sample_submission().metadata.document_entries[0]
    assert entry.unique_id == "1.2.250.1.999.1.1.4242.4.1001"
    assert entry.patient_id == PATIENT_ID
    assert entry.creation_time == "20240221123445"  # 13:34:45+0100 in UTC
    assert entry.type_code == Code("11488-4", "2.16.840.1.113883.6.1", "Compte rendu de consultation")
    assert entry.authors[0].person == "810000000001^DURAND^PAUL^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"


@pytest.mark.parametrize("value,expected", [
    ("20190221133445+0100", "20190221123445"), ("20190101003000+0200", "20181231223000"),
    ("20190221133445-0500", "20190221183445"), ("20190221", "20190221"), ("201902211334", "201902211334"),
])
def test_hl7_ts_to_utc(value, expected):
    assert builders.hl7_ts_to_utc(value) == expected


def test_td31_find_documents_like_the_official_request():
    query = find_documents("207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH")
    assert query.parameters == {
        "$XDSDocumentEntryPatientId": ["'207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH'"],
        "$XDSDocumentEntryStatus": ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
    }
    _, parsed = _round(builders.td31_request(query))
    assert parsed == query and missing_parameters(parsed) == []


def test_stored_query_builders_and_decoding():
    query = find_documents("p", statuses=[Status.APPROVED, Status.ARCHIVED], class_codes=[Code("10", "1.2")],
                           creation_time_from="2020")
    assert parameters_of(query)["$XDSDocumentEntryClassCode"] == ["10^^1.2"]
    assert parameters_of(query)["$XDSDocumentEntryStatus"] == [Status.APPROVED, Status.ARCHIVED]
    assert get_documents(unique_ids=["1.2.3"]).query_id == StoredQuery.GET_DOCUMENTS
    assert missing_parameters(AdhocQueryRequest(StoredQuery.GET_DOCUMENTS)) == [
        "$XDSDocumentEntryEntryUUID|$XDSDocumentEntryUniqueId"]
    related = get_related_documents([AssociationType.RPLC], unique_id="1.2.3")
    assert parameters_of(related)["$AssociationTypes"] == [AssociationType.RPLC]
    submission_sets = find_submission_sets("p", source_ids=["1.2.3"], submission_time_from="2024")
    assert submission_sets.query_id == StoredQuery.FIND_SUBMISSION_SETS and missing_parameters(submission_sets) == []
    assert parameters_of(submission_sets)["$XDSSubmissionSetSourceId"] == ["1.2.3"]
    associations = get_associations(["urn:uuid:1", "urn:uuid:2"])
    assert parameters_of(associations) == {"$uuid": ["urn:uuid:1", "urn:uuid:2"]}
    assert parameters_of(get_submission_set_and_contents(entry_uuid="urn:uuid:1")) == {
        "$XDSSubmissionSetEntryUUID": ["urn:uuid:1"]}
    with pytest.raises(ValueError):
        get_documents()


@pytest.mark.parametrize("raw,values", [
    (["'a'"], ["a"]), (["('a','b')"], ["a", "b"]), (["('a')", "('b')"], ["a", "b"]), (["'O''Neil'"], ["O'Neil"]),
    (["(1, 2)"], ["1", "2"]),
])
def test_decode_values(raw, values):
    assert decode_values(raw) == values


@pytest.mark.parametrize("raw", [["'a"], ["('a'"]])
def test_decode_values_rejects_malformed(raw):
    with pytest.raises(ValueError):
        decode_values(raw)


def test_td32_request_and_response_round_trip():
    _, request = _round(builders.td32_request(["1.2.3"]))
    assert isinstance(request, RetrieveDocumentSetRequest)
    assert request.documents[0].document_unique_id == "1.2.3"
    response = RetrieveDocumentSetResponse(RegistryResponse(), [RetrievedDocument("1.2", "1.2.3", "text/xml", CDA)])
    _, parsed = _round(builders.retrieve_response(response, relates_to="urn:uuid:1"))
    assert parsed == response


def test_td33_status_update_and_responses():
    sset = sample_submission().metadata.submission_set
    outgoing = builders.td33_status_request(sset, "urn:uuid:e1", original_status=Status.APPROVED,
                                            new_status=Status.ARCHIVED)
    _, update = _round(outgoing)
    assert isinstance(update, SubmitObjectsRequest)
    association = update.metadata.associations[0]
    assert association.type == AssociationType.UPDATE_AVAILABILITY_STATUS
    assert (association.original_status, association.new_status) == (Status.APPROVED, Status.ARCHIVED)
    message, response = _round(builders.registry_response(RegistryResponse(), request_action=Action.ITI57,
                                                          relates_to=outgoing.message_id))
    assert message.action == Action.ITI57_RESPONSE and message.relates_to == outgoing.message_id
    assert isinstance(response, RegistryResponse) and response.success
    _, query = _round(builders.query_response(AdhocQueryResponse(objects=update.metadata, total_result_count=1)))
    assert query.objects == update.metadata


def test_new_submission_set_times_are_utc():
    sset = builders.new_submission_set(patient_id="p", author=sample_submission().metadata.submission_set.authors[0],
                                       content_type_code=Code("04", "1.2.250.1.213.2.2"), source_id="1.2.3",
                                       now=datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    assert sset.submission_time == "20240101120000" and sset.unique_id.startswith("1.2.3.")


def test_official_cda_in_the_capture_gives_the_same_type_code(dmp_lps_package: Path):
    cda = (dmp_lps_package / "examples" / "TD2.1-DocumentME2.xml").read_bytes()
    entry = builders.document_entry_from_cda(cda, entry_id="d", class_code=Code("10"), format_code=Code("f"))
    assert entry.type_code is not None and entry.type_code.code == "27899-4"


@given(st.lists(st.text(st.sampled_from("a1'(), ^&"), max_size=6), min_size=1, max_size=4))
def test_query_values_format_then_decode(values):
    assert decode_values([format_list(values)]) == values
    assert decode_values([quote(values[0])]) == values[:1]
