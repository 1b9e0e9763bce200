"""The FHIR API on PostgreSQL (skipped without DMP_CONFORMANCE_PG_URL): publish with a folder, find lists and
documents, mask, retrieve. A fresh patient per run: no table is truncated."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from conformance.identity import make_nir
from conformance.server.app import create_app
from conformance.server.fhir import issue_token
from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.store import AuthorizationStatus
from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID, MASQUE_PS, provide_bundle
from tests.server.conftest import postgres_store

pytestmark = pytest.mark.postgres


def test_fhir_flow_on_postgresql() -> None:
    url, store = postgres_store()
    ins = make_nir("1", 1960 + random.randrange(40), random.randrange(1, 13), "75056", random.randrange(1, 999))
    seed_patient(store, PatientSeed(ins, INS_TEST_OID, authorizations=[(AUTHOR_ID, AuthorizationStatus.GRANTED, True)]))
    app = create_app(ServerSettings(db_url=url, validate_requests=False), store)
    headers = {"authorization": f"Bearer {issue_token(app.state.fhir_token_key, {'sub': AUTHOR_ID})}"}
    identifier = {"patient.identifier": f"urn:oid:{INS_TEST_OID}|{ins}"}
    try:
        with TestClient(app) as client:
            published = client.post("/fhir", json=provide_bundle(ins, documents=2, folder=True), headers=headers)
            assert published.status_code == 200
            found = client.get("/fhir/DocumentReference", params={**identifier, "status": "current"}, headers=headers)
            assert found.json()["total"] == 2
            rid = found.json()["entry"][0]["resource"]["id"]
            masked = client.patch(f"/fhir/DocumentReference/{rid}", headers={
                **headers, "content-type": "application/json-patch+json"},
                json=[{"op": "add", "path": "/securityLabel/-", "value": {"coding": [MASQUE_PS]}}])
            assert masked.status_code == 200 and masked.json()["meta"]["versionId"] == "2"
            lists = client.get("/fhir/List", params=identifier, headers=headers).json()
            assert lists["total"] == 2 and [len(e["resource"]["entry"]) for e in lists["entry"]] == [2, 2]
            folders = client.get("/fhir/List", params={**identifier, "code": "folder", "designationType": "11488-4",
                                                       "title": "suivi"}, headers=headers).json()
            assert folders["total"] == 1 and folders["entry"][0]["resource"]["code"]["coding"][0]["code"] == "folder"
            assert client.get(f"/fhir/Binary/{rid}", headers=headers).content.startswith(b"%PDF")
    finally:
        store.close()
