"""Authentication of the FHIR API: signed tokens, lenient unsigned tokens, TLS client certificates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conformance.pki import TestPki
from conformance.server.access import AuthMode
from conformance.server.app import create_app
from conformance.server.fhir import TokenError, caller_of_token, issue_token, unsigned_token
from conformance.server.fhir.auth import caller_of_certificate
from conformance.server.settings import ServerSettings
from conformance.store import AccessMode, Store
from tests.fhir_server.conftest import PATIENT_IDENTIFIER, seed

KEY = b"k" * 32


def test_signed_token_round_trip_and_claims() -> None:
    token = issue_token(KEY, {"sub": "810000012345", "structure": "10B0127189", "auth_mode": "INDIRECTE",
                              "access_mode": "break_glass"})
    caller = caller_of_token(f"Bearer {token}", KEY, lenient=False)
    assert caller.actor_id == "810000012345" and caller.structure_id == "10B0127189"
    assert caller.auth_mode is AuthMode.INDIRECT and caller.access_mode is AccessMode.BREAK_GLASS


@pytest.mark.parametrize(("claims", "message"), [
    ({}, "sub"), ({"sub": " "}, "sub"), ({"sub": "x", "kind": "robot"}, "kind"),
    ({"sub": "x", "exp": time.time() - 1}, "expired"), ({"sub": "x", "exp": "soon"}, "expired"),
])
def test_bad_claims(claims: dict[str, Any], message: str) -> None:
    with pytest.raises(TokenError, match=message):
        caller_of_token(f"Bearer {unsigned_token(claims)}", KEY, lenient=True)


def test_tampered_token_is_refused() -> None:
    token = issue_token(KEY, {"sub": "810000012345"})
    version, _, mac = token.split(".")
    forged = issue_token(b"x" * 32, {"sub": "810000099999"}).split(".")[1]
    with pytest.raises(TokenError, match="signature"):
        caller_of_token(f"Bearer {version}.{forged}.{mac}", KEY, lenient=True)


def test_certificates_name_professionals_and_structures() -> None:
    pki = TestPki.generate("fhir-auth")
    professional = caller_of_certificate(pki.ps_authentication.cert_pem)
    assert professional.actor_id == TestPki.PS_ID_NAT and professional.auth_mode is AuthMode.DIRECT
    structure = caller_of_certificate(pki.tls_client.cert_pem)
    assert structure.structure_id == TestPki.STRUCTURE_ID and structure.auth_mode is AuthMode.INDIRECT
    with pytest.raises(TokenError):
        caller_of_certificate("not a certificate")


class _WithClientCertificate:
    """An ASGI server that verified a client certificate would put it in the TLS extension: so does this."""

    def __init__(self, app: Any, pem: str) -> None:
        self.app, self.pem = app, pem

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "extensions": {**scope.get("extensions", {}), "tls": {"client_cert_chain": [self.pem]}}}
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def lenient_app() -> Iterator[tuple[Any, Store]]:
    store = Store.open("sqlite://")
    seed(store)
    yield create_app(ServerSettings(lenient_signatures=True, validate_requests=False), store), store
    store.close()


def test_lenient_server_accepts_unsigned_tokens_and_has_no_token_endpoint(lenient_app: tuple[Any, Store]) -> None:
    app, _ = lenient_app
    with TestClient(app) as client:
        headers = {"authorization": f"Bearer {unsigned_token({'sub': '810000012345'})}"}
        found = client.get("/fhir/DocumentReference", params={"patient.identifier": PATIENT_IDENTIFIER},
                           headers=headers)
        assert found.status_code == 200
        assert client.post("/fhir/_token", json={"sub": "x"}).status_code == 404  # admin API off


def test_mutual_tls_client_certificate_authenticates(lenient_app: tuple[Any, Store]) -> None:
    app, store = lenient_app
    pki = TestPki.generate("fhir-auth")
    with TestClient(_WithClientCertificate(app, pki.ps_authentication.cert_pem.decode())) as client:
        response = client.get("/fhir/DocumentReference", params={"patient.identifier": PATIENT_IDENTIFIER})
    assert response.status_code == 403  # authenticated as the test professional, who has no authorization
    assert store.access_history(actor_id=TestPki.PS_ID_NAT)[-1].outcome == "denied"
