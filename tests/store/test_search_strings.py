"""FHIR string searches filtered in SQL (the ``search_strings`` table): author names of entries (FHIR facts or
ITI-41 ebRIM), SubmissionSet title / source / authorOrg, Folder titles; the FHIR string semantics (starts with
without case and accents, ``:exact``, ``:contains``) the same on SQLite and PostgreSQL; the row limit applies
after the filter; a v3 database is backfilled by the migration."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from sqlalchemy import delete, inspect, text

from conformance.store import (
    SCHEMA_VERSION,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    NewEntry,
    NewSubmissionSet,
    SearchKind,
    Store,
    StringModifier,
    Submission,
    TextMatch,
    current_version,
    make_engine,
    migrate,
)
from conformance.store.schema import SchemaVersion, SearchString
from conformance.xds import Author, DocumentEntry, SubmissionSet
from conformance.xds.ebrim import document_entry_element, submission_set_element
from tests.store.factory import PATIENT_CX, PATIENT_INS, PATIENT_OID, entry, oid, submission
from tests.store.test_folders import empty_url, with_folder  # noqa: F401  (empty_url: a fixture)

ORDER = "ORD-77^^^&1.2.250.1.999.1&ISO^urn:ihe:iti:xds:2013:order"
FAMILY, GIVEN, TITLE = SearchKind.AUTHOR_FAMILY, SearchKind.AUTHOR_GIVEN, SearchKind.TITLE
EXACT, CONTAINS = StringModifier.EXACT, StringModifier.CONTAINS
LEGRAND = Author(person="810000000555^LEGRAND^Julie^^^^^^&1.2.250.1.71.4.2.1&ISO",
                 institutions=["Clinique^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^3750000055"])


def named(uid: str, *people: tuple[str, str], **fields: Any) -> NewEntry:
    """An entry fed over FHIR: its authors' (given, family) kept in the metadata."""
    names = [{"id": f"8100000000{i}", "family": [family], "given": [given]} for i, (given, family) in enumerate(people)]
    return entry(uid, metadata={"authorNames": names}, **fields)


def soap_entry(uid: str) -> NewEntry:
    """An entry fed over ITI-41: its authors and referenceIdList only in the kept ebRIM."""
    element = document_entry_element(etree.Element("root"), DocumentEntry(id="doc", unique_id=uid, authors=[LEGRAND],
                                                                          reference_ids=[ORDER]))
    return entry(uid, ebrim=etree.tostring(element).decode())


def found(store: Store, *matches: TextMatch, **query: Any) -> set[str]:
    rows = store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX, author_names=list(matches), **query))
    return {r.unique_id for r in rows}


@pytest.mark.requirement("BENCH-PDSM-SEARCH")
def test_the_author_filter_comes_before_the_row_limit(store: Store) -> None:
    """More documents than the limit, the few by a MARTIN all found: the limit counts matches only."""
    martins = {oid() for _ in range(3)}
    others = [named(oid(), ("Jean", "DURAND"), creation_time="20250101") for _ in range(12)]
    store.register_submission(submission(*others, *(named(u, ("Paul", "MARTIN")) for u in martins)))
    assert found(store, TextMatch(FAMILY, ("Martin",)), limit=4) == martins
    assert len(found(store, limit=4)) == 4


@pytest.mark.parametrize(("match", "hit"), [
    (TextMatch(FAMILY, ("lef",)), True), (TextMatch(FAMILY, ("LÉFÈ",)), True), (TextMatch(FAMILY, ("EVRE",)), False),
    (TextMatch(FAMILY, ("Lefèvre-Œil",), EXACT), True), (TextMatch(FAMILY, ("lefèvre-œil",), EXACT), False),
    (TextMatch(FAMILY, ("Lefevre-Œil",), EXACT), False), (TextMatch(FAMILY, ("Lefèvre",), EXACT), False),
    (TextMatch(FAMILY, ("VRE-Œ",), CONTAINS), True), (TextMatch(FAMILY, ("xyz",), CONTAINS), False),
    (TextMatch(FAMILY, ("%",), CONTAINS), False), (TextMatch(FAMILY, ("l_f",)), False),  # LIKE wildcards escaped
    (TextMatch(FAMILY, ("durand", "lef")), True),  # alternatives: OR
    (TextMatch(GIVEN, ("émi",)), True), (TextMatch(GIVEN, ("jean",)), False),
])
def test_fhir_string_semantics(store: Store, match: TextMatch, hit: bool) -> None:
    uid = oid()
    store.register_submission(submission(named(uid, ("Émile", "Lefèvre-Œil"))))
    assert (found(store, match) == {uid}) is hit


def test_given_and_family_match_the_same_author(store: Store) -> None:
    uid = oid()
    store.register_submission(submission(named(uid, ("Paul", "MARTIN"), ("Jean", "DURAND"))))
    assert found(store, TextMatch(GIVEN, ("paul",)), TextMatch(FAMILY, ("martin",))) == {uid}
    assert found(store, TextMatch(GIVEN, ("jean",)), TextMatch(FAMILY, ("durand",))) == {uid}
    assert found(store, TextMatch(GIVEN, ("paul",)), TextMatch(FAMILY, ("durand",))) == set()


def test_ebrim_authors_and_new_metadata_versions_are_searchable(store: Store) -> None:
    uid = oid()
    result = store.register_submission(submission(soap_entry(uid)))
    assert found(store, TextMatch(FAMILY, ("legrand",)), TextMatch(GIVEN, ("Julie",), EXACT)) == {uid}
    [row] = store.entries(unique_ids=[uid])
    masked = NewEntry(entry_uuid="v2", unique_id=uid, patient_id=PATIENT_CX, ebrim=row.ebrim)
    newer = store.new_metadata_version(result.entry_uuids[f"doc-{uid}"], masked)
    rows = store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX, statuses=[], latest_only=True,
                                                   author_names=[TextMatch(FAMILY, ("legrand",))]))
    assert [r.entry_uuid for r in rows] == [newer]


@pytest.mark.parametrize(("cx", "hit"), [
    (ORDER, True), ("ORD-77^^^&1.2.250.1.999.1&ISO", True), ("ORD-77", True), ("ORD-7", False),
    ("ORD-77^^^&1.2.250.1.999.2&ISO", False), ("ORD_77", False),
])
def test_reference_id_list(store: Store, cx: str, hit: bool) -> None:
    uid = oid()
    store.register_submission(submission(soap_entry(uid)))
    assert (found(store, reference_ids=[cx]) == {uid}) is hit


def test_ids_replacements_and_latest_versions_in_sql(store: Store) -> None:
    first, second = oid(), oid()
    old = store.register_submission(submission(entry(first))).entry_uuids[f"doc-{first}"]
    new = store.register_submission(submission(entry(second), replaces=old)).entry_uuids[f"doc-{second}"]
    assert found(store, ids=[first, new]) == {second}  # the first is Deprecated now
    assert found(store, statuses=[], replacing=[old]) == {second}
    assert found(store, statuses=[], replacing=[new]) == set()
    masked = store.new_metadata_version(new, entry(second))
    rows = store.find_documents(FindDocumentsQuery(patient_id=PATIENT_CX, statuses=[], latest_only=True))
    assert {r.entry_uuid for r in rows} == {old, masked}


def set_submission(title: str, submitted: str, *, ebrim: bool = False) -> Submission:
    made = submission(named(oid(), ("Paul", "MARTIN")))
    facts = {"title": title, "source": {"type": "Practitioner", "identifiers": ["810000012345"], "family": ["MARTIN"],
                                        "given": ["Paul"]}, "authorOrg": {"identifiers": ["1750000012"]}}
    made.submission_set = NewSubmissionSet("ss", oid(), PATIENT_CX, source_id="1.2.3", submission_time=submitted,
                                           content_type_code="11488-4^^2.16.840.1.113883.6.1", metadata=facts)
    if ebrim:
        element = submission_set_element(etree.Element("root"), SubmissionSet(id="ss", unique_id=oid(), title=title,
                                                                              authors=[LEGRAND]))
        made.submission_set.metadata, made.submission_set.ebrim = {}, etree.tostring(element).decode()
    return made


@pytest.mark.parametrize(("query", "hit"), [
    ({"texts": [TextMatch(TITLE, ("consult",))]}, True), ({"texts": [TextMatch(TITLE, ("janvier",))]}, False),
    ({"texts": [TextMatch(TITLE, ("janvier",), CONTAINS)]}, True),
    ({"texts": [TextMatch(SearchKind.SOURCE, ("810000012345",), EXACT)]}, True),
    ({"texts": [TextMatch(SearchKind.SOURCE_FAMILY, ("mar",)), TextMatch(SearchKind.SOURCE_GIVEN, ("pa",))]}, True),
    ({"texts": [TextMatch(SearchKind.AUTHOR_ORG, ("1750000099",), EXACT)]}, False),
    ({"source_ids": ["1.2.3"], "content_type_codes": ["11488-4^^"]}, True), ({"source_ids": ["9.9"]}, False),
    ({"submitted_from": "20250115", "submitted_to": "20250116"}, True),  # "20250115" compares as 20250115000000
    ({"submitted_from": "20250116"}, False),
])
def test_submission_set_filters(store: Store, query: dict[str, Any], hit: bool) -> None:
    made = set_submission("Consultation du 15 janvier", "20250115")
    store.register_submission(made)
    rows = store.find_submission_sets(FindSubmissionSetsQuery(patient_id=PATIENT_CX, **query))
    assert (made.submission_set.unique_id in {r.unique_id for r in rows}) is hit


def test_ebrim_submission_sets_and_folder_titles(store: Store) -> None:
    made = set_submission("Bilan", "20250101000000", ebrim=True)
    store.register_submission(made)
    texts = [TextMatch(SearchKind.SOURCE_FAMILY, ("Legrand",)), TextMatch(SearchKind.AUTHOR_ORG, ("3750000055",), EXACT)]
    [row] = store.find_submission_sets(FindSubmissionSetsQuery(patient_id=PATIENT_CX, texts=texts))
    assert row.unique_id == made.submission_set.unique_id
    folder, unique = with_folder(oid())
    store.register_submission(folder)
    titles = [TextMatch(TITLE, ("suivi diabete",))]  # stored "Suivi diabète"
    assert [f.unique_id for f in store.find_folders(FindFoldersQuery(patient_id=PATIENT_CX, titles=titles))] == [unique]
    assert store.find_folders(FindFoldersQuery(patient_id=PATIENT_CX, titles=[TextMatch(TITLE, ("diab",))])) == []


def test_version_3_database_is_backfilled(empty_url: str) -> None:  # noqa: F811
    """A v3 registry (no search strings) with FHIR and ITI-41 entries, SubmissionSets and a Folder: the v4
    migration reads their names from the metadata and the ebRIM."""
    store = Store.open(empty_url)
    store.add_patient(PATIENT_INS, PATIENT_OID)
    fhir_uid, soap_uid = oid(), oid()
    store.register_submission(submission(named(fhir_uid, ("Paul", "MARTIN"))))
    store.register_submission(submission(soap_entry(soap_uid)))
    store.register_submission(set_submission("Bilan", "20250101", ebrim=True))
    folder, unique = with_folder(oid())
    store.register_submission(folder)
    with store.engine.begin() as conn:  # back to what a v3 database holds
        conn.execute(text(f"DROP TABLE {SearchString.__tablename__}"))
        conn.execute(delete(SchemaVersion).where(SchemaVersion.version > 3))
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (3, CURRENT_TIMESTAMP)"))
    store.close()
    engine = make_engine(empty_url)
    assert current_version(engine) == 3 and not inspect(engine).has_table(SearchString.__tablename__)
    assert migrate(engine) == SCHEMA_VERSION == 4
    engine.dispose()
    store = Store.open(empty_url)
    assert fhir_uid in found(store, TextMatch(FAMILY, ("martin",)))
    assert found(store, TextMatch(FAMILY, ("legrand",))) == {soap_uid}
    assert found(store, reference_ids=["ORD-77^^^&1.2.250.1.999.1&ISO"]) == {soap_uid}
    texts = [TextMatch(SearchKind.SOURCE_FAMILY, ("legrand",)), TextMatch(TITLE, ("bil",))]
    assert len(store.find_submission_sets(FindSubmissionSetsQuery(patient_id=PATIENT_CX, texts=texts))) == 1
    titles = [TextMatch(TITLE, ("suivi",))]
    assert [f.unique_id for f in store.find_folders(FindFoldersQuery(patient_id=PATIENT_CX, titles=titles))] == [unique]
    store.close()
