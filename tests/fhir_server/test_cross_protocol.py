"""SOAP ↔ FHIR on one reference DMP over real HTTP: a document fed over ITI-41 is found and read over FHIR with the
XDS ↔ FHIR equivalences, a document fed over ITI-65 is found and retrieved over SOAP, and masking over FHIR
hides the document from SOAP queries of other professionals."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest

from conformance.pki import TestPki
from conformance.suites.pdsm.documents import MASQUE_PS, provide_bundle
from conformance.xds import AdhocQueryResponse, RetrieveDocumentSetResponse
from tests.server.conftest import PATIENT, RunningServer, dmp, pki  # noqa: F401 - the real HTTP server fixtures
from tests.server.factory import feed_request

COLLEAGUE = "810000000002"  # authorized on PATIENT by the server tests' seed
IDENTIFIER = f"urn:oid:{PATIENT.oid}|{PATIENT.value}"
TRE_A03 = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
pytestmark = pytest.mark.requirement("BENCH-PDSM-CROSS")


def _headers(server: RunningServer, subject: str = TestPki.PS_ID_NAT) -> dict[str, str]:
    token = httpx.post(f"{server.url}/fhir/_token", json={"sub": subject}).json()["access_token"]
    return {"authorization": f"Bearer {token}", "content-type": "application/fhir+json"}


def _search(server: RunningServer, subject: str = TestPki.PS_ID_NAT, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/fhir/DocumentReference", headers=_headers(server, subject),
                         params={"patient.identifier": IDENTIFIER, **params})
    assert response.status_code == 200, response.text
    return [e["resource"] for e in response.json().get("entry", [])
            if e["resource"]["resourceType"] == "DocumentReference"]


def _soap_unique_ids(server: RunningServer, subject: str = TestPki.PS_ID_NAT) -> set[str]:
    with server.client(subject) as client:
        result = client.find_documents(PATIENT).xds()
    assert isinstance(result, AdhocQueryResponse)
    return {e.unique_id or "" for e in result.objects.document_entries}


def test_soap_fed_document_is_found_and_read_over_fhir(dmp: RunningServer) -> None:  # noqa: F811
    content = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>cross</title></ClinicalDocument>"
    request, entry = feed_request(PATIENT, content)
    with dmp.client() as client:
        assert client.feed(request, PATIENT).xds().success
    [resource] = _search(dmp, identifier=f"urn:ietf:rfc:3986|urn:oid:{entry.unique_id}")
    stored = dmp.store.latest_entry_for_document(entry.unique_id or "")
    assert stored is not None
    assert resource["id"] == stored.lid.removeprefix("urn:uuid:")
    assert resource["identifier"][0]["value"] == stored.entry_uuid
    assert resource["masterIdentifier"]["value"] == f"urn:oid:{entry.unique_id}"
    assert resource["subject"]["identifier"] == {"system": f"urn:oid:{PATIENT.oid}", "value": PATIENT.value}
    assert resource["status"] == "current"
    assert resource["category"][0]["coding"][0] == {"system": TRE_A03, "code": "11"}  # the URL PDSm's JDV lists
    assert resource["type"]["coding"][0] == {"system": "http://loinc.org", "code": "11488-4"}
    assert resource["securityLabel"][0]["coding"][0]["code"] == "N"
    attachment = resource["content"][0]["attachment"]
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(content).digest()).decode()
    raw = httpx.get(attachment["url"], headers=_headers(dmp))
    assert raw.status_code == 200 and raw.content == content and raw.headers["content-type"] == "text/xml"
    for system in (TRE_A03, "urn:oid:1.2.250.1.213.1.1.4.1"):  # either form of the system finds it
        assert resource["id"] in {r["id"] for r in _search(dmp, category=f"{system}|11")}


def test_fhir_fed_document_is_found_and_retrieved_over_soap(dmp: RunningServer) -> None:  # noqa: F811
    content = b"%PDF-1.4 fed over FHIR"
    bundle = provide_bundle(PATIENT.value, author=TestPki.PS_ID_NAT, content=content)
    response = httpx.post(f"{dmp.url}/fhir", headers=_headers(dmp), json=bundle)
    assert response.status_code == 200, response.text
    unique_id = bundle["entry"][1]["resource"]["masterIdentifier"]["value"].removeprefix("urn:oid:")
    assert unique_id in _soap_unique_ids(dmp)
    with dmp.client() as client:
        retrieved = client.retrieve([unique_id], PATIENT).xds()
    assert isinstance(retrieved, RetrieveDocumentSetResponse) and retrieved.documents[0].content == content
    history = [h for h in dmp.store.access_history(limit=100000) if h.target and unique_id in h.target]
    assert [h.action for h in history][:2] == ["feed", "retrieve"]


def test_masking_over_fhir_hides_from_soap_queries_of_others(dmp: RunningServer) -> None:  # noqa: F811
    bundle = provide_bundle(PATIENT.value, author=TestPki.PS_ID_NAT)
    answer = httpx.post(f"{dmp.url}/fhir", headers=_headers(dmp), json=bundle).json()
    rid = answer["entry"][1]["response"]["location"].split("/")[1]
    unique_id = bundle["entry"][1]["resource"]["masterIdentifier"]["value"].removeprefix("urn:oid:")
    assert unique_id in _soap_unique_ids(dmp, COLLEAGUE)
    patch = httpx.patch(f"{dmp.url}/fhir/DocumentReference/{rid}",
                        headers={**_headers(dmp), "content-type": "application/json-patch+json"},
                        json=[{"op": "add", "path": "/securityLabel/-", "value": {"coding": [MASQUE_PS]}}])
    assert patch.status_code == 200, patch.text
    assert unique_id not in _soap_unique_ids(dmp, COLLEAGUE) and unique_id in _soap_unique_ids(dmp)


@pytest.mark.requirement("BENCH-PDSM-DUPLICATE")
def test_concurrent_publications_of_one_bundle_store_it_once(dmp: RunningServer) -> None:  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    bundle = provide_bundle(PATIENT.value, author=TestPki.PS_ID_NAT)
    headers = _headers(dmp)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: httpx.post(f"{dmp.url}/fhir", headers=headers, json=bundle,
                                                        timeout=60).status_code, range(4)))
    assert statuses == [200, 409, 409, 409]


def _soap_feed(server: RunningServer, content: bytes, replaces: str | None = None) -> tuple[str, str]:
    """ITI-41 of one document; its uniqueId and stored entryUUID."""
    request, entry = feed_request(PATIENT, content, replaces=replaces)
    with server.client() as client:
        assert client.feed(request, PATIENT).xds().success
    stored = server.store.latest_entry_for_document(entry.unique_id or "")
    assert stored is not None
    return entry.unique_id or "", stored.entry_uuid


def test_status_equivalences_rplc_and_archive(dmp: RunningServer) -> None:  # noqa: F811
    from conformance.xds import Status

    old_uid, old_uuid = _soap_feed(dmp, b"<v1/>")
    new_uid, _ = _soap_feed(dmp, b"<v2/>", replaces=old_uuid)
    [old] = _search(dmp, identifier=f"urn:oid:{old_uid}", status="superseded")  # Deprecated ↔ superseded
    [new] = _search(dmp, identifier=f"urn:oid:{new_uid}", status="current")
    assert new["relatesTo"] == [{"code": "replaces", "target": {"reference": f"DocumentReference/{old['id']}"}}]
    archive = [{"op": "add", "path": "/extension", "value": [
        {"url": "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived",
         "valueBoolean": True}]}]
    patched = httpx.patch(f"{dmp.url}/fhir/DocumentReference/{new['id']}", json=archive,
                          headers={**_headers(dmp), "content-type": "application/json-patch+json"})
    assert patched.status_code == 200, patched.text
    with dmp.client() as client:  # isArchived ↔ the DMP's Archived status
        result = client.find_documents(PATIENT, statuses=[Status.ARCHIVED]).xds()
    assert new_uid in {e.unique_id for e in result.objects.document_entries}
