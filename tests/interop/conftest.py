"""The interop tests run against the real reference DMP of the server tests (same fixtures, same seeding)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.store import Store
from tests.server.conftest import RunningServer, dmp, pki, seed_default, start_server

__all__ = ["dmp", "lenient_dmp", "pki"]  # dmp and pki are fixtures shared with tests/server


@pytest.fixture(scope="module")
def lenient_dmp(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:
    """A reference DMP started with lenient signatures: it accepts an unsigned VIHF (and records a finding)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lenient') / 'dmp.db'}"
    store = Store.open(url)
    seed_default(store)
    settings = ServerSettings(db_url=url, trust=pki.trust, lenient_signatures=True)
    server, thread, base = start_server(store, settings)
    yield RunningServer(base, store, pki, settings)
    server.should_exit = True
    thread.join(timeout=10)
    store.close()
