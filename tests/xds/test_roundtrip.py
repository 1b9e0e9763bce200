from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.soap import build_envelope, parse_envelope, parse_message, serialize_message
from conformance.xds import (
    AdhocQueryResponse,
    ProvideAndRegisterRequest,
    RegistryError,
    RegistryResponse,
    ResponseStatus,
    SubmitObjectsRequest,
    parse_body,
    parse_registry_object_list,
    registry_object_list_element,
)
from conformance.xds.messages import AdhocQueryRequest

from .strategies import registry_object_lists

XDS_EXAMPLES = ["TD2.1_Alimentation_requete.xml", "TD2.1_Alimentation_reponse.xml",
                "TD3.1_Recherche_de_document_requete.xml", "TD3.1_Recherche_de_document_reponse.xml",
                "TD3.2_Consultation_dun_document_requete.xml", "TD3.2_Consultation_dun_document_reponse.xml",
                "TD3.3c_Supprimer_un_document_requete.xml", "TD3.3c_Supprimer_un_document_reponse.xml"]


@given(registry_object_lists)
def test_model_to_xml_to_model_is_identity(objects):
    xml = etree.tostring(registry_object_list_element(objects))
    assert parse_registry_object_list(etree.fromstring(xml)) == objects


def _reparse(model):
    attachments = model.attachments() if hasattr(model, "attachments") else []
    data, content_type = serialize_message(build_envelope(model.to_element(), action="x"), attachments)
    return parse_body(parse_message(data, content_type))


@pytest.mark.parametrize("name", XDS_EXAMPLES)
def test_official_examples_round_trip(dmp_lps_package: Path, name: str):
    data = (dmp_lps_package / "examples" / name).read_bytes()
    message = parse_message(data, lenient=True)
    model = parse_body(message)
    assert model is not None
    assert _reparse(model) == model


def test_official_td21_metadata(dmp_lps_package: Path):
    message = parse_message((dmp_lps_package / "examples" / "TD2.1_Alimentation_requete.xml").read_bytes(),
                            lenient=True)
    request = parse_body(message)
    assert isinstance(request, ProvideAndRegisterRequest)
    entry = request.metadata.document_entries[0]
    assert entry.class_code is not None and entry.class_code.code == "10"
    assert [c.code for c in request.metadata.document_entries[1].confidentiality_codes] == [
        "N", "MASQUE_PS", "INVISIBLE_PATIENT"]
    assert request.metadata.signature_entries()[0].id == "Signature01"
    assert set(request.documents) == {"documentME2", "Signature01"}
    assert request.documents["documentME2"].lstrip().startswith(b"<ClinicalDocument")


def test_official_td31_response_has_21_entries(dmp_lps_package: Path):
    data = (dmp_lps_package / "examples" / "TD3.1_Recherche_de_document_reponse.xml").read_bytes()
    response = parse_body(parse_envelope(data))
    assert isinstance(response, AdhocQueryResponse)
    assert response.total_result_count == 21 and len(response.objects.document_entries) == 21
    assert all(len(e.hash or "") == 40 for e in response.objects.document_entries)


def test_submit_objects_request_round_trip_on_update(dmp_lps_package: Path):
    data = (dmp_lps_package / "examples" / "TD3.3c_Supprimer_un_document_requete.xml").read_bytes()
    update = parse_body(parse_envelope(data))
    assert isinstance(update, SubmitObjectsRequest)
    association = update.metadata.associations[0]
    assert association.original_status.endswith("Archived") and association.new_status.endswith("Deleted")


def test_registry_response_with_errors_round_trip():
    response = RegistryResponse(ResponseStatus.FAILURE, [RegistryError("XDSUnknownPatientId", "patient inconnu",
                                                                       location="PatientId")])
    again = RegistryResponse.from_element(etree.fromstring(etree.tostring(response.to_element())))
    assert again == response and not again.success


def test_adhoc_query_request_round_trip():
    query = AdhocQueryRequest("urn:uuid:q", {"$a": ["'x'"], "$b": ["('y','z')"]}, "ObjectRef", False)
    assert AdhocQueryRequest.from_element(etree.fromstring(etree.tostring(query.to_element()))) == query


@given(registry_object_lists, st.lists(st.binary(max_size=64), max_size=3))
def test_provide_and_register_round_trips_through_mtom(objects, contents):
    documents = {entry.id: content for entry, content in zip(objects.document_entries, contents, strict=False)}
    request = ProvideAndRegisterRequest(objects, documents)
    assert _reparse(request) == request
