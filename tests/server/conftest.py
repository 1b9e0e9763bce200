"""A real reference DMP over HTTP: uvicorn in a thread on a free loopback port, a fresh SQLite file per module."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from conformance.client import DmpClient, signed_vihf_factory
from conformance.identity import Ins
from conformance.pki import TestPki
from conformance.server.app import create_app
from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.server.tls import h11_protocol
from conformance.store import AuthorizationStatus, Store
from conformance.vihf import AuthMode

PATIENT = Ins("248039263001064", "1.2.250.1.213.1.4.10")
OTHER_PATIENT = Ins("180019238001097", "1.2.250.1.213.1.4.10")
STRANGER = "810000000099"  # a professional with no authorization


@dataclass
class RunningServer:
    url: str
    store: Store
    pki: TestPki
    settings: ServerSettings

    def client(self, subject_id: str = TestPki.PS_ID_NAT, *, mode: AuthMode = AuthMode.DIRECTE,
               signer: object = "ps", **fields: object) -> DmpClient:
        key = {"ps": self.pki.ps_signature, "structure": self.pki.structure}.get(signer, signer)  # type: ignore[arg-type]
        factory = signed_vihf_factory(key, mode=mode, subject_id=subject_id,  # type: ignore[arg-type]
                                      structure_id=TestPki.STRUCTURE_ID, **fields)
        return DmpClient(self.url, factory)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(store: Store, settings: ServerSettings) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    config = uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", http=h11_protocol(settings))  # the protocol of ``serve``
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, thread, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the reference DMP did not start")


@contextmanager
def serving(store: Store, settings: ServerSettings, pki: TestPki) -> Iterator[RunningServer]:
    """The reference DMP on ``store`` for the time of the block; then stopped, and the store closed."""
    server, thread, url = start_server(store, settings)
    try:
        yield RunningServer(url, store, pki, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki.generate("server-tests")


def seed_default(store: Store) -> None:
    store.upsert_professional(TestPki.PS_ID_NAT, family_name="LIBRE", given_name="MAX", role_code="10",
                              specialty_code="G15_10/SM26", specialty_label="Médecin - Qualifié en Médecine générale")
    seed_patient(store, PatientSeed(PATIENT.value, PATIENT.oid, family_name="DUPONT", given_name="JEAN",
                                    birth_date="19480326", gender="M",
                                    authorizations=[(TestPki.PS_ID_NAT, AuthorizationStatus.GRANTED, True),
                                                    ("810000000002", AuthorizationStatus.GRANTED, False)]))
    seed_patient(store, PatientSeed(OTHER_PATIENT.value, OTHER_PATIENT.oid, family_name="MARTIN",
                                    given_name="ALICE", birth_date="19800101", gender="F"))


def postgres_store() -> tuple[str, Store]:
    """The URL and store of the PostgreSQL server named by DMP_CONFORMANCE_PG_URL; skip the test without one."""
    url = os.environ.get("DMP_CONFORMANCE_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server: set DMP_CONFORMANCE_PG_URL")
    try:
        return url, Store.open(url)
    except Exception as exc:  # the server named by the URL is not reachable
        pytest.skip(f"PostgreSQL not usable: {exc}")


def seeded_store(db_url: str) -> Store:
    """The store at ``db_url`` with the default professionals and patients (:func:`seed_default`)."""
    store = Store.open(db_url)
    seed_default(store)
    return store


@pytest.fixture(scope="module")
def dmp(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:
    path: Path = tmp_path_factory.mktemp("dmp") / "dmp.db"
    settings = ServerSettings(db_url=f"sqlite:///{path}", trust=pki.trust, admin_enabled=True)
    with serving(seeded_store(settings.db_url), settings, pki) as running:
        yield running
