"""The builders' messages validate against the official annex XSD; broken bodies do not."""

from pathlib import Path

import pytest
from lxml import etree

from conformance.soap import parse_message
from conformance.xds import (
    AdhocQueryResponse,
    RegistryResponse,
    RetrievedDocument,
    RetrieveDocumentSetResponse,
    builders,
)
from conformance.xds.queries import find_documents
from conformance.xds.xsd import XsdUnavailable, schema_source, xsd_findings

from .samples import PATIENT_ID, sample_submission
from .test_rules import metadata_update, registry_response_objects


def _outgoing() -> dict[str, builders.OutgoingMessage]:
    sset = sample_submission().metadata.submission_set
    assert sset is not None
    return {
        "TD2.1": builders.td21_request(sample_submission()),
        "TD3.1": builders.td31_request(find_documents(PATIENT_ID)),
        "TD3.2": builders.td32_request(["1.2.3"]),
        "TD3.3c": builders.td33_status_request(sset, "urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
        "TD3.3a": builders.td33_metadata_update_request(sset, metadata_update().metadata.document_entries[0], "1"),
        "TD2.1 response": builders.registry_response(RegistryResponse.failure("XDSUnknownPatientId", "inconnu")),
        "TD3.1 response": builders.query_response(AdhocQueryResponse(objects=registry_response_objects(),
                                                                     total_result_count=2, start_index=0)),
        "TD3.2 response": builders.retrieve_response(RetrieveDocumentSetResponse(
            RegistryResponse(), [RetrievedDocument("1.2.250.1.213.4.1.1.1.2", "1.2.3", "text/xml", b"<x/>")])),
    }


@pytest.mark.parametrize("name", list(_outgoing()))
def test_builder_messages_are_schema_valid(dmp_lps_package: Path, name: str):
    body, content_type = _outgoing()[name].to_http()
    message = parse_message(body, content_type)
    assert message.body is not None
    assert xsd_findings(message.body, dmp_lps_package) == []


def test_schema_errors_are_located(dmp_lps_package: Path):
    body, content_type = _outgoing()["TD3.1"].to_http()
    message = parse_message(body, content_type)
    assert message.body is not None
    etree.SubElement(message.body, "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}Bogus")
    [finding] = xsd_findings(message.body, dmp_lps_package)
    assert finding.rule == "XSD" and "Bogus" in finding.message


def test_missing_package_is_a_clear_error(tmp_path: Path):
    with pytest.raises(XsdUnavailable):
        xsd_findings(etree.Element("{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryResponse"), tmp_path)


@pytest.mark.parametrize("tag,source", [
    ("{urn:ihe:iti:xds-b:2007}RetrieveDocumentSetRequest", "schema/IHE/XDS.b_DocumentRepository.xsd"),
    ("{urn:hl7-org:v3}PRPA_IN201307UV02", "schema/HL7V3/NE2009/multicacheschemas/PRPA_IN201307UV02.xsd"),
    ("{urn:hl7-org:v3}PRPA_IN201305UV02", "schema/HL7V3/NE2008/multicacheschemas/PRPA_IN201305UV02.xsd"),
    ("{urn:si-dmp-habilitations}setAuthorization", "wsdl/Habilitations.wsdl"),
    ("{http://www.cnamts.fr/INSiResultat}RESULTAT", None),
])
def test_schema_chosen_by_body_element(tag: str, source: str | None):
    assert schema_source(tag) == source


def test_dmp_service_bodies_validate_against_their_wsdl_schema(dmp_lps_package: Path):
    # shaped like the official TD0.3 request (its children in the service namespace)
    good = etree.fromstring(b"<setAuthorization xmlns='urn:si-dmp-habilitations'><action>AJOUT</action>"
                            b"</setAuthorization>")
    assert xsd_findings(good, dmp_lps_package) == []
    bad = etree.fromstring(b"<setAuthorization xmlns='urn:si-dmp-habilitations'><verb>AJOUT</verb>"
                           b"</setAuthorization>")
    assert [f.rule for f in xsd_findings(bad, dmp_lps_package)] == ["XSD"]
    removed = etree.fromstring(b"<p:createPatientAccess xmlns:p='urn:si-dmp-patients'/>")
    [finding] = xsd_findings(removed, dmp_lps_package)
    assert finding.rule == "BENCH-XSD-UNDECLARED" and not finding.is_error
