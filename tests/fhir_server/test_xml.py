"""FHIR XML end to end: an ITI-65 bundle in XML is stored, found by ITI-67/ITI-66 and retrieved by ITI-68 byte for
byte, with XML answers when asked (Accept or ``_format``); bad XML gets an OperationOutcome with the right status,
in XML when asked, and leaves nothing behind."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from conformance.fhir.parse import parse_fhir
from conformance.server.fhir.outcome import wants_xml
from conformance.suites.pdsm.documents import fhir_xml, provide_bundle, simplified_publish
from tests.fhir_server.conftest import INS, PATIENT_IDENTIFIER, Fhir

FHIR_XML = "application/fhir+xml"
CONTENT = b"%PDF-1.4 sent in FHIR XML \xc3\xa9\x00\xff"


def post_xml(fhir: Fhir, path: str, body: bytes, accept: str = FHIR_XML) -> httpx.Response:
    return fhir.http.post(path, content=body, headers={**fhir.headers(FHIR_XML), "accept": accept})


def xml_resource(response: httpx.Response) -> dict[str, Any]:
    """The answer parsed as FHIR XML (it must be XML)."""
    assert response.headers["content-type"] == FHIR_XML, response.text[:500]
    parsed = parse_fhir(response.content)
    assert parsed.format == "xml" and parsed.resource is not None, parsed.findings
    return parsed.resource


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68")
def test_xml_bundle_is_stored_found_and_retrieved_byte_for_byte(fhir: Fhir) -> None:
    bundle = provide_bundle(INS, content=CONTENT, folder=True)
    answer = xml_resource(post_xml(fhir, "/fhir", fhir_xml(bundle)))
    assert answer["type"] == "transaction-response" and len(answer["entry"]) == len(bundle["entry"])
    locations = [e["response"]["location"] for e in answer["entry"]]
    [rid] = [loc.split("/")[1] for loc in locations if loc.startswith("DocumentReference/")]
    master = bundle["entry"][1]["resource"]["masterIdentifier"]["value"]

    found = xml_resource(fhir.get("/fhir/DocumentReference", **{"patient.identifier": PATIENT_IDENTIFIER,
                                                                 "identifier": master, "status": "current",
                                                                 "_format": "xml"}))
    assert found["type"] == "searchset" and [e["resource"]["id"] for e in found["entry"]] == [rid]
    url = found["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    raw = fhir.http.get(url.split("testserver")[1], headers={**fhir.headers(), "accept": "*/*"})
    assert raw.status_code == 200 and raw.content == CONTENT and raw.headers["content-type"] == "application/pdf"
    binary = xml_resource(fhir.http.get(f"/fhir/Binary/{rid}", headers={**fhir.headers(), "accept": FHIR_XML}))
    assert binary["resourceType"] == "Binary" and base64.b64decode(binary["data"]) == CONTENT
    by_format = fhir.http.get(f"/fhir/Binary/{rid}", params={"_format": "json"}, headers=fhir.headers())
    assert base64.b64decode(by_format.json()["data"]) == CONTENT

    lists = xml_resource(fhir.http.get("/fhir/List", params={"patient.identifier": PATIENT_IDENTIFIER,
                                                             "code": "folder"},
                                       headers={**fhir.headers(), "accept": f"{FHIR_XML}, application/fhir+json"}))
    folders = [e["resource"] for e in lists["entry"] if e["resource"]["code"]["coding"][0]["code"] == "folder"]
    assert any(f["entry"] == [{"item": {"reference": f"DocumentReference/{rid}"}}] for f in folders)
    capture = fhir.store.captures(transaction="ITI-65", limit=100000)[-1]
    assert capture.request_body.startswith(b"<?xml") and capture.response_headers["content-type"] == FHIR_XML


@pytest.mark.requirement("BENCH-PDSM-ITI105")
def test_xml_simplified_publish(fhir: Fhir) -> None:
    response = post_xml(fhir, "/fhir/DocumentReference", fhir_xml(simplified_publish(INS, content=CONTENT)))
    assert response.status_code == 201, response.text
    created = xml_resource(response)
    assert fhir.get(f"/fhir/Binary/{created['id']}").content == CONTENT


def test_xml_request_json_answer_by_default(fhir: Fhir) -> None:
    response = post_xml(fhir, "/fhir", fhir_xml(provide_bundle(INS)), accept="application/fhir+json")
    assert response.status_code == 200 and response.json()["type"] == "transaction-response"


BAD_XML = {
    "not well-formed": b"<Bundle xmlns='http://hl7.org/fhir'><type value='transaction'/>",
    "external entity": b"<?xml version='1.0'?><!DOCTYPE Bundle [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                       b"<Bundle xmlns='http://hl7.org/fhir'><id value='&x;'/></Bundle>",
    "not FHIR": b"<Bundle><type value='transaction'/></Bundle>",
    "not a Bundle": b"<Patient xmlns='http://hl7.org/fhir'><id value='p'/></Patient>",
    "unknown element": b"<Bundle xmlns='http://hl7.org/fhir'><type value='transaction'/><bogus value='1'/></Bundle>",
}


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
@pytest.mark.parametrize("case", sorted(BAD_XML))
def test_unreadable_xml_is_400_with_an_xml_operation_outcome(fhir: Fhir, case: str) -> None:
    response = post_xml(fhir, "/fhir", BAD_XML[case])
    assert response.status_code in (400, 422), response.text
    outcome = xml_resource(response)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"
    as_json = post_xml(fhir, "/fhir", BAD_XML[case], accept="application/fhir+json")
    assert as_json.status_code == response.status_code and as_json.json()["resourceType"] == "OperationOutcome"


@pytest.mark.requirement("BENCH-PDSM-ITI65-INVALID", "BENCH-PDSM-ERRORS")
def test_xml_bundle_invalid_against_pdsm_is_422_and_leaves_nothing(fhir: Fhir) -> None:
    before = fhir.search()["total"]
    bundle = provide_bundle(INS)
    bundle["entry"][1]["resource"]["status"] = "entered-in-error"
    response = post_xml(fhir, "/fhir", fhir_xml(bundle))
    assert response.status_code == 422
    outcome = xml_resource(response)
    assert any("entered-in-error" in json.dumps(i) for i in outcome["issue"])
    assert fhir.search()["total"] == before


def test_xml_with_a_json_content_type_is_read_by_its_content(fhir: Fhir) -> None:
    response = fhir.http.post("/fhir", content=fhir_xml(provide_bundle(INS)), headers=fhir.headers())
    assert response.status_code == 200 and response.json()["type"] == "transaction-response"


@pytest.mark.parametrize(("accept", "xml"), [
    ("application/fhir+xml", True), ("application/fhir+json", False), ("", False), ("*/*", False),
    ("application/fhir+xml, application/fhir+json", True), ("application/fhir+json, application/fhir+xml", False),
    ("application/fhir+xml;q=0.5, application/fhir+json", False),
    ("application/fhir+json;q=0.2, application/fhir+xml;q=0.9", True), ("application/xml", True),
    ("text/xml;q=0", False), ("application/fhir+xml;q=abc", False), ("application/fhir+xml; fhirVersion=4.0", True),
])
def test_accept_quality_and_order_choose_xml(fhir: Fhir, accept: str, xml: bool) -> None:
    assert wants_xml({}, accept) is xml
    response = fhir.http.get("/fhir/metadata", headers={"accept": accept})
    assert response.status_code == 200 and (response.headers["content-type"] == FHIR_XML) is xml
