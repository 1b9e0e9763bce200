"""The referenceIdList of a document fed over ITI-41 (slot urn:ihe:iti:xds:2013:referenceIdList) answers the SOAP
FindDocumentsByReferenceId stored query and the MHD ITI-67 ``related`` parameter (``system|value`` ↔ CXi.4 and
CXi.1), on one reference DMP over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from conformance.xds import AdhocQueryRequest, AdhocQueryResponse, Status
from conformance.xds.queries import StoredQuery, format_list, quote
from tests.fhir_server.test_cross_protocol import IDENTIFIER, _headers
from tests.server.conftest import PATIENT, RunningServer, dmp, pki  # noqa: F401 - the real HTTP server fixtures
from tests.server.factory import feed_request

ORDER = "ORD-77^^^&1.2.250.1.999.1&ISO^urn:ihe:iti:xds:2013:order"
pytestmark = pytest.mark.requirement("BENCH-PDSM-SEARCH")


def _by_reference_id(server: RunningServer, *values: str) -> set[str]:
    parameters = {"$XDSDocumentEntryPatientId": quote(PATIENT.cx()),
                  "$XDSDocumentEntryStatus": format_list([Status.APPROVED]),
                  "$XDSDocumentEntryReferenceIdList": format_list(list(values))}
    with server.client() as client:
        result = client.query(AdhocQueryRequest(StoredQuery.FIND_DOCUMENTS_BY_REFERENCE_ID,
                                                {k: [v] for k, v in parameters.items()}), PATIENT).xds()
    assert isinstance(result, AdhocQueryResponse) and result.status.endswith("Success"), result
    return {e.unique_id or "" for e in result.objects.document_entries}


def _related(server: RunningServer, value: str) -> set[str]:
    """ITI-67 by GET and by POST (form body), which must agree: the masterIdentifier values found."""
    body = httpx.QueryParams({"patient.identifier": IDENTIFIER, "status": "current", "related": value})
    answers = [httpx.get(f"{server.url}/fhir/DocumentReference", params=body, headers=_headers(server)),
               httpx.post(f"{server.url}/fhir/DocumentReference/_search", content=str(body).encode(),
                          headers={**_headers(server), "content-type": "application/x-www-form-urlencoded"})]
    found = []
    for answer in answers:
        assert answer.status_code == 200, answer.text
        found.append({e["resource"]["masterIdentifier"]["value"].removeprefix("urn:oid:")
                      for e in answer.json().get("entry", []) if e["resource"]["resourceType"] == "DocumentReference"})
    assert found[0] == found[1], f"GET and POST _search disagree: {found}"
    return found[0]


def test_reference_id_list_over_soap_and_fhir(dmp: RunningServer) -> None:  # noqa: F811
    request, document = feed_request(PATIENT)
    document.reference_ids = [ORDER]
    with dmp.client() as client:
        assert client.feed(request, PATIENT).xds().success
    uid = document.unique_id
    assert uid in _by_reference_id(dmp, ORDER)
    assert uid in _by_reference_id(dmp, "ORD-77^^^&1.2.250.1.999.1&ISO")  # without the type component
    assert uid not in _by_reference_id(dmp, "ORD-78^^^&1.2.250.1.999.1&ISO")
    assert uid in _related(dmp, "urn:oid:1.2.250.1.999.1|ORD-77")
    assert uid in _related(dmp, "ORD-77")
    assert uid not in _related(dmp, "urn:oid:1.2.250.1.999.2|ORD-77")
