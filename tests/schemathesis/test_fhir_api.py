"""schemathesis on the reference DMP's FHIR API, in process (ASGI): with our published OpenAPI document and with the
official PDSm server document (GestionnaireDePartageDeDocuments, made offline). Checks: no server error,
documented status codes and content types, responses valid against the declared schemas. Derandomised and
bounded; the number of generated cases is printed and must reach 1,000."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from conformance.store import Store
from tests.schemathesis.conftest import official_document, offline

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CASES: Counter[str] = Counter()
MIN_CASES = 1000
BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="session")
def our_schema(dmp_app: tuple[FastAPI, Store]) -> Any:
    return schemathesis.openapi.from_asgi("/fhir/openapi.json", dmp_app[0])


@pytest.fixture(scope="session")
def official_schema(dmp_app: tuple[FastAPI, Store], official_fhir_dir: Path) -> Any:
    schema = schemathesis.openapi.from_dict(offline(official_document(official_fhir_dir)))
    schema.app = dmp_app[0]
    # PUT / (a transaction on PUT) is not an interaction of FHIR R4 servers: we implement POST [base] instead
    return schema.exclude(method="PUT")


def _run(schema: Any, label: str, headers: dict[str, str], max_examples: int,
         mode: GenerationMode = GenerationMode.POSITIVE) -> list[str]:
    """Every operation of ``schema`` with ``max_examples`` generated cases; returns the operations tested.
    (``schemathesis.pytest.from_fixture`` needs a pytest internal our pytest no longer has.) Negative cases
    (schema-invalid input) must also be refused with a 4xx."""
    checks = CHECKS if mode is GenerationMode.POSITIVE else [*CHECKS, negative_data_rejection]
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not (operation.query or operation.path_parameters or operation.body):
            continue  # nothing to make invalid (GET /fhir/metadata)
        tested.append(operation.label)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(BOUNDED, max_examples=max_examples)
        def run(case: schemathesis.Case) -> None:
            CASES[label] += 1
            case.call_and_validate(headers=dict(headers), checks=checks)  # schemathesis adds to the dict

        run()
    return tested


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
def test_our_openapi(our_schema: Any, auth_headers: dict[str, str]) -> None:
    tested = _run(our_schema, "ours", auth_headers, 55)
    assert "POST /fhir" in tested and "PATCH /fhir/DocumentReference/{rid}" in tested


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
def test_our_openapi_negative_cases_are_refused(our_schema: Any, auth_headers: dict[str, str]) -> None:
    tested = _run(our_schema, "ours-negative", auth_headers, 15, GenerationMode.NEGATIVE)
    assert "GET /fhir/DocumentReference" in tested


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
def test_official_pdsm_openapi(official_schema: Any, auth_headers: dict[str, str]) -> None:
    tested = _run(official_schema, "official", auth_headers, 60)
    assert "GET /DocumentReference" in tested and "GET /Binary/{rid}" in tested


def test_zz_enough_generated_cases(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: the whole run generated at least MIN_CASES cases."""
    print(f"\nschemathesis cases: {dict(CASES)}, total {sum(CASES.values())}")
    if not (CASES["ours"] and CASES["ours-negative"] and CASES["official"]):
        pytest.skip("the schemathesis tests did not all run in this session")
    assert sum(CASES.values()) >= MIN_CASES


@pytest.mark.requirement("BENCH-PDSM-ITI105", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68")
def test_stateful_chain_create_search_read(dmp_app: tuple[FastAPI, Store], our_schema: Any,
                                            auth_headers: dict[str, str]) -> None:
    """The chain the OpenAPI links describe (create → read, Binary, patch) plus the search, each response
    validated against our document."""
    from fastapi.testclient import TestClient

    from conformance.suites.pdsm.documents import MASQUE_PS, simplified_publish
    from tests.fhir_server.conftest import INS, PATIENT_IDENTIFIER

    links = our_schema.raw_schema["paths"]["/fhir/DocumentReference"]["post"]["responses"]["201"]["links"]
    assert {"ReadDocumentReference", "ReadBinary", "PatchDocumentReference"} <= set(links)
    with TestClient(dmp_app[0]) as client:  # its own lifespan: schemathesis' calls end theirs
        headers = {**auth_headers, "content-type": "application/fhir+json"}
        created = client.post("/fhir/DocumentReference", json=simplified_publish(INS), headers=headers)
        assert created.status_code == 201, created.text
        our_schema["/fhir/DocumentReference"]["POST"].validate_response(created)
        rid = created.json()["id"]  # $response.body#/id, as the links say
        found = client.get("/fhir/DocumentReference", headers=headers,
                           params={"patient.identifier": PATIENT_IDENTIFIER, "status": "current"})
        our_schema["/fhir/DocumentReference"]["GET"].validate_response(found)
        assert rid in {e["resource"]["id"] for e in found.json()["entry"]}
        for path in (f"/fhir/DocumentReference/{rid}", f"/fhir/Binary/{rid}"):
            response = client.get(path, headers=headers)
            assert response.status_code == 200
            our_schema[path.rsplit("/", 1)[0] + "/{rid}"]["GET"].validate_response(response)
        patched = client.patch(f"/fhir/DocumentReference/{rid}", headers={**headers, "content-type": "application/json-patch+json"},
                               json=[{"op": "add", "path": "/securityLabel/-", "value": {"coding": [MASQUE_PS]}}])
        assert patched.status_code == 200
        our_schema["/fhir/DocumentReference/{rid}"]["PATCH"].validate_response(patched)
