"""Representative transactions against the DMP under test: TD0.2, then TD2.1 feed → TD3.1 find → TD3.2
retrieve."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from conformance.suites.server_role.checks import expect_ok, explain
from conformance.suites.server_role.documents import feed_request

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
CONTENT = (
    "<ClinicalDocument xmlns='urn:hl7-org:v3'><title>Compte rendu été</title></ClinicalDocument>".encode()
)


@pytest.mark.requirement("BENCH-DMP-TD0.2", "RG_0310", "BENCH-DMP-WSA-RESPONSE")
def test_td02_existence_of_an_existing_dmp(dmp_client: Any, dmp_patient: Any) -> None:
    response = dmp_client.test_existence(dmp_patient)
    expect_ok(response, "TD0.2", "urn:hl7-org:v3:PRPA_IN201308UV02")
    assert response.message.relates_to, "the response has no wsa:RelatesTo naming the request MessageID"
    assert response.attribute("acknowledgement", "typeCode") == "AA", "acknowledgement typeCode is not AA"
    assert response.attribute("queryResponseCode", "code") == "OK", (
        "queryResponseCode is not OK (DMP not found?)"
    )


@pytest.fixture(scope="module")
def fed_document() -> dict[str, Any]:
    """Shared between the three steps: what TD2.1 fed (filled by the feed test)."""
    return {}


@pytest.mark.requirement("BENCH-DMP-TD2.1", "EX_2.1-1140", "BENCH-DMP-WSA-RESPONSE")
def test_td21_feed_is_accepted(
    dmp_client: Any, dmp_patient: Any, lps_identity: Any, fed_document: dict[str, Any]
) -> None:
    request, entry = feed_request(
        dmp_patient,
        CONTENT,
        person_id=lps_identity.subject_id,
        structure_id=lps_identity.structure_id,
        signer=lps_identity.xades_signer(),
    )
    response = dmp_client.feed(request, dmp_patient)
    expect_ok(response, "TD2.1", "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse")
    registry = response.xds()
    assert registry.status == SUCCESS and not registry.errors, f"TD2.1 refused: {registry.errors}"
    fed_document["unique_id"] = entry.unique_id


def _fed(fed_document: dict[str, Any]) -> str:
    if "unique_id" not in fed_document:
        pytest.skip("the TD2.1 feed test must pass first")
    return str(fed_document["unique_id"])


@pytest.mark.requirement("BENCH-DMP-TD3.1", "RG_3030")
def test_td31_finds_the_fed_document(dmp_client: Any, dmp_patient: Any, fed_document: dict[str, Any]) -> None:
    unique_id = _fed(fed_document)
    response = dmp_client.find_documents(dmp_patient)
    expect_ok(response, "TD3.1", "urn:ihe:iti:2007:RegistryStoredQueryResponse")
    entries = {e.unique_id: e for e in response.xds().objects.document_entries}
    assert unique_id in entries, f"FindDocuments did not return {unique_id}; found {sorted(entries)}"
    assert entries[unique_id].hash == hashlib.sha1(CONTENT).hexdigest(), (
        "registry hash differs from the fed bytes"
    )


@pytest.mark.requirement("BENCH-DMP-TD3.2", "RG_3210")
def test_td32_retrieves_the_same_bytes(
    dmp_client: Any, dmp_patient: Any, fed_document: dict[str, Any]
) -> None:
    unique_id = _fed(fed_document)
    response = dmp_client.retrieve([unique_id], dmp_patient)
    expect_ok(response, "TD3.2", "urn:ihe:iti:2007:RetrieveDocumentSetResponse")
    assert response.content_type.startswith("multipart/related"), (
        f"TD3.2: expected an MTOM answer, got {response.content_type} ({explain(response)})"
    )
    retrieved = response.xds()
    assert retrieved.response.success, f"TD3.2 refused: {retrieved.response.errors}"
    assert [d.content for d in retrieved.documents] == [CONTENT], (
        "the retrieved document differs from the fed one"
    )


@pytest.mark.requirement("BENCH-DMP-TD3.3c")
def test_td33c_deletes_the_fed_document(
    dmp_client: Any, dmp_patient: Any, lps_identity: Any, fed_document: dict[str, Any]
) -> None:
    from conformance.suites.server_role.documents import update_set
    from conformance.xds import Status

    unique_id = _fed(fed_document)
    entries = {e.unique_id: e for e in dmp_client.find_documents(dmp_patient).xds().objects.document_entries}
    if unique_id not in entries:
        pytest.skip("the TD3.1 test must find the fed document first")
    response = dmp_client.update_status(
        dmp_patient,
        update_set(dmp_patient, lps_identity.subject_id, lps_identity.structure_id),
        entries[unique_id].id,
        original_status=Status.APPROVED,
        new_status=Status.DELETED,
    )
    expect_ok(response, "TD3.3c", "urn:ihe:iti:2010:UpdateDocumentSet-Response")
    registry = response.xds()
    assert registry.status == SUCCESS and not registry.errors, f"TD3.3c refused: {registry.errors}"
    remaining = {e.unique_id for e in dmp_client.find_documents(dmp_patient).xds().objects.document_entries}
    assert unique_id not in remaining, "the deleted document is still returned as Approved"
