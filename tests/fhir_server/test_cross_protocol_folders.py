"""Folders across SOAP and FHIR on one reference DMP over real HTTP: a Folder fed over ITI-41 is stored and found
by FindFolders, GetFolders, GetFolderAndContents, GetFoldersForDocument and ITI-66; a Folder List fed over ITI-65
answers the SOAP stored queries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.pki import TestPki
from conformance.suites.pdsm.documents import provide_bundle
from conformance.xds import AdhocQueryRequest, AdhocQueryResponse, Code, Folder, Status
from conformance.xds.builders import new_oid
from conformance.xds.constants import AssociationType
from conformance.xds.model import Association
from conformance.xds.queries import StoredQuery, format_list, quote
from tests.fhir_server.test_cross_protocol import IDENTIFIER, _headers
from tests.server.conftest import PATIENT, RunningServer, dmp, pki  # noqa: F401 - the real HTTP server fixtures
from tests.server.factory import LPS_OID, feed_request

pytestmark = pytest.mark.requirement("BENCH-PDSM-CROSS")
FOLDER_CODE = Code("11488-4", "2.16.840.1.113883.6.1", "Compte rendu de consultation")


def _query(server: RunningServer, query_id: str, **parameters: str) -> AdhocQueryResponse:
    with server.client() as client:
        result = client.query(AdhocQueryRequest(query_id, {k: [v] for k, v in parameters.items()}), PATIENT).xds()
    assert isinstance(result, AdhocQueryResponse) and result.status.endswith("Success"), result
    return result


def _find_folders(server: RunningServer, **parameters: str) -> AdhocQueryResponse:
    return _query(server, StoredQuery.FIND_FOLDERS, **{"$XDSFolderPatientId": quote(PATIENT.cx()),
                                                       "$XDSFolderStatus": format_list([Status.APPROVED]),
                                                       **parameters})


def _lists(server: RunningServer, **params: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{server.url}/fhir/List", headers=_headers(server),
                         params={"patient.identifier": IDENTIFIER, "code": "folder", **params})
    assert response.status_code == 200, response.text
    return {e["resource"]["id"]: e["resource"] for e in response.json().get("entry", [])}


def test_soap_fed_folder_is_stored_and_found_over_soap_and_fhir(dmp: RunningServer) -> None:  # noqa: F811
    request, entry = feed_request(PATIENT)
    sset = request.metadata.submission_set
    assert sset is not None
    folder = Folder(id="folder1", unique_id=new_oid(LPS_OID), patient_id=PATIENT.cx(), title="Suivi cardiologique",
                    codes=[FOLDER_CODE])
    request.metadata.folders.append(folder)
    request.metadata.associations += [
        Association(id="ss-folder", type=AssociationType.HAS_MEMBER, source=sset.id, target=folder.id),
        Association(id="folder-doc", type=AssociationType.HAS_MEMBER, source=folder.id, target=entry.id)]
    with dmp.client() as client:
        answer = client.feed(request, PATIENT).xds()
    assert answer.success, answer
    stored = dmp.store.folder(folder.unique_id or "")
    assert stored is not None and stored.title == "Suivi cardiologique"

    found = _find_folders(dmp, **{"$XDSFolderCodeList": format_list(["11488-4^^2.16.840.1.113883.6.1"])})
    [listed] = [f for f in found.objects.folders if f.unique_id == folder.unique_id]
    assert listed.id == stored.entry_uuid and listed.status == Status.APPROVED and listed.last_update_time
    assert folder.unique_id not in {f.unique_id for f in _find_folders(
        dmp, **{"$XDSFolderCodeList": format_list(["X^^1.2.3"])}).objects.folders}

    contents = _query(dmp, StoredQuery.GET_FOLDER_AND_CONTENTS, **{"$XDSFolderUniqueId": quote(folder.unique_id or "")})
    assert [f.unique_id for f in contents.objects.folders] == [folder.unique_id]
    assert [e.unique_id for e in contents.objects.document_entries] == [entry.unique_id]
    assert [a.source for a in contents.objects.associations] == [stored.entry_uuid]

    by_id = _query(dmp, StoredQuery.GET_FOLDERS, **{"$XDSFolderEntryUUID": format_list([stored.entry_uuid])})
    assert [f.unique_id for f in by_id.objects.folders] == [folder.unique_id]
    of_document = _query(dmp, StoredQuery.GET_FOLDERS_FOR_DOCUMENT,
                         **{"$XDSDocumentEntryUniqueId": format_list([entry.unique_id or ""])})
    assert [f.unique_id for f in of_document.objects.folders] == [folder.unique_id]

    resource = _lists(dmp, identifier=f"urn:oid:{folder.unique_id}")[stored.entry_uuid.removeprefix("urn:uuid:")]
    assert resource["title"] == "Suivi cardiologique" and len(resource["entry"]) == 1
    document = dmp.store.latest_entry_for_document(entry.unique_id or "")
    assert document is not None
    assert resource["entry"][0]["item"]["reference"] == f"DocumentReference/{document.lid.removeprefix('urn:uuid:')}"


def test_fhir_fed_folder_answers_the_soap_stored_queries(dmp: RunningServer) -> None:  # noqa: F811
    bundle = provide_bundle(PATIENT.value, author=TestPki.PS_ID_NAT, folder=True)
    response = httpx.post(f"{dmp.url}/fhir", headers=_headers(dmp), json=bundle)
    assert response.status_code == 200, response.text
    folder_id = response.json()["entry"][-1]["response"]["location"].split("/")[1]
    unique_id = bundle["entry"][-1]["resource"]["identifier"][0]["value"].removeprefix("urn:oid:")
    assert unique_id in {f.unique_id for f in _find_folders(dmp).objects.folders}
    contents = _query(dmp, StoredQuery.GET_FOLDER_AND_CONTENTS, **{"$XDSFolderEntryUUID": quote(f"urn:uuid:{folder_id}")})
    [folder] = contents.objects.folders
    assert (folder.unique_id, folder.title, [c.code for c in folder.codes]) == (unique_id, "Suivi", ["11488-4"])
    published = bundle["entry"][1]["resource"]["masterIdentifier"]["value"].removeprefix("urn:oid:")
    assert [e.unique_id for e in contents.objects.document_entries] == [published]


def test_folder_of_another_patient_is_refused_and_nothing_is_stored(dmp: RunningServer) -> None:  # noqa: F811
    request, entry = feed_request(PATIENT)
    folder = Folder(id="folder1", unique_id=new_oid(LPS_OID), patient_id="180019238001045^^^&1.2.250.1.213.1.4.10&ISO^NH",
                    title="Ailleurs", codes=[FOLDER_CODE])
    request.metadata.folders.append(folder)
    with dmp.client() as client:
        answer = client.feed(request, PATIENT).xds()
    assert not answer.success and answer.errors[0].error_code == "XDSPatientIdDoesNotMatch"
    assert dmp.store.folder(folder.unique_id or "") is None and dmp.store.document(entry.unique_id or "") is None
