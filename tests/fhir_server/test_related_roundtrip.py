"""The referenceIdList both ways through the FHIR API, on one reference DMP over real HTTP: ``context.related``
Identifiers of an ITI-65 or ITI-105 feed become referenceIdList CXi values (found by ITI-67 ``related``, by the SOAP
FindDocumentsByReferenceId, carried by the ebRIM the registry answers) and come back as ``context.related``; a
referenceIdList fed over ITI-41 shows as ``context.related`` too, in DocumentReferences PDSm accepts."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from conformance.fhir import default_validator
from conformance.findings import Severity
from conformance.pki import TestPki
from conformance.suites.pdsm.documents import provide_bundle, simplified_publish
from conformance.xds import AdhocQueryResponse
from conformance.xds import DocumentEntry as XdsEntry
from tests.fhir_server.test_cross_protocol import _headers
from tests.fhir_server.test_related import ORDER, _by_reference_id, _related
from tests.server.conftest import PATIENT, RunningServer, dmp, pki  # noqa: F401 - the real HTTP server fixtures
from tests.server.factory import feed_request

pytestmark = pytest.mark.requirement("BENCH-PDSM-SEARCH")


def _related_identifier(value: str, oid: str, kind: str) -> dict[str, Any]:
    """A ``context.related`` of the PDSm slice referenceIdList: an Identifier typed by an IHE URN (CXi.5)."""
    return {"identifier": {"type": {"coding": [{"system": "urn:ietf:rfc:3986", "code": f"urn:ihe:iti:xds:{kind}"}]},
                           "system": f"urn:oid:{oid}", "value": value}}


ACCESSION = _related_identifier("ACC-31", "1.2.250.1.999.31", "2013:accession")
STUDY = _related_identifier("1.2.250.1.999.32.7", "1.2.250.1.999.32", "2016:studyInstanceUID")
ACCESSION_CX = "ACC-31^^^&1.2.250.1.999.31&ISO^urn:ihe:iti:xds:2013:accession"
STUDY_CX = "1.2.250.1.999.32.7^^^&1.2.250.1.999.32&ISO^urn:ihe:iti:xds:2016:studyInstanceUID"


def _feed_over_fhir(server: RunningServer, transaction: str) -> str:
    """An ITI-65 bundle or an ITI-105 DocumentReference whose document has the two related identifiers; its
    uniqueId."""
    bundle = provide_bundle(PATIENT.value, author=TestPki.PS_ID_NAT)
    document = bundle["entry"][1]["resource"]
    document["context"]["related"] = copy.deepcopy([ACCESSION, STUDY])
    body, path = (bundle, "/fhir") if transaction == "ITI-65" else \
        (simplified_publish(PATIENT.value, author=TestPki.PS_ID_NAT), "/fhir/DocumentReference")
    if transaction == "ITI-105":
        body["context"]["related"] = copy.deepcopy([ACCESSION, STUDY])
    response = httpx.post(f"{server.url}{path}", headers=_headers(server), json=body)
    assert response.status_code in (200, 201), response.text
    return str((document if transaction == "ITI-65" else body)["masterIdentifier"]["value"]).removeprefix("urn:oid:")


def _search(server: RunningServer, **params: str) -> httpx.Response:
    response = httpx.get(f"{server.url}/fhir/DocumentReference", headers=_headers(server),
                         params={"patient.identifier": f"urn:oid:{PATIENT.oid}|{PATIENT.value}", **params})
    assert response.status_code == 200, response.text
    return response


def _document(server: RunningServer, unique_id: str) -> dict[str, Any]:
    """The DocumentReference of ``unique_id`` read back (ITI-67 by identifier, then read by its id)."""
    [found] = [e["resource"] for e in _search(server, identifier=f"urn:ietf:rfc:3986|urn:oid:{unique_id}").json()["entry"]
               if e["resource"]["resourceType"] == "DocumentReference"]
    response = httpx.get(f"{server.url}/fhir/DocumentReference/{found['id']}", headers=_headers(server))
    assert response.status_code == 200, response.text
    assert response.json() == found
    return response.json()  # type: ignore[no-any-return]


def _soap_entry(server: RunningServer, unique_id: str) -> XdsEntry:
    """The DocumentEntry the registry answers (FindDocuments, ebRIM) for ``unique_id``."""
    with server.client() as client:
        result = client.find_documents(PATIENT).xds()
    assert isinstance(result, AdhocQueryResponse)
    return next(e for e in result.objects.document_entries if e.unique_id == unique_id)


def _pdsm_errors(response: httpx.Response) -> list[str]:
    """The PDSm validator's errors on an ITI-67 answer, with where they are."""
    result = default_validator().validate_bytes(response.content, "ITI-67 response", profiles=[])
    return [f"{f.rule} at {f.location}: {f.message}" for f in result.findings if f.severity is Severity.ERROR]


@pytest.mark.parametrize("transaction", ["ITI-65", "ITI-105"])
def test_related_identifiers_fed_over_fhir(dmp: RunningServer, transaction: str) -> None:  # noqa: F811
    unique_id = _feed_over_fhir(dmp, transaction)
    assert unique_id in _related(dmp, "urn:oid:1.2.250.1.999.31|ACC-31")
    assert unique_id in _related(dmp, "urn:oid:1.2.250.1.999.32|1.2.250.1.999.32.7")
    assert unique_id not in _related(dmp, "urn:oid:1.2.250.1.999.33|ACC-31")
    assert unique_id in _by_reference_id(dmp, ACCESSION_CX)
    assert unique_id in _by_reference_id(dmp, "1.2.250.1.999.32.7^^^&1.2.250.1.999.32&ISO")
    entry = _soap_entry(dmp, unique_id)
    assert entry.reference_ids == [ACCESSION_CX, STUDY_CX]
    assert (entry.source_patient_id, entry.language_code) == (entry.patient_id, "fr-FR")
    assert _document(dmp, unique_id)["context"]["related"] == [ACCESSION, STUDY]
    errors = _pdsm_errors(_search(dmp, related="urn:oid:1.2.250.1.999.31|ACC-31"))
    assert not errors, errors


def test_reference_id_list_fed_over_soap_reads_as_context_related(dmp: RunningServer) -> None:  # noqa: F811
    request, entry = feed_request(PATIENT)
    entry.reference_ids = [ORDER, "ACC-41^^^&1.2.250.1.999.41&ISO"]
    with dmp.client() as client:
        assert client.feed(request, PATIENT).xds().success
    related = _document(dmp, entry.unique_id or "")["context"]["related"]
    assert related == [_related_identifier("ORD-77", "1.2.250.1.999.1", "2013:order"),
                       {"identifier": {"system": "urn:oid:1.2.250.1.999.41", "value": "ACC-41"}}]
    errors = _pdsm_errors(_search(dmp, identifier=f"urn:ietf:rfc:3986|urn:oid:{entry.unique_id}"))
    assert not errors, errors  # the ITI-41 codes read back with the NOS URLs the PDSm value sets list
