"""The interop tests run against the real reference DMP of the server tests (same fixtures, same seeding)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from tests.server.conftest import RunningServer, dmp, pki, seeded_store, serving

__all__ = ["dmp", "lenient_dmp", "pki"]  # dmp and pki are fixtures shared with tests/server


@pytest.fixture(scope="module")
def lenient_dmp(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:
    """A reference DMP started with lenient signatures: it accepts an unsigned VIHF (and records a finding)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lenient') / 'dmp.db'}"
    settings = ServerSettings(db_url=url, trust=pki.trust, lenient_signatures=True)
    with serving(seeded_store(url), settings, pki) as running:
        yield running
