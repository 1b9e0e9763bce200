"""The HTTP surface: health, routing on wsa:Action, faults for bad input (never a 500), captures, admin, modes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.client import DmpClient, signed_vihf_factory
from conformance.pki import TestPki
from conformance.server.routing import handle_soap
from conformance.server.settings import ServerSettings
from conformance.soap import build_envelope, parse_message, serialize_message, to_bytes
from conformance.store import Store
from conformance.vihf import AuthMode
from conformance.xds import AdhocQueryResponse
from conformance.xds.builders import td31_request
from conformance.xds.queries import find_documents
from tests.server.conftest import PATIENT, RunningServer, seed_default, seeded_store, serving

SERVICES = "/si-dmp-server/v2/services"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"


@pytest.fixture(scope="module")
def lenient(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:
    """A second server: lenient signatures, admin disabled, a small body limit."""
    path: Path = tmp_path_factory.mktemp("lenient") / "dmp.db"
    config = ServerSettings(trust=pki.trust, lenient_signatures=True, max_body_bytes=20_000)
    with serving(seeded_store(f"sqlite:///{path}"), config, pki) as running:
        yield running


def _soap(action: str | None, body: etree._Element | None, security: etree._Element | None = None) -> bytes:
    envelope = build_envelope(body, action=action or "", security=security)
    if action is None:  # drop wsa:Action
        header = envelope[0]
        header.remove(header[0])
    return to_bytes(envelope)


def _post(url: str, data: bytes, alias: str = "registry", content_type: str = "application/soap+xml") -> httpx.Response:
    return httpx.post(f"{url}{SERVICES}/{alias}", content=data, headers={"content-type": content_type}, timeout=30)


def _fault_subcode(response: httpx.Response) -> str:
    message = parse_message(response.content, response.headers["content-type"])
    assert message.fault is not None, response.text[:300]
    return message.fault.subcodes[0]


def test_health(dmp: RunningServer) -> None:
    response = httpx.get(f"{dmp.url}/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize(("data", "subcode"), [
    (b"", None),
    (b"\x00\xff garbage", None),
    (b"<not-soap/>", "BENCH-SOAP-ENVELOPE"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>", None),
    (b"--boundary\r\nContent-Type: text/xml\r\n\r\n<broken", None),
])
@pytest.mark.requirement("BENCH-DMP-ERRORS")
def test_bad_input_is_a_sender_fault_not_a_500(dmp: RunningServer, data: bytes, subcode: str | None) -> None:
    response = _post(dmp.url, data)
    assert response.status_code == 400
    found = _fault_subcode(response)
    if subcode:
        assert found == subcode


def test_missing_action_unknown_action_and_unknown_path(dmp: RunningServer) -> None:
    body = etree.Element("{urn:x}Nothing")
    assert _fault_subcode(_post(dmp.url, _soap(None, body))) == "MessageAddressingHeaderRequired"
    assert _fault_subcode(_post(dmp.url, _soap("urn:unknown:action", body))) == "ActionNotSupported"
    response = _post(dmp.url, _soap(ITI18, body), alias="nowhere")
    assert response.status_code == 404 and _fault_subcode(response) == "DMPUnknownService"


def test_missing_or_unsigned_vihf_is_refused_in_strict_mode(dmp: RunningServer) -> None:
    query = find_documents(PATIENT.cx()).to_element()
    assert _fault_subcode(_post(dmp.url, _soap(ITI18, query))) == "DMPAuthenticationFailure"
    unsigned = signed_vihf_factory(None, subject_id=TestPki.PS_ID_NAT)(PATIENT.cx())
    response = _post(dmp.url, _soap(ITI18, query, unsigned))
    assert response.status_code == 400 and _fault_subcode(response) == "DMPAuthenticationFailure"


def test_vihf_signed_with_an_authentication_key_is_an_invalid_certificate(dmp: RunningServer) -> None:
    factory = signed_vihf_factory(dmp.pki.ps_authentication, subject_id=TestPki.PS_ID_NAT,
                                  structure_id=TestPki.STRUCTURE_ID)
    with DmpClient(dmp.url, factory) as client:
        response = client.find_documents(PATIENT)
    assert response.status_code == 400 and response.fault.subcodes == ["DMPInvalidCertificate"]


def test_lenient_mode_accepts_an_unsigned_vihf_and_records_a_finding(lenient: RunningServer) -> None:
    factory = signed_vihf_factory(None, mode=AuthMode.DIRECTE, subject_id=TestPki.PS_ID_NAT,
                                  structure_id=TestPki.STRUCTURE_ID)
    with DmpClient(lenient.url, factory) as client:
        response = client.find_documents(PATIENT)
    assert response.status_code == 200 and isinstance(response.xds(), AdhocQueryResponse)
    capture = httpx.get(f"{lenient.url}/captures/{response_capture_id(lenient)}").json()
    assert "BENCH-VIHF-SIGNATURE" in {f["rule"] for f in capture["findings"]}


def response_capture_id(server: RunningServer) -> int:
    return int(httpx.get(f"{server.url}/captures", params={"limit": 1000}).json()[-1]["id"])


@pytest.mark.requirement("BENCH-DMP-WSA-RESPONSE")
def test_routing_uses_the_action_not_the_path(dmp: RunningServer) -> None:
    with dmp.client() as client:
        outgoing = td31_request(find_documents(PATIENT.cx()), security=client.vihf_factory(PATIENT.cx()))
        for alias in ("registry", "DocumentRegistry_Service", "habilitations", "PatientSpecific"):
            response = client.send_outgoing(alias, outgoing)
            assert response.status_code == 200 and response.action == "urn:ihe:iti:2007:RegistryStoredQueryResponse"
            assert response.message is not None and response.message.relates_to == outgoing.message_id


def test_body_larger_than_the_limit_is_refused(lenient: RunningServer) -> None:
    response = _post(lenient.url, b"<x>" + b"a" * 30_000 + b"</x>")
    assert response.status_code == 413 and _fault_subcode(response) == "DMPMessageTooLarge"


def test_captures_keep_raw_bytes_timing_identity_and_findings(dmp: RunningServer) -> None:
    with dmp.client() as client:
        outgoing = td31_request(find_documents(PATIENT.cx()), security=client.vihf_factory(PATIENT.cx()))
        sent, content_type = outgoing.to_http()
        client.post("registry", sent, content_type)
    listed = httpx.get(f"{dmp.url}/captures", params={"action": ITI18}).json()
    assert listed and listed[-1]["transaction"] == "TD3.1" and listed[-1]["status_code"] == 200
    capture_id = listed[-1]["id"]
    detail = httpx.get(f"{dmp.url}/captures/{capture_id}").json()
    deadline = time.monotonic() + 20
    while not detail["validated"] and time.monotonic() < deadline:  # the validators run after the response
        time.sleep(0.1)
        detail = httpx.get(f"{dmp.url}/captures/{capture_id}").json()
    assert detail["validated"]
    assert detail["identity"]["subject"] == TestPki.PS_ID_NAT and detail["duration_ms"] > 0
    assert detail["peer"].startswith("127.0.0.1:") and isinstance(detail["findings"], list)
    raw = httpx.get(f"{dmp.url}/captures/{capture_id}/request")
    assert raw.content == sent
    answer = httpx.get(f"{dmp.url}/captures/{capture_id}/response")
    assert b"RegistryStoredQueryResponse" in answer.content
    assert httpx.get(f"{dmp.url}/captures/999999").status_code == 404
    faults = httpx.get(f"{dmp.url}/captures", params={"status_code": 400}).json()
    assert all(c["status_code"] == 400 for c in faults)


def test_admin_endpoints_are_disabled_by_default(lenient: RunningServer) -> None:
    assert httpx.post(f"{lenient.url}/admin/patients", json={"ins": "1"}).status_code == 404
    assert httpx.delete(f"{lenient.url}/admin/captures").status_code == 404


def test_admin_seeds_a_patient_when_enabled(dmp: RunningServer) -> None:
    body = {"ins": "279035121518989", "family_name": "ADMIN", "given_name": "SEED",
            "authorizations": [{"professional": TestPki.PS_ID_NAT}]}
    created = httpx.post(f"{dmp.url}/admin/patients", json=body)
    assert created.status_code == 201 and created.json()["cx"].startswith("279035121518989^^^")
    assert httpx.post(f"{dmp.url}/admin/patients", json=body).status_code == 409
    assert httpx.post(f"{dmp.url}/admin/patients", json={"ins": ""}).status_code == 422


envelopes = st.builds(
    lambda action, body, text: _soap(action, etree.fromstring(body) if body else None) + text,
    st.sampled_from([ITI18, "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", "urn:ihe:iti:2007:RetrieveDocumentSet",
                     "urn:ihe:iti:2010:UpdateDocumentSet", "urn:hl7-org:v3:PRPA_IN201307UV02",
                     "urn:hl7-org:v3:PRPA_IN201305UV02", "urn:hl7-org:v3:PRPA_IN201314UV02",
                     "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization", "x"]),
    st.sampled_from(["", "<a/>", "<q:AdhocQueryRequest xmlns:q='urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0'/>",
                     "<PRPA_IN201307UV02 xmlns='urn:hl7-org:v3'><controlActProcess/></PRPA_IN201307UV02>"]),
    st.binary(max_size=20))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=envelopes)
def test_fuzzed_requests_never_reach_the_catch_all(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    store = _fuzz_store(tmp_path_factory)
    config = ServerSettings(lenient_signatures=True)
    outcome = handle_soap(data, "application/soap+xml", config, store)
    assert outcome.status in (200, 400), outcome.body[:400]


_STORES: dict[str, Store] = {}


def _fuzz_store(factory: pytest.TempPathFactory) -> Store:
    if "fuzz" not in _STORES:
        _STORES["fuzz"] = Store.open(f"sqlite:///{factory.mktemp('fuzz') / 'dmp.db'}")
        seed_default(_STORES["fuzz"])
    return _STORES["fuzz"]


def test_fuzz_with_a_valid_vihf_never_reaches_the_catch_all(dmp: RunningServer) -> None:
    security = signed_vihf_factory(dmp.pki.ps_signature, subject_id=TestPki.PS_ID_NAT,
                                   structure_id=TestPki.STRUCTURE_ID)(PATIENT.cx())
    for action in ("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", "urn:ihe:iti:2007:RetrieveDocumentSet",
                   "urn:ihe:iti:2010:UpdateDocumentSet", ITI18, "urn:hl7-org:v3:PRPA_IN201307UV02",
                   "urn:hl7-org:v3:PRPA_IN201305UV02", "urn:hl7-org:v3:PRPA_IN201314UV02",
                   "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization",
                   "urn:si-dmp-habilitations:HabilitationsEndPoint:listAuthorizationByPatient",
                   "urn:si-dmp-patients:PatientSpecificEndPoint:patientList"):
        for body in ("<a/>", "<q:AdhocQueryRequest xmlns:q='urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0'>"
                             "<r:AdhocQuery xmlns:r='urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0' id='x'/>"
                             "</q:AdhocQueryRequest>"):
            data, content_type = serialize_message(build_envelope(etree.fromstring(body), action=action,
                                                                  security=security), action=action)
            outcome = handle_soap(data, content_type, dmp.settings, dmp.store)
            assert outcome.status in (200, 400), (action, outcome.body[:500])
