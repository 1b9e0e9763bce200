"""Fixtures of the PDSm suites: the bench plays a FHIR document source/consumer against a DMP's FHIR API
(server role), or judges the FHIR exchanges an LPS had with the bench's reference DMP (client role).

On the embedded reference DMP the suite seeds its patient through the admin API and gets bearer tokens from
``POST /fhir/_token``. An external FHIR SUT needs, in the environment: ``DMP_CONFORMANCE_FHIR_PATIENT`` (the INS
of a patient whose DMP authorizes the author), ``DMP_CONFORMANCE_FHIR_TOKEN`` (the author's bearer token,
whose identity is ``DMP_CONFORMANCE_FHIR_AUTHOR``, default the builders' author) and optionally
``DMP_CONFORMANCE_FHIR_OTHER_TOKEN`` (another authorized professional) and ``DMP_CONFORMANCE_FHIR_BASE``
(the FHIR base when it is not ``<sut-url>/fhir``). Tests needing what is missing skip with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from itertools import count

import httpx
import pytest

from conformance.plugin import Evidence, SutSettings
from conformance.suites.fhir_tokens import ENV, BearerTokens
from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID

COLLEAGUE_ID = "810000000777"  # a second professional authorized on the suite's patient (embedded DMP)
STRANGER_ID = "810000000099"  # a professional with no authorization


@pytest.fixture(scope="session")
def embedded_dmp_args(sut_settings: SutSettings) -> list[str]:
    """The embedded reference DMP opens its admin/test API (patient seeding, test tokens)."""
    return ["--admin", "--log-level", "warning", *sut_settings.dmp_options]


@pytest.fixture(scope="session")
def fhir_base(sut_url: str) -> str:
    return os.environ.get(f"{ENV}BASE", f"{sut_url}/fhir").rstrip("/")


@pytest.fixture(scope="session")
def author_id() -> str:
    return os.environ.get(f"{ENV}AUTHOR", AUTHOR_ID)


@pytest.fixture(scope="session")
def pdsm_patient(sut_url: str, sut_embedded: bool, synthetic_identities: object, author_id: str) -> str:
    """The INS of the suite's patient (test NIR OID)."""
    if os.environ.get(f"{ENV}PATIENT"):
        return os.environ[f"{ENV}PATIENT"]
    if not sut_embedded:
        pytest.skip(f"an external FHIR SUT needs {ENV}PATIENT (a patient whose DMP authorizes the author)")
    patient = synthetic_identities.patient()  # type: ignore[attr-defined]
    with httpx.Client(base_url=sut_url, timeout=10.0) as admin:
        admin.post("/admin/patients", json={
            "ins": patient.ins.value, "ins_oid": INS_TEST_OID, "family_name": patient.birth_family_name,
            "given_name": patient.first_given_name, "authorizations": [
                {"professional": author_id, "attending": True}, {"professional": COLLEAGUE_ID}]}).raise_for_status()
    return str(patient.ins.value)


@pytest.fixture(scope="session")
def token_for(fhir_base: str, sut_embedded: bool, author_id: str) -> Callable[[str], str]:
    """``token_for(idNat)``: a bearer token for that professional (the embedded DMP's test tokens, or the
    tokens given in the environment for the author and the other professional)."""
    return BearerTokens.for_sut(fhir_base, sut_embedded, author_id, COLLEAGUE_ID)


def _text(start: str, headers: httpx.Headers, body: bytes) -> str:
    return "\n".join([start, *(f"{k}: {'<redacted>' if k == 'authorization' else v}" for k, v in headers.items()),
                      "", body.decode("utf-8", errors="replace")])


@pytest.fixture
def fhir_client(fhir_base: str, evidence: Evidence, token_for: Callable[[str], str],
                author_id: str) -> Iterator[Callable[..., httpx.Client]]:
    """``fhir_client(idNat=author)``: an HTTP client on the FHIR base with that professional's token; every
    exchange becomes evidence."""
    numbers = count(1)
    clients: list[httpx.Client] = []

    def on_request(request: httpx.Request) -> None:
        request.read()
        evidence.attach(f"{next(numbers):02d}-request.http",
                        _text(f"{request.method} {request.url}", request.headers, request.content))

    def on_response(response: httpx.Response) -> None:
        response.read()
        evidence.attach(f"{next(numbers):02d}-response.http",
                        _text(f"HTTP {response.status_code}", response.headers, response.content))

    def make(subject: str | None = None) -> httpx.Client:
        client = httpx.Client(base_url=fhir_base, timeout=30.0, event_hooks={
            "request": [on_request], "response": [on_response]},
            headers={"authorization": f"Bearer {token_for(subject or author_id)}",
                     "accept": "application/fhir+json"})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
