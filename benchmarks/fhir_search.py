"""Benchmark of ITI-67 by author name: ``GET /fhir/DocumentReference?patient.identifier=…&author.family=Martin``
on one patient holding 10k documents (``--documents``), 5 % of them by a MARTIN.

The FHIR API runs in process (Starlette TestClient over the real ASGI app) on a SQLite file (or the PostgreSQL
server of ``DMP_CONFORMANCE_PG_URL`` with ``--postgres``, in a scratch schema). Documents are bulk-loaded through
the store API, each with the ebRIM an ITI-41 feed keeps (its authors' names are only there), so the search reads
the same rows as on a DMP fed over SOAP. ``max_query_results`` is set above the number of documents so a
server that filters names after the row limit still answers (it reads every document of the patient); the
line printed gives p50 / p95 and, with ``--baseline MS``, the ratio of a p50 measured on another checkout.

    python benchmarks/fhir_search.py [--documents 10000] [--queries 20] [--postgres] [--baseline P50_MS]

Measured on the 2-core VM (10 queries, 500 matches of 10,000), before (names filtered in Python after reading
every document, ebRIM parsed per row) -> after (``search_strings`` filtered in SQL): SQLite p50 2606 ms -> 78 ms
(33x), PostgreSQL 15 p50 2879 ms -> 48 ms (60x). Registration indexes the names: +0.37 ms per ITI-41 entry.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import text

from conformance.server.app import create_app
from conformance.server.fhir import issue_token
from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.store import (
    HAS_MEMBER,
    AuthorizationStatus,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewSubmissionSet,
    Store,
    Submission,
    make_engine,
)
from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID
from conformance.xds import Author, DocumentEntry
from conformance.xds.ebrim import document_entry_element

INS = "248039263001064"
CX = f"{INS}^^^&{INS_TEST_OID}&ISO^NH"
REPOSITORY = "1.2.250.1.213.4.1.1.1.2"
FAMILIES = ["MARTIN", *(f"NOM{i}" for i in range(19))]  # one document in 20 by a MARTIN


def ebrim_of(family: str) -> str:
    author = Author(person=f"8100000{FAMILIES.index(family):05d}^{family}^Paul^^^^^^&1.2.250.1.71.4.2.1&ISO")
    element = document_entry_element(etree.Element("root"), DocumentEntry(id="doc", unique_id="1.2.3",
                                                                          authors=[author]))
    return etree.tostring(element).decode()


def load(store: Store, documents: int) -> None:
    seed_patient(store, PatientSeed(INS, INS_TEST_OID, authorizations=[(AUTHOR_ID, AuthorizationStatus.GRANTED,
                                                                         True)]))
    ebrims = {family: ebrim_of(family) for family in FAMILIES}
    batch: list[Submission] = []
    for index in range(documents):
        family = FAMILIES[index % len(FAMILIES)]
        unique_id = f"1.2.250.1.999.9.{index}"
        entry = NewEntry(f"e{index}", unique_id, CX, class_code="11^^1.2.250.1.213.1.1.4.1",
                         type_code="11488-4^^2.16.840.1.113883.6.1", creation_time=f"2024{1 + index % 12:02d}01",
                         confidentiality_codes=["N^^2.16.840.1.113883.5.25"], author_persons=[AUTHOR_ID],
                         metadata={"title": "bulk"}, ebrim=ebrims[family])
        batch.append(Submission(NewSubmissionSet("ss", f"1.2.250.1.999.8.{index}", CX), [entry],
                                [NewDocument(unique_id, b"<doc/>")], [NewAssociation("a", HAS_MEMBER, "ss", f"e{index}")],
                                REPOSITORY, AUTHOR_ID))
        if len(batch) == 500:
            store.register_submissions(batch)
            batch = []
    if batch:
        store.register_submissions(batch)


def measure(url: str, documents: int, queries: int) -> list[float]:
    store = Store.open(url)
    started = time.perf_counter()
    load(store, documents)
    print(f"loaded {documents} documents in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    app = create_app(ServerSettings(db_url=url, validate_requests=False, max_query_results=documents * 2), store)
    headers = {"authorization": f"Bearer {issue_token(app.state.fhir_token_key, {'sub': AUTHOR_ID})}"}
    params = {"patient.identifier": f"urn:oid:{INS_TEST_OID}|{INS}", "status": "current", "author.family": "Martin",
              "_count": "0"}  # the time of the search, not of writing 500 resources
    times = []
    with TestClient(app) as client:
        for _ in range(queries):
            started = time.perf_counter()
            answer = client.get("/fhir/DocumentReference", params=params, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200 and answer.json()["total"] == documents // len(FAMILIES), answer.text
    store.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="on DMP_CONFORMANCE_PG_URL (a scratch schema)")
    parser.add_argument("--baseline", type=float, help="p50 (ms) measured before, to print the ratio")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if options.postgres:
            server, schema = os.environ["DMP_CONFORMANCE_PG_URL"], f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(server)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                times = measure(f"{server}?options=-csearch_path%3D{schema}", options.documents, options.queries)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
        else:
            times = measure(f"sqlite:///{Path(folder) / 'dmp.db'}", options.documents, options.queries)
    p50, p95 = statistics.median(times), sorted(times)[max(0, int(0.95 * len(times)) - 1)]
    ratio = f"; {options.baseline:.0f} ms before -> {p50:.0f} ms: {options.baseline / p50:.1f}x faster" \
        if options.baseline else ""
    print(f"ITI-67 author.family on {options.documents} documents ({'PostgreSQL' if options.postgres else 'SQLite'})"
          f": p50 {p50:.1f} ms, p95 {p95:.1f} ms{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
