"""Fixtures of the security suite: the real reference DMP over HTTP with small, explicit limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.xds.builders import td21_request
from tests.reliability.conftest import db_url  # noqa: F401
from tests.server.conftest import PATIENT, RunningServer, pki, seeded_store, serving  # noqa: F401
from tests.server.factory import feed_request

MAX_BODY = 300_000  # small enough to exceed cheaply, large enough for a real ITI-41
BODY_TIMEOUT = 1.5


def limited_dmp(path: Path, keys: TestPki, **options: object) -> AbstractContextManager[RunningServer]:
    """A seeded reference DMP on the SQLite file ``path``, trusting ``keys``, with the small body limit and body
    timeout (and ``options``), running for the time of the block."""
    settings = ServerSettings(db_url=f"sqlite:///{path}", trust=keys.trust, max_body_bytes=MAX_BODY,
                              body_timeout_seconds=BODY_TIMEOUT, **options)  # type: ignore[arg-type]
    return serving(seeded_store(settings.db_url), settings, keys)


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:  # noqa: F811
    """Strict signatures, admin disabled, small body limit and body timeout."""
    with limited_dmp(tmp_path_factory.mktemp("hardened") / "dmp.db", pki) as running:
        yield running


def signed_feed(
    server: RunningServer, content: bytes = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>", **fields: object
) -> tuple[bytes, str, str]:
    """A valid, signed TD2.1 HTTP body (MTOM), its content type and the document uniqueId."""
    request, document = feed_request(PATIENT, content, **fields)  # type: ignore[arg-type]
    client = server.client()
    try:
        body, content_type = td21_request(request, security=client.vihf_factory(PATIENT.cx())).to_http()
    finally:
        client.close()
    return body, content_type, document.unique_id or ""
