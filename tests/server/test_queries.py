"""ITI-18 stored queries beyond FindDocuments: GetDocuments (TD3.1b), GetAssociations, GetSubmissionSetAndContents,
GetRelatedDocuments, ObjectRef results, and the query errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.server.settings import ServerSettings
from conformance.xds import AdhocQueryRequest, AdhocQueryResponse, AssociationType
from conformance.xds.queries import (
    StoredQuery,
    find_documents,
    get_associations,
    get_documents,
    get_related_documents,
    get_submission_set_and_contents,
)
from tests.server.conftest import PATIENT, RunningServer, seeded_store, serving
from tests.server.factory import feed_request


@pytest.fixture(scope="module")
def fed(dmp: RunningServer) -> dict[str, str]:
    """One original and its replacement: their uniqueIds and entryUUIDs, and the replacement's SubmissionSet."""
    ids: dict[str, str] = {}
    with dmp.client() as client:
        for name, replaces in (("old", None), ("new", "old")):
            request, document = feed_request(PATIENT, f"<{name}/>".encode(),
                                             replaces=ids.get(f"{replaces}_uuid") if replaces else None)
            assert client.feed(request, PATIENT).xds().success
            found = client.query(get_documents(unique_ids=[document.unique_id or ""]), PATIENT).xds()
            ids[name] = document.unique_id or ""
            ids[f"{name}_uuid"] = found.objects.document_entries[0].id
            ids[f"{name}_set"] = request.metadata.submission_set.unique_id  # type: ignore[union-attr]
    return ids


def _query(dmp: RunningServer, request: AdhocQueryRequest) -> AdhocQueryResponse:
    with dmp.client() as client:
        response = client.query(request, PATIENT).xds()
    assert isinstance(response, AdhocQueryResponse)
    return response


def test_get_documents_by_uuid_and_unique_id(dmp: RunningServer, fed: dict[str, str]) -> None:
    by_uuid = _query(dmp, get_documents(entry_uuids=[fed["old_uuid"]]))
    by_unique_id = _query(dmp, get_documents(unique_ids=[fed["new"]]))
    assert [e.unique_id for e in by_uuid.objects.document_entries] == [fed["old"]]
    assert by_uuid.objects.document_entries[0].status.endswith("Deprecated")
    assert [e.id for e in by_unique_id.objects.document_entries] == [fed["new_uuid"]]


def test_get_associations_and_related_documents(dmp: RunningServer, fed: dict[str, str]) -> None:
    associations = _query(dmp, get_associations([fed["new_uuid"]])).objects.associations
    types = {a.type for a in associations}
    assert AssociationType.RPLC in types and AssociationType.HAS_MEMBER in types
    related = _query(dmp, get_related_documents([AssociationType.RPLC], entry_uuid=fed["new_uuid"])).objects
    assert {e.id for e in related.document_entries} == {fed["new_uuid"], fed["old_uuid"]}
    assert [(a.source, a.target) for a in related.associations] == [(fed["new_uuid"], fed["old_uuid"])]


def test_get_submission_set_and_contents(dmp: RunningServer, fed: dict[str, str]) -> None:
    result = _query(dmp, get_submission_set_and_contents(unique_id=fed["new_set"])).objects
    assert [s.unique_id for s in result.submission_sets] == [fed["new_set"]]
    assert fed["new"] in {e.unique_id for e in result.document_entries}  # with the signature entry
    assert all(a.type == AssociationType.HAS_MEMBER for a in result.associations)


def test_object_ref_results(dmp: RunningServer, fed: dict[str, str]) -> None:
    result = _query(dmp, find_documents(PATIENT.cx(), return_type="ObjectRef"))
    assert fed["new_uuid"] in {r.id for r in result.objects.object_refs}
    assert not result.objects.document_entries and result.total_result_count == len(result.objects.object_refs)


@pytest.mark.parametrize(("request_", "code"), [
    (AdhocQueryRequest(StoredQuery.FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": [f"'{PATIENT.cx()}'"]}),
     "XDSStoredQueryMissingParam"),
    (AdhocQueryRequest(StoredQuery.FIND_SUBMISSION_SETS, {"$XDSSubmissionSetPatientId": [f"'{PATIENT.cx()}'"],
                                                          "$XDSSubmissionSetStatus": ["('x')"]}),
     "XDSUnknownStoredQuery"),
    (AdhocQueryRequest(StoredQuery.FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": [f"'{PATIENT.cx()}"],
                                                    "$XDSDocumentEntryStatus": ["('x')"]}), "XDSRegistryError"),
    (AdhocQueryRequest(StoredQuery.FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": [f"'{PATIENT.cx()}'"], "$XDSDocumentEntryStatus": ["('x')"],
        "$XDSDocumentEntryCreationTimeFrom": ["'2020'", "'2021'"]}), "XDSStoredQueryParamNumber"),
])
def test_query_errors(dmp: RunningServer, request_: AdhocQueryRequest, code: str) -> None:
    response = _query(dmp, request_)
    assert response.status.endswith("Failure") and response.errors[0].error_code == code


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory, pki: object) -> Iterator[RunningServer]:
    store = seeded_store(f"sqlite:///{tmp_path_factory.mktemp('limit') / 'dmp.db'}")
    settings = ServerSettings(trust=pki.trust, max_query_results=1)  # type: ignore[attr-defined]
    with serving(store, settings, pki) as running:  # type: ignore[arg-type]
        yield running


def test_too_many_results(small_limit: RunningServer) -> None:
    with small_limit.client() as client:
        for name in ("a", "b"):
            assert client.feed(feed_request(PATIENT, f"<{name}/>".encode())[0], PATIENT).xds().success
        response = client.find_documents(PATIENT).xds()
    assert response.errors[0].error_code == "XDSTooManyResults"
