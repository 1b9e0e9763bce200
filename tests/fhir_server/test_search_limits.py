"""The FHIR searches on a DMP holding more documents and SubmissionSets than ``max_query_results``: the author and
source filters run in the database, so every match comes back; past the limit ITI-67 and ITI-66 both answer
"too costly" (422) instead of cutting the answer. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from conformance.identity import make_nir
from conformance.server.app import create_app
from conformance.server.fhir import issue_token
from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.store import (
    HAS_MEMBER,
    AuthorizationStatus,
    NewAssociation,
    NewDocument,
    NewSubmissionSet,
    Store,
)
from conformance.store import Submission as StoreSubmission
from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID, provide_bundle
from tests.server.conftest import postgres_store
from tests.store.factory import REPOSITORY, entry, oid

LIMIT = 5
DURAND = "810000000444"


@dataclass
class Dmp:
    http: TestClient
    ins: str
    headers: dict[str, str]

    def search(self, resource: str, **params: str) -> httpx.Response:
        return self.http.get(f"/fhir/{resource}", headers=self.headers, params={
            "patient.identifier": f"urn:oid:{INS_TEST_OID}|{self.ins}", **params})

    def ids(self, resource: str, **params: str) -> set[str]:
        answer = self.search(resource, **params)
        assert answer.status_code == 200, answer.text
        return {e["resource"]["id"] for e in answer.json().get("entry", [])}


def by_durand(store: Store, ins: str) -> None:
    """A document and its SubmissionSet authored by Jean DURAND, as a FHIR feed keeps them."""
    cx, uid = f"{ins}^^^&{INS_TEST_OID}&ISO^NH", oid()
    person = {"type": "Practitioner", "identifiers": [DURAND], "family": ["DURAND"], "given": ["Jean"]}
    fed = entry(uid, patient=cx, author_persons=[DURAND],
                metadata={"authorNames": [{"id": DURAND, "family": ["DURAND"], "given": ["Jean"]}]})
    sset = NewSubmissionSet("ss", oid(), cx, submission_time="20250101000000",
                            metadata={"title": "Bilan", "source": person})
    store.register_submission(StoreSubmission(sset, [fed], [NewDocument(uid, b"<doc/>")],
                                              [NewAssociation("a", HAS_MEMBER, "ss", fed.entry_uuid)], REPOSITORY))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def dmp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dmp]:
    """A DMP whose patient has 2 × LIMIT documents and SubmissionSets by DURAND (a fresh patient on PostgreSQL,
    whose tables other tests share)."""
    url, store = (f"sqlite:///{tmp_path / 'dmp.db'}", None) if request.param == "sqlite" else postgres_store()
    store = store or Store.open(url)
    ins = make_nir("2", 1950 + random.randrange(50), random.randrange(1, 13), "75056", random.randrange(1, 999))
    seed_patient(store, PatientSeed(ins, INS_TEST_OID, authorizations=[(AUTHOR_ID, AuthorizationStatus.GRANTED, True)]))
    for _ in range(2 * LIMIT):
        by_durand(store, ins)
    app = create_app(ServerSettings(db_url=url, validate_requests=False, max_query_results=LIMIT), store)
    headers = {"authorization": f"Bearer {issue_token(app.state.fhir_token_key, {'sub': AUTHOR_ID})}"}
    try:
        with TestClient(app) as http:
            yield Dmp(http, ins, headers)
    finally:
        store.close()


def publish(dmp: Dmp, **kw: Any) -> tuple[str, list[str]]:
    """An ITI-65 feed by Paul MARTIN: the SubmissionSet's id and the DocumentReferences' ids."""
    answer = dmp.http.post("/fhir", json=provide_bundle(dmp.ins, **kw), headers=dmp.headers)
    assert answer.status_code == 200, answer.text
    locations = [e["response"]["location"] for e in answer.json()["entry"]]
    return locations[0].split("/")[1], [loc.split("/")[1] for loc in locations if loc.startswith("DocumentReference/")]


def too_costly(answer: httpx.Response) -> bool:
    return answer.status_code == 422 and answer.json()["issue"][0]["code"] == "too-costly"


@pytest.mark.requirement("BENCH-PDSM-SEARCH")
def test_iti67_author_filter_past_the_row_limit(dmp: Dmp) -> None:
    _, martin = publish(dmp, documents=3)
    assert dmp.ids("DocumentReference", status="current", **{"author.family": "Martin"}) == set(martin)
    assert dmp.ids("DocumentReference", status="current", **{"author.given:exact": "Paul"}) == set(martin)
    assert dmp.ids("DocumentReference", status="current", author=f"Practitioner/{AUTHOR_ID}") == set(martin)
    assert too_costly(dmp.search("DocumentReference", status="current"))
    durand = {"author.family": "durand", "author.given": "Jean"}  # more matches than the limit: refused, not cut
    assert too_costly(dmp.search("DocumentReference", status="current", **durand))
    for nul in ({"author.family": "a\x00"}, {"identifier": "1.2\x00"}):
        assert dmp.search("DocumentReference", **nul).status_code == 400  # never a PostgreSQL error


@pytest.mark.requirement("BENCH-PDSM-ITI66")
def test_iti66_never_cuts_lists(dmp: Dmp) -> None:
    """More SubmissionSets than the limit: 422, as ITI-67; filtered by source, exactly the matching ones."""
    set_id, _ = publish(dmp)
    assert too_costly(dmp.search("List", code="submissionset"))
    assert too_costly(dmp.search("List"))
    assert dmp.ids("List", code="submissionset", **{"source.family": "MARTIN"}) == {set_id}
    assert dmp.ids("List", code="submissionset", source=f"PractitionerRole/{AUTHOR_ID}") == {set_id}
    assert dmp.ids("List", code="submissionset", title="consultation") == {set_id}
    assert too_costly(dmp.search("List", code="submissionset", **{"source.given": "jean"}))
    assert dmp.search("List", **{"title:contains": "\x00"}).status_code == 400
