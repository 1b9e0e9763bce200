"""Hostile input on the FHIR PDSm endpoints of the real server: an OperationOutcome with a 4xx status, never a
500 or a hang, nothing stored; the fuzzer's inputs over HTTP too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.fuzz import Target, builtin_seeds, run_target
from conformance.pki import TestPki
from tests.reliability.registry_checks import registry_counts
from tests.security.conftest import BODY_TIMEOUT, MAX_BODY, limited_dmp
from tests.security.test_hostile_input import SECRET, TIME_BOUND, _trickle
from tests.server.conftest import RunningServer

FHIR_JSON = "application/fhir+json"


@pytest.fixture(scope="module")
def fhir_dmp(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[tuple[RunningServer, str]]:
    """The server with its test-token API on (to reach the parsers behind authentication) and small limits."""
    path = tmp_path_factory.mktemp("fhir") / "dmp.db"
    with limited_dmp(path, pki, admin_enabled=True, validate_requests=False) as running:
        token = httpx.post(
            f"{running.url}/fhir/_token",
            json={"sub": TestPki.PS_ID_NAT, "structure": TestPki.STRUCTURE_ID},
            timeout=10,
        ).json()["access_token"]
        yield running, token


def _payloads(secret: str) -> dict[str, tuple[bytes, str]]:
    return {
        "deep-json": (b"[" * 100_000 + b"]" * 100_000, FHIR_JSON),
        "deep-object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, FHIR_JSON),
        "huge-number": (
            b'{"resourceType":"Bundle","type":"transaction","total":' + b"9" * 100_000 + b"}",
            FHIR_JSON,
        ),
        "invalid-utf8": (b'{"resourceType":"Bundle","type":"\xff\xfe"}', FHIR_JSON),
        "not-json": (b"{'resourceType': Bundle", FHIR_JSON),
        "json-array": (b"[]", FHIR_JSON),
        "wrong-resource": (json.dumps({"resourceType": "Patient"}).encode(), FHIR_JSON),
        "xxe-xml": (
            f"<?xml version='1.0'?><!DOCTYPE b [<!ENTITY x SYSTEM 'file://{secret}'>]>"
            "<Bundle xmlns='http://hl7.org/fhir'><type value='&x;'/></Bundle>".encode(),
            "application/fhir+xml",
        ),
        "lying-content-type": (b"<Bundle/>", FHIR_JSON),
        "oversized": (b'{"resourceType":"Bundle","x":"' + b"A" * MAX_BODY + b'"}', FHIR_JSON),
        "no-content-type": (b"{}", ""),
    }


@pytest.mark.parametrize("name", sorted(_payloads("/x")))
@pytest.mark.parametrize("path", ["/fhir", "/fhir/DocumentReference"])
def test_hostile_fhir_body_is_an_operation_outcome(
    fhir_dmp: tuple[RunningServer, str], tmp_path: Path, name: str, path: str
) -> None:
    server, token = fhir_dmp
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    data, content_type = _payloads(str(secret))[name]
    before = registry_counts(server.store.engine)
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}{path}",
        content=data,
        timeout=30,
        headers={
            "authorization": f"Bearer {token}",
            **({"content-type": content_type} if content_type else {}),
        },
    )
    assert time.monotonic() - started < TIME_BOUND
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.json()["resourceType"] == "OperationOutcome"
    assert SECRET not in response.text
    assert registry_counts(server.store.engine) == before


def test_unauthenticated_hostile_body_is_a_401(fhir_dmp: tuple[RunningServer, str]) -> None:
    server, _ = fhir_dmp
    response = httpx.post(
        f"{server.url}/fhir", content=b"[" * 100_000, headers={"content-type": FHIR_JSON}, timeout=30
    )
    assert response.status_code == 401 and response.json()["resourceType"] == "OperationOutcome"


def test_fhir_slow_client_times_out(fhir_dmp: tuple[RunningServer, str]) -> None:
    server, _ = fhir_dmp
    answer, elapsed = _trickle(server.url, 0.2, 200, path="/fhir", content_type=FHIR_JSON)
    assert b" 408 " in answer.split(b"\r\n", 1)[0] or b" 401 " in answer.split(b"\r\n", 1)[0], answer[:300]
    assert elapsed < BODY_TIMEOUT + 5


def test_fuzz_the_fhir_endpoint_never_answers_500(fhir_dmp: tuple[RunningServer, str]) -> None:
    server, token = fhir_dmp
    client = httpx.Client(base_url=server.url, timeout=30, headers={"authorization": f"Bearer {token}"})

    def post(data: bytes, content_type: str | None) -> None:
        response = client.post("/fhir", content=data, headers={"content-type": content_type or FHIR_JSON})
        assert response.status_code < 500, response.text[:500]

    seeds = [s for s in builtin_seeds() if s.name == "pdsm-bundle"]
    try:
        stats = run_target(Target("fhir-http", post), seeds, max_inputs=300, seconds=15)
    finally:
        client.close()
    print(f"fuzz fhir-http: {stats.inputs} inputs in {stats.seconds:.1f} s, {len(stats.failures)} failures")
    assert stats.failures == [], stats.failures[0].error
