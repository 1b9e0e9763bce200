"""The reference DMP's FHIR API in process (Starlette TestClient over the real ASGI app and a real SQLite store),
seeded with one patient, its author, an authorized colleague, a blocked and a stranger professional."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from conformance.identity import make_nir
from conformance.server.app import create_app
from conformance.server.fhir import issue_token
from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.store import AuthorizationStatus, Store
from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID

INS = make_nir("2", 1980, 5, "75056", 123)
OTHER_INS = make_nir("1", 1975, 3, "69123", 456)  # a DMP nobody is authorized on
COLLEAGUE = "810000000777"
BLOCKED = "810000000666"
STRANGER = "810000000099"
PATIENT_IDENTIFIER = f"urn:oid:{INS_TEST_OID}|{INS}"


@dataclass
class Fhir:
    """A client of the in-process FHIR API acting as one professional (``as_`` switches)."""

    http: TestClient
    store: Store
    key: bytes
    subject: str = AUTHOR_ID
    claims: dict[str, Any] = field(default_factory=dict)

    def as_(self, subject: str, **claims: Any) -> Fhir:
        return Fhir(self.http, self.store, self.key, subject, claims)

    def headers(self, content_type: str = "application/fhir+json") -> dict[str, str]:
        claims = {"sub": self.subject, **self.claims}
        return {"authorization": f"Bearer {issue_token(self.key, claims)}", "content-type": content_type}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers())

    def post(self, path: str, body: Any) -> httpx.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.http.post(path, content=data, headers=self.headers())

    def patch(self, path: str, operations: Any, **params: Any) -> httpx.Response:
        return self.http.patch(path, content=json.dumps(operations).encode(), params=params,
                               headers=self.headers("application/json-patch+json"))

    def search(self, **params: Any) -> dict[str, Any]:
        response = self.get("/fhir/DocumentReference", **{"patient.identifier": PATIENT_IDENTIFIER, **params})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def ids(self, **params: Any) -> set[str]:
        return {e["resource"]["id"] for e in self.search(**params).get("entry", [])
                if e["resource"]["resourceType"] == "DocumentReference"}


def seed(store: Store) -> None:
    seed_patient(store, PatientSeed(INS, INS_TEST_OID, family_name="DUPONT", given_name="MARIE", authorizations=[
        (AUTHOR_ID, AuthorizationStatus.GRANTED, True), (COLLEAGUE, AuthorizationStatus.GRANTED, False),
        (BLOCKED, AuthorizationStatus.BLOCKED, False)]))
    seed_patient(store, PatientSeed(OTHER_INS, INS_TEST_OID, family_name="MARTIN"))


@pytest.fixture(scope="module")
def fhir() -> Iterator[Fhir]:
    store = Store.open("sqlite://")
    seed(store)
    app = create_app(ServerSettings(admin_enabled=True, validate_requests=False), store)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield Fhir(http, store, app.state.fhir_token_key)
    # no exchange of the module ended in a server error
    errors = [c for c in store.captures(limit=100000) if c.status_code >= 500]
    store.close()
    assert not errors, [(c.method, c.path, c.status_code) for c in errors]


def provide(fhir: Fhir, **kw: Any) -> list[str]:
    """Publish an ITI-65 bundle; the logical ids of its DocumentReferences."""
    from conformance.suites.pdsm.documents import provide_bundle

    response = fhir.post("/fhir", provide_bundle(INS, **kw))
    assert response.status_code == 200, response.text
    return [e["response"]["location"].split("/")[1] for e in response.json()["entry"]
            if e["response"]["location"].startswith("DocumentReference/")]
