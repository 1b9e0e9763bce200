"""Folders in the store: stored with their submission (or not at all), found by patient, code, time and id,
read back with their documents; schema v2 databases gain the table."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text

from conformance.store import (
    HAS_MEMBER,
    SCHEMA_VERSION,
    EntryStatus,
    FindFoldersQuery,
    InvalidSubmission,
    NewAssociation,
    NewFolder,
    Store,
    Submission,
    current_version,
    make_engine,
    migrate,
)
from conformance.store.schema import Base, Folder
from tests.store.conftest import PG_ENV
from tests.store.factory import PATIENT_CX, PATIENT_OID, entry, oid, submission

CODE = "11488-4^^2.16.840.1.113883.6.1"


def with_folder(*uids: str, patient: str = PATIENT_CX, codes: tuple[str, ...] = (CODE,)) -> tuple[Submission, str]:
    """A submission of documents ``uids`` grouped in a new folder (symbolic id ``folder``); its uniqueId."""
    made = submission(*(entry(uid) for uid in uids))
    unique = oid()
    made.folders = [NewFolder("folder", unique, patient, title="Suivi diabète", codes=list(codes))]
    made.associations += [NewAssociation("ss-folder", HAS_MEMBER, "ss", "folder")]
    made.associations += [NewAssociation(f"f{i}", HAS_MEMBER, "folder", f"doc-{uid}") for i, uid in enumerate(uids)]
    return made, unique


def test_folder_is_stored_with_its_documents(store: Store) -> None:
    first, second = oid(), oid()
    made, unique = with_folder(first, second)
    result = store.register_submission(made)
    folder_uuid = result.folder_uuids["folder"]
    assert folder_uuid.startswith("urn:uuid:") and set(result.entry_uuids) == {f"doc-{first}", f"doc-{second}"}
    found = store.folder_and_contents(unique)
    assert found is not None
    folder, rows, members = found
    assert (folder.entry_uuid, folder.title, folder.codes, folder.status) == (
        folder_uuid, "Suivi diabète", [CODE], EntryStatus.APPROVED.value)
    assert folder.submission_set == result.submission_set_uuid and len(folder.last_update_time or "") == 14
    assert {r.unique_id for r in rows} == {first, second} and {m.source for m in members} == {folder_uuid}
    # the SubmissionSet → Folder HasMember is stored with the resolved folder id
    assert [a.target for a in store.associations([folder_uuid]) if a.source == result.submission_set_uuid] \
        == [folder_uuid]


@pytest.mark.parametrize(("query", "found"), [
    ({}, True), ({"codes": ["11488-4"]}, True), ({"codes": [CODE]}, True), ({"codes": ["11488-4^^other"]}, False),
    ({"codes": ["X"]}, False), ({"statuses": [EntryStatus.DEPRECATED.value]}, False),
    ({"updated_from": "20000101"}, True), ({"updated_to": "20000101"}, False), ({"ids": ["nope"]}, False),
])
def test_find_folders(store: Store, query: dict[str, object], found: bool) -> None:
    made, unique = with_folder(oid())
    store.register_submission(made)
    rows = store.find_folders(FindFoldersQuery(patient_id=PATIENT_CX, **query))  # type: ignore[arg-type]
    assert (unique in {r.unique_id for r in rows}) is found
    assert [r.unique_id for r in store.find_folders(FindFoldersQuery(patient_id=PATIENT_CX, ids=[unique]))] == [unique]


def test_a_folder_of_another_patient_refuses_the_whole_submission(store: Store) -> None:
    uid = oid()
    made, unique = with_folder(uid, patient=f"180019238001045^^^&{PATIENT_OID}&ISO^NH")
    with pytest.raises(InvalidSubmission) as refused:
        store.register_submission(made)
    assert refused.value.code == "XDSPatientIdDoesNotMatch"
    assert store.folder(unique) is None and store.document(uid) is None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """An empty database: a SQLite file, or a scratch schema of the PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(f"no PostgreSQL server: set {PG_ENV}")
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_version_2_database_gains_the_folders_table(empty_url: str) -> None:
    engine = make_engine(empty_url)
    Base.metadata.create_all(engine, tables=[t for t in Base.metadata.sorted_tables if t.name != "folders"])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (2, CURRENT_TIMESTAMP)"))
    assert current_version(engine) == 2 and not inspect(engine).has_table(Folder.__tablename__)
    assert migrate(engine) == SCHEMA_VERSION and inspect(engine).has_table(Folder.__tablename__)
    engine.dispose()
    store = Store.open(empty_url)
    store.add_patient("248039263001064", PATIENT_OID)
    made, unique = with_folder(oid())
    store.register_submission(made)
    assert store.folder(unique) is not None
    store.close()


def test_filing_in_a_registered_folder_updates_its_last_update_time(store: Store) -> None:
    made, unique = with_folder(oid())
    folder_uuid = store.register_submission(made).folder_uuids["folder"]
    with store.engine.begin() as conn:  # as if it had been registered long ago
        conn.execute(text("UPDATE folders SET last_update_time = '20000101000000'"))
    uid = oid()
    later = submission(entry(uid))
    later.associations.append(NewAssociation("file", HAS_MEMBER, folder_uuid, f"doc-{uid}"))
    store.register_submission(later)
    found = store.folder_and_contents(unique)
    assert found is not None and (found[0].last_update_time or "") > "20000101000000"
    assert uid in {r.unique_id for r in found[1]}
    assert store.find_folders(FindFoldersQuery(patient_id=PATIENT_CX, updated_to="20010101")) == []


def test_filing_in_a_folder_of_another_patient_is_refused(store: Store) -> None:
    other = f"180019238001045^^^&{PATIENT_OID}&ISO^NH"
    store.add_patient("180019238001045", PATIENT_OID)
    made, _ = with_folder(oid(), patient=other)
    made.submission_set.patient_id = other
    for document in made.entries:
        document.patient_id = other
    folder_uuid = store.register_submission(made).folder_uuids["folder"]
    uid = oid()
    intruder = submission(entry(uid))
    intruder.associations.append(NewAssociation("file", HAS_MEMBER, folder_uuid, f"doc-{uid}"))
    with pytest.raises(InvalidSubmission):
        store.register_submission(intruder)
    assert store.document(uid) is None


def test_members_are_the_latest_versions_of_the_documents(store: Store) -> None:
    first, second = oid(), oid()
    made, _ = with_folder(first, second)
    result = store.register_submission(made)
    masked = entry(first, confidentiality_codes=["MASQUE_PS^^1.2.250.1.213.1.1.4.13"])
    new_uuid = store.new_metadata_version(result.entry_uuids[f"doc-{first}"], masked)
    folder, sset = result.folder_uuids["folder"], result.submission_set_uuid
    members = store.members([folder, sset, "urn:uuid:nothing"])
    assert {r.entry_uuid for r in members[folder]} == {new_uuid, result.entry_uuids[f"doc-{second}"]}
    assert {r.unique_id for r in members[sset]} == {first, second} and members["urn:uuid:nothing"] == []
    assert store.members([]) == {}
