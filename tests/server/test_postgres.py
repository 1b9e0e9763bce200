"""The reference DMP on PostgreSQL (skipped without DMP_CONFORMANCE_PG_URL): feed, find and retrieve over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.store.schema import Base
from tests.server.conftest import PATIENT, RunningServer, postgres_store, seed_default, start_server
from tests.server.factory import feed_request

pytestmark = pytest.mark.postgres


def test_feed_find_retrieve_on_postgresql(pki: TestPki) -> None:
    url, store = postgres_store()
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "schema_version")
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    seed_default(store)
    settings = ServerSettings(db_url=url, trust=pki.trust)
    server, thread, base = start_server(store, settings)
    try:
        dmp = RunningServer(base, store, pki, settings)
        request, document = feed_request(PATIENT, b"<on-postgres/>")
        with dmp.client() as client:
            assert client.feed(request, PATIENT).xds().success
            found = client.find_documents(PATIENT).xds()
            retrieved = client.retrieve([document.unique_id or ""], PATIENT).xds()
        assert [e.unique_id for e in found.objects.document_entries] == [document.unique_id]
        assert retrieved.documents[0].content == b"<on-postgres/>"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
