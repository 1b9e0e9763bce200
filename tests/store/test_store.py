"""Store behaviour: atomic submissions, replacement, queries, updates, authorizations, history, captures."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from pathlib import Path

import pytest

from conformance.store import (
    SCHEMA_VERSION,
    AccessMode,
    AuthorizationStatus,
    DuplicateUniqueId,
    EntryStatus,
    FindDocumentsQuery,
    InvalidSubmission,
    Store,
    StoreError,
    UnknownPatient,
    current_version,
    migrate,
)
from tests.store.factory import PATIENT_CX, PATIENT_INS, PATIENT_OID, entry, oid, submission

OTHER_CX = f"180019238001045^^^&{PATIENT_OID}&ISO^NH"


def test_migrate_is_idempotent(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    assert current_version(store.engine) == SCHEMA_VERSION
    assert migrate(store.engine) == SCHEMA_VERSION
    assert Store.open(sqlite_url).patient(PATIENT_INS) is None
    store.close()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    store.close()


def test_register_then_find_and_read_same_bytes(store: Store) -> None:
    uid = oid()
    result = store.register_submission(submission(entry(uid), content=b"<ClinicalDocument/>"))
    stored_uuid = result.entry_uuids[f"doc-{uid}"]
    assert stored_uuid.startswith("urn:uuid:")
    [found] = store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX))
    assert (found.entry_uuid, found.lid, found.version) == (stored_uuid, stored_uuid, 1)
    assert found.sha1 == hashlib.sha1(b"<ClinicalDocument/>").hexdigest() and found.size == 19
    document = store.document(uid)
    assert document is not None and document.content == b"<ClinicalDocument/>"
    assert store.submission_set(result.submission_set_uuid) is not None


def test_failing_submission_leaves_nothing(store: Store) -> None:
    good, bad = entry(oid()), entry(oid(), patient=OTHER_CX)
    with pytest.raises(InvalidSubmission) as caught:
        store.register_submission(submission(good, bad))
    assert caught.value.code == "XDSPatientIdDoesNotMatch"
    assert store.count_entries() == 0 and store.document(good.unique_id) is None


def test_rplc_to_unknown_entry_rolls_back_everything(store: Store) -> None:
    new = entry(oid())
    with pytest.raises(InvalidSubmission):
        store.register_submission(submission(new, replaces="urn:uuid:00000000-0000-0000-0000-000000000000"))
    assert store.count_entries() == 0 and store.document(new.unique_id) is None


def test_duplicate_unique_id_in_registry_is_refused(store: Store) -> None:
    uid = oid()
    store.register_submission(submission(entry(uid)))
    with pytest.raises(DuplicateUniqueId) as caught:
        store.register_submission(submission(entry(uid)))
    assert caught.value.code == "XDSDuplicateUniqueIdInRegistry"
    assert store.count_entries() == 1


@pytest.mark.parametrize(("build", "code"), [
    (lambda: submission(entry("1.2.3"), entry("1.2.3", symbolic="other")), "XDSRegistryDuplicateUniqueIdInMessage"),
    (lambda: submission(entry(oid(), hash="0" * 40)), "XDSRepositoryMetadataError"),
    (lambda: submission(entry(oid(), size=1)), "XDSRepositoryMetadataError"),
])
def test_invalid_submissions_carry_their_xds_code(store: Store, build: object, code: str) -> None:
    with pytest.raises(StoreError) as caught:
        store.register_submission(build())  # type: ignore[operator]
    assert caught.value.code == code
    assert store.count_entries() == 0


def test_missing_document_part_and_missing_metadata(store: Store) -> None:
    sub = submission(entry(oid()))
    sub.documents.clear()
    with pytest.raises(InvalidSubmission, match="no document part") as caught:
        store.register_submission(sub)
    assert caught.value.code == "XDSMissingDocument"
    sub = submission(entry(oid()))
    sub.entries.clear()
    with pytest.raises(InvalidSubmission) as caught:
        store.register_submission(sub)
    assert caught.value.code == "XDSMissingDocumentMetadata"


def test_unknown_or_closed_patient(store: Store) -> None:
    with pytest.raises(UnknownPatient):
        store.register_submission(submission(entry(oid(), patient=OTHER_CX), patient=OTHER_CX))
    patient = store.patient(PATIENT_CX)
    assert patient is not None
    store.close_dmp(patient.id)
    with pytest.raises(StoreError) as caught:
        store.register_submission(submission(entry(oid())))
    assert caught.value.code == "DMPClosed"


def test_replacement_deprecates_the_replaced_entry(store: Store) -> None:
    old_uid, new_uid = oid(), oid()
    old_uuid = store.register_submission(submission(entry(old_uid))).entry_uuids[f"doc-{old_uid}"]
    result = store.register_submission(submission(entry(new_uid), replaces=old_uuid))
    assert result.deprecated == [old_uuid]
    [active] = store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX))
    assert active.unique_id == new_uid
    [old] = store.entries(uuids=[old_uuid])
    assert old.status == EntryStatus.DEPRECATED
    related, assocs = store.related_documents(result.entry_uuids[f"doc-{new_uid}"])
    assert [r.entry_uuid for r in related] == [old_uuid] and assocs[0].association_type.endswith("RPLC")
    # A deprecated entry cannot be replaced again.
    with pytest.raises(InvalidSubmission) as caught:
        store.register_submission(submission(entry(oid()), replaces=old_uuid))
    assert caught.value.code == "XDSRegistryDeprecatedDocumentError"


def test_find_documents_filters(store: Store) -> None:
    a, b, c = oid(), oid(), oid()
    store.register_submission(submission(
        entry(a, creation_time="20200101", event_codes=["E1^^S"], practice_setting_code="P1^^S"),
        entry(b, class_code="90^^1.2.250.1.213.1.1.4.1", creation_time="20230615120000",
              confidentiality_codes=["N^^2.16.840.1.113883.5.25", "MASQUE_PS^^1.2.250.1.213.1.1.4.13"],
              author_persons=["810000000001"], service_start="20230101", service_stop="20230110"),
        entry(c, creation_time="20240101", format_code="urn:ihe:iti:xds:2017:mimeTypeSufficient^^1.3.6.1.4.1.19376.1.2.3")))

    def find(**kw: object) -> set[str]:
        return {e.unique_id for e in store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX, **kw))}  # type: ignore[arg-type]

    assert find() == {a, b, c}
    assert find(class_codes=["90^^1.2.250.1.213.1.1.4.1"]) == {b}
    assert find(class_codes=["90"]) == {b}  # scheme omitted: any scheme
    assert find(class_codes=["90^^other.scheme"]) == set()
    assert find(confidentiality_codes=["MASQUE_PS^^1.2.250.1.213.1.1.4.13"]) == {b}
    assert find(event_codes=["E1^^S"]) == {a}
    assert find(practice_setting_codes=["P1^^S"]) == {a}
    assert find(format_codes=["urn:ihe:iti:xds:2017:mimeTypeSufficient"]) == {c}
    assert find(author_persons=["8100%"]) == {b}
    assert find(creation_from="2023", creation_to="20240101") == {b}  # To is exclusive
    assert find(creation_from="20240101") == {c}
    assert find(service_start_from="20221231", service_stop_to="20230111") == {b}
    assert find(statuses=[EntryStatus.ARCHIVED.value]) == set()
    assert find(limit=1) == {c}  # newest first
    assert store.find_documents(FindDocumentsQuery(patient_id=OTHER_CX)) == []


def test_status_updates_archive_unarchive_delete(store: Store) -> None:
    uid = oid()
    uuid_ = store.register_submission(submission(entry(uid))).entry_uuids[f"doc-{uid}"]
    store.update_status(uuid_, EntryStatus.ARCHIVED, EntryStatus.APPROVED)
    assert store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX)) == []
    archived = FindDocumentsQuery(patient_id=PATIENT_CX, statuses=[EntryStatus.ARCHIVED.value])
    assert [e.unique_id for e in store.find_documents(archived)] == [uid]
    with pytest.raises(StoreError, match="not urn:oasis"):
        store.update_status(uuid_, EntryStatus.DELETED, EntryStatus.APPROVED)
    store.update_status(uuid_, EntryStatus.APPROVED, EntryStatus.ARCHIVED)
    store.update_status(uuid_, EntryStatus.DELETED)
    assert store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX)) == []
    with pytest.raises(StoreError):
        store.update_status("urn:uuid:unknown", EntryStatus.DELETED)


def test_new_metadata_version_keeps_lid_and_deprecates_previous(store: Store) -> None:
    uid = oid()
    first = store.register_submission(submission(entry(uid))).entry_uuids[f"doc-{uid}"]
    masked = entry(uid, symbolic="new", confidentiality_codes=["N^^2.16.840.1.113883.5.25",
                                                               "MASQUE_PS^^1.2.250.1.213.1.1.4.13"])
    second = store.new_metadata_version(first, masked)
    [latest] = store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX))
    assert (latest.entry_uuid, latest.lid, latest.version) == (second, first, 2)
    assert "MASQUE_PS^^1.2.250.1.213.1.1.4.13" in latest.metadata_json["confidentialityCodes"]
    assert latest.sha1 is not None
    assert store.latest_entry_for_document(uid).entry_uuid == second  # type: ignore[union-attr]
    assert {e.version for e in store.entries(unique_ids=[uid])} == {1, 2}
    with pytest.raises(StoreError):
        store.new_metadata_version(first, masked)  # the first version is Deprecated now


def test_submission_set_and_contents(store: Store) -> None:
    a, b = oid(), oid()
    result = store.register_submission(submission(entry(a), entry(b)))
    found = store.submission_set_and_contents(result.submission_set_uuid)
    assert found is not None
    ss, entries, members = found
    assert {e.unique_id for e in entries} == {a, b} and len(members) == 2
    assert store.submission_set_and_contents(ss.unique_id) is not None
    assert store.submission_set_and_contents("urn:uuid:nope") is None
    assert len(store.associations([result.entry_uuids[f"doc-{a}"]])) == 1


def test_authorizations_grant_revoke_block(store: Store) -> None:
    patient = store.patient(PATIENT_INS, PATIENT_OID)
    assert patient is not None
    store.upsert_professional("899900063480", family_name="MEDECIN", given_name="JEAN", role_code="10")
    _, changed = store.set_authorization(patient.id, "899900063480", AuthorizationStatus.GRANTED, attending=True)
    assert changed
    _, changed = store.set_authorization(patient.id, "899900063480", AuthorizationStatus.GRANTED)
    assert not changed  # already granted: nothing to do
    assert [p.ins for p, _ in store.patients_of_professional("899900063480")] == [PATIENT_INS]
    store.set_authorization(patient.id, "810000000002", AuthorizationStatus.BLOCKED)
    blocked = store.authorizations_of_patient(patient.id, [AuthorizationStatus.BLOCKED])
    assert [a.professional_id_nat for a, _ in blocked] == ["810000000002"]
    store.set_authorization(patient.id, "899900063480", AuthorizationStatus.REVOKED)
    assert store.patients_of_professional("899900063480") == []
    auth = store.authorization(patient.id, "899900063480")
    assert auth is not None and auth.status == AuthorizationStatus.REVOKED


def test_access_history_and_last_dates(store: Store) -> None:
    store.record_access(actor_id="899900063480", transaction="TD3.2", action="retrieve", patient_id=PATIENT_CX,
                        mode=AccessMode.BREAK_GLASS, target="1.2.3")
    store.record_access(actor_id="810000000002", transaction="TD3.1", action="find", patient_id=PATIENT_CX,
                        outcome="denied")
    history = store.access_history(PATIENT_CX)
    assert [(h.transaction, h.mode, h.outcome) for h in history] == [
        ("TD3.2", "break_glass", "allowed"), ("TD3.1", "normal", "denied")]
    assert store.last_dates(PATIENT_CX)["lastAccessDate"] is not None
    assert store.access_history(actor_id="810000000002")[0].action == "find"


def test_captures_round_trip(store: Store) -> None:
    capture = store.add_capture(method="POST", path="/x", request_body=b"\x00raw", peer="127.0.0.1:1")
    store.update_capture(capture.id, status_code=200, response_body=b"ok", findings=[{"rule": "R"}])
    loaded = store.capture(capture.id)
    assert loaded is not None and loaded.request_body == b"\x00raw" and loaded.findings == [{"rule": "R"}]
    assert [c.id for c in store.captures(status_code=200)] == [capture.id]
    assert store.captures(after_id=capture.id) == []
    assert store.purge_captures() == 1


def _feed_same_unique_id(url: str, uid: str, results: list[str]) -> None:
    store = Store.open(url)
    try:
        store.register_submission(submission(entry(uid)))
        results.append("stored")
    except DuplicateUniqueId:
        results.append("duplicate")
    finally:
        store.close()


def test_concurrent_duplicate_unique_id_threads_store_exactly_one(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    store.add_patient(PATIENT_INS, PATIENT_OID)
    uid, results = oid(), []
    threads = [threading.Thread(target=_feed_same_unique_id, args=(sqlite_url, uid, results)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["duplicate"] * 5 + ["stored"]
    assert store.count_entries() == 1


def _process_feed(url: str, uid: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    results: list[str] = []
    _feed_same_unique_id(url, uid, results)
    queue.put(results[0])


def test_concurrent_duplicate_unique_id_processes_store_exactly_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dmp.db'}"
    store = Store.open(url)
    store.add_patient(PATIENT_INS, PATIENT_OID)
    uid = oid()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_process_feed, args=(url, uid, queue)) for _ in range(3)]
    for process in processes:
        process.start()
    outcomes = sorted(queue.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    assert outcomes == ["duplicate", "duplicate", "stored"]
    assert store.count_entries() == 1


def test_bulk_registration_is_all_or_nothing(store: Store) -> None:
    good = [submission(entry(oid())) for _ in range(3)]
    assert len(store.register_submissions(good)) == 3 and store.count_entries() == 3
    with pytest.raises(StoreError):
        store.register_submissions([submission(entry(oid())), submission(entry(good[0].entries[0].unique_id))])
    assert store.count_entries() == 3


def test_migration_upgrades_a_version_1_database(sqlite_url: str) -> None:
    from sqlalchemy import inspect, text

    store = Store.open(sqlite_url)
    with store.engine.begin() as conn:  # back to the v1 schema: no validated_at column
        conn.execute(text("ALTER TABLE captures DROP COLUMN validated_at"))
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (1, CURRENT_TIMESTAMP)"))
    assert current_version(store.engine) == 1
    assert migrate(store.engine) == SCHEMA_VERSION
    assert "validated_at" in {c["name"] for c in inspect(store.engine).get_columns("captures")}
    assert migrate(store.engine) == SCHEMA_VERSION
    store.close()


def test_find_documents_leaves_out_signature_entries(store: Store) -> None:
    signature = entry(oid(), class_code="urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1^^URN")
    store.register_submission(submission(entry(oid()), signature))
    assert len(store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX))) == 1
    assert len(store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX, include_signatures=True))) == 2


def test_in_memory_store_is_safe_across_threads() -> None:
    store = Store.open("sqlite://")
    store.add_patient(PATIENT_INS, PATIENT_OID)
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            for _ in range(5):
                store.register_submission(submission(entry(oid())))
                store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and store.count_entries() == 20
