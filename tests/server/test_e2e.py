"""End to end over real HTTP: feed → find → retrieve, replace, mask, archive/delete, refusals, history."""

from __future__ import annotations

import hashlib
from time import time_ns

import httpx
import pytest

from conformance.pki import TestPki
from conformance.xds import AdhocQueryResponse, RegistryResponse, RetrieveDocumentSetResponse, Status
from conformance.xds.builders import td21_request
from conformance.xds.queries import get_documents
from tests.server.conftest import OTHER_PATIENT, PATIENT, STRANGER, RunningServer
from tests.server.factory import MASQUE_PS, NORMAL, feed_request, update_set

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"


def _feed(dmp: RunningServer, content: bytes, **fields: object) -> tuple[str, str]:
    """Feed one document; return its uniqueId and stored entryUUID."""
    request, document = feed_request(PATIENT, content, **fields)  # type: ignore[arg-type]
    with dmp.client() as client:
        response = client.feed(request, PATIENT)
        assert response.status_code == 200, response.content[:500]
        registry = response.xds()
        assert isinstance(registry, RegistryResponse) and registry.success, registry
        found = client.query(get_documents(unique_ids=[document.unique_id or ""]), PATIENT).xds()
    [stored] = found.objects.document_entries
    return document.unique_id or "", stored.id


def _find(dmp: RunningServer, subject: str = TestPki.PS_ID_NAT, **kw: object) -> dict[str, object]:
    with dmp.client(subject) as client:
        response = client.find_documents(PATIENT, **kw)  # type: ignore[arg-type]
    result = response.xds()
    assert isinstance(result, AdhocQueryResponse), response.content[:500]
    return {e.unique_id: e for e in result.objects.document_entries}


@pytest.mark.requirement("EX_2.1-1140")
@pytest.mark.requirement("BENCH-DMP-TD2.1", "BENCH-DMP-TD3.1", "BENCH-DMP-TD3.2")
def test_feed_find_retrieve_same_bytes_and_hash(dmp: RunningServer) -> None:
    content = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>\xc3\xa9t\xc3\xa9</title></ClinicalDocument>"
    unique_id, entry_uuid = _feed(dmp, content)
    found = _find(dmp)
    entry = found[unique_id]
    assert entry.hash == hashlib.sha1(content).hexdigest() and entry.size == str(len(content))
    assert entry.status == Status.APPROVED and entry.lid == entry_uuid and entry.version == "1"
    assert entry.repository_unique_id == dmp.settings.repository_id
    with dmp.client() as client:
        response = client.retrieve([unique_id], PATIENT)
    assert response.status_code == 200 and response.content_type.startswith("multipart/related")
    retrieved = response.xds()
    assert isinstance(retrieved, RetrieveDocumentSetResponse) and retrieved.response.success
    assert retrieved.documents[0].content == content


@pytest.mark.requirement("BENCH-XDS-RPLC")
def test_replace_deprecates_the_old_entry(dmp: RunningServer) -> None:
    old_uid, old_uuid = _feed(dmp, b"<v1/>")
    new_uid, _ = _feed(dmp, b"<v2/>", replaces=old_uuid)
    found = _find(dmp)
    assert new_uid in found and old_uid not in found
    deprecated = _find(dmp, statuses=[Status.DEPRECATED])
    assert deprecated[old_uid].status == Status.DEPRECATED


@pytest.mark.requirement("EX_2.1-1140")
def test_feed_by_a_non_author_is_refused(dmp: RunningServer) -> None:
    request, _ = feed_request(PATIENT, person_id="899999999999")
    with dmp.client() as client:
        registry = client.feed(request, PATIENT).xds()
    assert not registry.success and registry.errors[0].error_code == "XDSRepositoryMetadataError"
    assert "authorPerson" in registry.errors[0].code_context


def test_masked_document_hidden_from_others_not_from_its_author(dmp: RunningServer) -> None:
    unique_id, _ = _feed(dmp, b"<masked/>", masked=True)
    assert unique_id in _find(dmp)  # the author sees it
    other = "810000000002"  # authorized, not the author
    assert unique_id not in _find(dmp, other)
    with dmp.client(other) as client:
        retrieved = client.retrieve([unique_id], PATIENT).xds()
    assert retrieved.response.errors[0].error_code == "XDSDocumentUniqueIdError" and not retrieved.documents


def test_mask_then_unmask_through_a_metadata_update(dmp: RunningServer) -> None:
    unique_id, entry_uuid = _feed(dmp, b"<to-mask/>")
    entry = _find(dmp)[unique_id]
    entry.confidentiality_codes = [NORMAL, MASQUE_PS]
    entry.id = "update1"
    with dmp.client() as client:
        registry = client.update_metadata(PATIENT, update_set(PATIENT), entry, "1").xds()
    assert registry.success, registry.errors
    assert unique_id not in _find(dmp, "810000000002")
    latest = _find(dmp)[unique_id]
    assert latest.lid == entry_uuid and latest.version == "2" and latest.id != entry_uuid
    history = dmp.store.access_history(PATIENT.cx())
    assert any(h.transaction == "TD3.3a" for h in history)


@pytest.mark.requirement("BENCH-DMP-TD3.3c", "BENCH-XDS-STATUS")
def test_archive_unarchive_delete_change_find_documents(dmp: RunningServer) -> None:
    unique_id, entry_uuid = _feed(dmp, b"<archive-me/>")
    with dmp.client() as client:
        def move(original: str, new: str) -> RegistryResponse:
            return client.update_status(PATIENT, update_set(PATIENT), entry_uuid, original_status=original,  # type: ignore[arg-type]
                                        new_status=new).xds()

        assert move(Status.APPROVED, Status.ARCHIVED).success
        assert unique_id not in _find(dmp)
        assert unique_id in _find(dmp, statuses=[Status.ARCHIVED])
        assert move(Status.ARCHIVED, Status.APPROVED).success
        assert unique_id in _find(dmp)
        wrong = move(Status.DEPRECATED, Status.APPROVED)
        assert not wrong.success and wrong.errors[0].error_code == "XDSMetadataUpdateError"
        assert move(Status.APPROVED, Status.DELETED).success
    assert unique_id not in _find(dmp)
    assert unique_id in _find(dmp, statuses=[Status.DELETED])


def test_unauthorized_professional_gets_the_documented_error(dmp: RunningServer) -> None:
    with dmp.client(STRANGER) as client:
        query = client.find_documents(PATIENT).xds()
        existence = client.test_existence(PATIENT)
    assert query.status.endswith("Failure") and query.errors[0].error_code == "DMPAccessDenied"
    assert existence.attribute("value", "code") == "NON_EXISTE"  # TD0.2 answers, with the authorization status
    denied = [h for h in dmp.store.access_history(PATIENT.cx(), actor_id=STRANGER) if h.outcome == "denied"]
    assert denied and denied[0].transaction == "TD3.1"


def test_patient_id_must_match_the_vihf(dmp: RunningServer) -> None:
    with dmp.client() as client:
        response = client.find_documents(OTHER_PATIENT).xds()  # no authorization on this DMP
        request, _ = feed_request(PATIENT)  # the VIHF names OTHER_PATIENT, the metadata PATIENT
        feed = client.send_outgoing("repository", td21_request(
            request, security=client.vihf_factory(OTHER_PATIENT.cx()))).xds()
    assert response.errors[0].error_code == "DMPAccessDenied"
    assert feed.errors[0].error_code == "XDSPatientIdDoesNotMatch"


def test_retrieve_with_an_entry_uuid_is_a_document_unique_id_error(dmp: RunningServer) -> None:
    _, entry_uuid = _feed(dmp, b"<by-uuid/>")
    with dmp.client() as client:
        retrieved = client.retrieve([entry_uuid], PATIENT).xds()
    error = retrieved.response.errors[0]
    assert error.error_code == "XDSDocumentUniqueIdError" and entry_uuid in error.code_context


def test_duplicate_unique_id_is_refused(dmp: RunningServer) -> None:
    unique_id, _ = _feed(dmp, b"<dup/>")
    request, _ = feed_request(PATIENT, b"<dup2/>", unique_id=unique_id)
    with dmp.client() as client:
        registry = client.feed(request, PATIENT).xds()
    assert registry.errors[0].error_code == "XDSDuplicateUniqueIdInRegistry"


def test_every_access_is_in_the_history(dmp: RunningServer) -> None:
    before = len(dmp.store.access_history(PATIENT.cx()))
    unique_id, _ = _feed(dmp, b"<history/>")
    with dmp.client() as client:
        client.retrieve([unique_id], PATIENT)
    history = httpx.get(f"{dmp.url}/history", params={"patient": PATIENT.cx()}).json()
    assert len(history) >= before + 3  # feed, GetDocuments, retrieve
    assert {"TD2.1", "TD3.1b", "TD3.2"} <= {h["transaction"] for h in history[before:]}
    assert all(h["actor"] == TestPki.PS_ID_NAT for h in history[before:])


def test_concurrent_feeds_of_the_same_unique_id_store_exactly_one(dmp: RunningServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = f"1.2.250.1.999.42.{time_ns()}"
    requests = [feed_request(PATIENT, f"<race n='{i}'/>".encode(), unique_id=shared)[0] for i in range(4)]

    def feed(request: object) -> str:
        with dmp.client() as client:
            registry = client.feed(request, PATIENT).xds()  # type: ignore[arg-type]
        return "stored" if registry.success else registry.errors[0].error_code

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(feed, requests))
    assert outcomes == ["XDSDuplicateUniqueIdInRegistry"] * 3 + ["stored"]
    assert len(dmp.store.entries(unique_ids=[shared])) == 1


@pytest.mark.requirement("BENCH-XDS-SIGNATURE")
def test_a_submission_without_its_signature_document_is_refused(dmp: RunningServer) -> None:
    request, document = feed_request(PATIENT, b"<unsigned-set/>")
    metadata = request.metadata
    signature = metadata.signature_entries()[0]
    metadata.document_entries.remove(signature)
    metadata.associations = [a for a in metadata.associations if signature.id not in (a.source, a.target)]
    del request.documents[signature.id]
    with dmp.client() as client:
        registry = client.feed(request, PATIENT).xds()
    assert registry.errors[0].error_code == "XDSRepositoryMetadataError" and "signature" in registry.errors[0].code_context
    assert dmp.store.document(document.unique_id or "") is None


def test_making_a_document_visible_to_the_patient_is_a_td33b_update(dmp: RunningServer) -> None:
    from conformance.xds import Code

    invisible = Code("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13", "Non visible par le patient")
    request, document = feed_request(PATIENT, b"<not-yet-for-the-patient/>")
    request.metadata.document_entries[0].confidentiality_codes.append(invisible)
    with dmp.client() as client:
        assert client.feed(request, PATIENT).xds().success
        entry = _find(dmp)[document.unique_id]
        entry.confidentiality_codes = [c for c in entry.confidentiality_codes if c.code != "INVISIBLE_PATIENT"]
        entry.id = "visible1"
        assert client.update_metadata(PATIENT, update_set(PATIENT), entry, "1").xds().success
    latest = dmp.store.latest_entry_for_document(document.unique_id or "")
    assert latest is not None and latest.version == 2
    assert not any(c.startswith("INVISIBLE_PATIENT") for c in latest.metadata_json["confidentialityCodes"])
    assert any(h.transaction == "TD3.3b" and h.target == document.unique_id
               for h in dmp.store.access_history(PATIENT.cx()))
    since = httpx.get(f"{dmp.url}/captures", params={"since": "2000-01-01T00:00:00Z", "transaction": "TD3.3b"})
    assert since.status_code == 200 and since.json()
