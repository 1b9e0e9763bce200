"""Concurrency over HTTP against the real server, on SQLite and PostgreSQL: parallel feeds, concurrent
replacements of one parent, concurrent status and metadata updates of one document, concurrent duplicate
uniqueIds. The registry stays consistent: one Approved version per logical document, no lost update."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.xds import AdhocQueryResponse, DocumentEntry, RegistryResponse, Status
from conformance.xds.queries import get_documents
from tests.reliability.registry_checks import registry_problems
from tests.server.conftest import PATIENT, RunningServer, seeded_store, serving
from tests.server.factory import feed_request, update_set

CLIENTS = 6
T = TypeVar("T")


@pytest.fixture
def server(db_url: str) -> Iterator[RunningServer]:
    pki = TestPki.generate("concurrency")
    settings = ServerSettings(db_url=db_url, trust=pki.trust, validate_requests=False)
    with serving(seeded_store(db_url), settings, pki) as running:
        yield running


def together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _feed(server: RunningServer, content: bytes, **fields: object) -> tuple[RegistryResponse, str]:
    request, document = feed_request(PATIENT, content, **fields)  # type: ignore[arg-type]
    with server.client() as client:
        response = client.feed(request, PATIENT)
    assert response.status_code == 200, response.content[:500]
    return response.xds(), document.unique_id or ""


def _entries(server: RunningServer, unique_ids: list[str]) -> dict[str, DocumentEntry]:
    with server.client() as client:
        result = client.query(get_documents(unique_ids=unique_ids), PATIENT).xds()
    assert isinstance(result, AdhocQueryResponse)
    return {e.unique_id: e for e in result.objects.document_entries}


def _consistent(server: RunningServer) -> None:
    assert registry_problems(server.store.engine) == {}


def test_parallel_feeds_are_all_stored(server: RunningServer) -> None:
    results = together(CLIENTS, lambda i: [_feed(server, f"<parallel {i} {n}/>".encode()) for n in range(4)])
    fed = [pair for batch in results for pair in batch]
    assert all(response.success for response, _ in fed)
    assert all(server.store.document(unique_id) is not None for _, unique_id in fed)
    _consistent(server)


def test_concurrent_duplicate_unique_ids_store_exactly_one(server: RunningServer) -> None:
    shared = "1.2.250.1.999.42.77.1"
    results = together(CLIENTS, lambda i: _feed(server, f"<duplicate {i}/>".encode(), unique_id=shared)[0])
    assert sum(r.success for r in results) == 1
    assert all(r.errors and r.errors[0].error_code.startswith("XDS") for r in results if not r.success)
    assert len(server.store.entries(unique_ids=[shared])) == 1
    _consistent(server)


def test_concurrent_replacements_of_one_parent_keep_one_approved(server: RunningServer) -> None:
    parent_response, parent = _feed(server, b"<parent/>")
    assert parent_response.success
    parent_uuid = server.store.entries(unique_ids=[parent])[0].entry_uuid
    results = together(CLIENTS, lambda i: _feed(server, f"<replacement {i}/>".encode(), replaces=parent_uuid))
    winners = [unique_id for response, unique_id in results if response.success]
    assert len(winners) == 1, [r.errors for r, _ in results]
    entries = _entries(server, [parent, *(u for _, u in results)])
    approved = [u for u, e in entries.items() if e.status == Status.APPROVED]
    assert approved == winners
    assert entries[parent].status == Status.DEPRECATED
    _consistent(server)


def test_concurrent_status_updates_have_one_winner(server: RunningServer) -> None:
    response, unique_id = _feed(server, b"<archive-race/>")
    assert response.success
    entry_uuid = server.store.entries(unique_ids=[unique_id])[0].entry_uuid

    def archive(_i: int) -> RegistryResponse:
        with server.client() as client:
            return client.update_status(
                PATIENT,
                update_set(PATIENT),
                entry_uuid,  # type: ignore[arg-type]
                original_status=Status.APPROVED,
                new_status=Status.ARCHIVED,
            ).xds()

    results = together(CLIENTS, archive)
    assert sum(r.success for r in results) == 1, [r.errors for r in results]
    assert _entries(server, [unique_id])[unique_id].status == Status.ARCHIVED
    _consistent(server)


def test_concurrent_metadata_updates_make_one_new_version(server: RunningServer) -> None:
    response, unique_id = _feed(server, b"<update-race/>")
    assert response.success
    current = _entries(server, [unique_id])[unique_id]

    def update(i: int) -> RegistryResponse:
        entry = copy.deepcopy(current)  # one entry object per thread
        entry.id, entry.title = f"update{i}", f"titre {i}"
        with server.client() as client:
            submission_set = update_set(PATIENT)
            return client.update_metadata(PATIENT, submission_set, entry, "1").xds()  # type: ignore[arg-type]

    results = together(CLIENTS, update)
    assert sum(r.success for r in results) == 1, [r.errors for r in results]
    versions = server.store.versions(current.lid)
    assert len(versions) == 2
    assert [v.version for v in versions if v.status.endswith("Approved")] == [2]
    _consistent(server)
