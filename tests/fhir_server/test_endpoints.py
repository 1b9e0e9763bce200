"""Every FHIR endpoint of the reference DMP on the real app and store: publish, find, read, retrieve, lists,
metadata updates, replacement, access rules, history and captures."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from conformance.fhir.parse import parse_fhir
from conformance.suites.pdsm.documents import MASQUE_PS, provide_bundle, simplified_publish
from tests.fhir_server.conftest import COLLEAGUE, INS, PATIENT_IDENTIFIER, Fhir, provide

UNMASK = [{"op": "replace", "path": "/securityLabel",
           "value": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                  "code": "N"}]}]}]
MASK = [{"op": "add", "path": "/securityLabel/-", "value": {"coding": [MASQUE_PS]}}]
ARCHIVE = [{"op": "add", "path": "/extension",
            "value": [{"url": "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived",
                       "valueBoolean": True}]}]


def test_capability_statement(fhir: Fhir) -> None:
    response = fhir.http.get("/fhir/metadata")
    assert response.status_code == 200 and response.headers["content-type"] == "application/fhir+json"
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert types == {"DocumentReference", "List", "Binary"}


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68")
def test_publish_find_retrieve_same_bytes_and_hash(fhir: Fhir) -> None:
    content = b"%PDF-1.4 \xc3\xa9t\xc3\xa9 " * 10
    bundle = provide_bundle(INS, documents=2, content=content)
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "transaction-response" and len(answer["entry"]) == len(bundle["entry"])
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    locations = [e["response"]["location"].split("/")[0] for e in answer["entry"]]
    assert locations == kinds  # same order as the request
    ids = [loc.split("/")[1] for e in answer["entry"] if (loc := e["response"]["location"]).startswith("Doc")]
    found = fhir.search(status="current")
    assert found["type"] == "searchset" and found["total"] >= 2
    assert all(e["fullUrl"].endswith(f"/DocumentReference/{e['resource']['id']}") for e in found["entry"])
    resource = next(e["resource"] for e in found["entry"] if e["resource"]["id"] == ids[0])
    attachment = resource["content"][0]["attachment"]
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(content).digest()).decode()
    assert attachment["size"] == len(content) and attachment["contentType"] == "application/pdf"
    raw = fhir.http.get(attachment["url"].split("testserver")[1], headers=fhir.headers())
    assert raw.status_code == 200 and raw.content == content and raw.headers["content-type"] == "application/pdf"
    as_binary = fhir.http.get(f"/fhir/Binary/{ids[0]}", headers={**fhir.headers(), "accept": "application/fhir+json"})
    assert base64.b64decode(as_binary.json()["data"]) == content
    read = fhir.get(f"/fhir/DocumentReference/{ids[0]}")
    assert read.status_code == 200 and read.json()["masterIdentifier"] == resource["masterIdentifier"]
    assert not [f for f in parse_fhir(read.content).findings if f.severity.value == "error"]


@pytest.mark.requirement("BENCH-PDSM-ITI105")
def test_simplified_publish_creates_a_document(fhir: Fhir) -> None:
    content = b"%PDF-1.4 simplified"
    response = fhir.post("/fhir/DocumentReference", simplified_publish(INS, content=content))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"DocumentReference/{created['id']}/_history/1"
    assert created["status"] == "current" and created["id"] in fhir.ids()
    assert fhir.get(f"/fhir/Binary/{created['id']}").content == content


@pytest.mark.requirement("BENCH-PDSM-SEARCH")
@pytest.mark.parametrize(("params", "found"), [
    ({"status": "current"}, True), ({"status": "superseded"}, False), ({"status": "current,superseded"}, True),
    ({"type": "http://loinc.org|11488-4"}, True), ({"type": "11488-4"}, True), ({"type": "http://loinc.org|1"}, False),
    ({"category": "10"}, True), ({"category": "99"}, False), ({"format": "urn:ihe:iti:xds-sd:pdf:2008"}, True),
    ({"setting": "ETABLISSEMENT"}, True), ({"facility": "SA01"}, True), ({"facility": "SA99"}, False),
    ({"security-label": "N"}, True), ({"security-label": "MASQUE_PS"}, False),
    ({"date": "ge2025-01-01"}, True), ({"date": "lt2025-01-01"}, False), ({"date": "2025-01-15"}, True),
    ({"period": "ge2025-01-15"}, True), ({"period-start": "le2024-12-31"}, False),
    ({"isArchived": "false"}, True), ({"isArchived": "true"}, False), ({"_count": "0"}, False),
])
def test_search_parameters(fhir: Fhir, params: dict[str, str], found: bool) -> None:
    [rid] = provide(fhir)
    assert (rid in fhir.ids(**params)) is found


def test_search_by_identifier_and_total_with_count(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    master = fhir.get(f"/fhir/DocumentReference/{rid}").json()["masterIdentifier"]["value"]
    assert fhir.ids(identifier=f"urn:ietf:rfc:3986|{master}") == {rid}
    assert fhir.ids(identifier=f"urn:uuid:{rid}") == {rid}
    by_post = fhir.http.post("/fhir/DocumentReference/_search", headers={
        **fhir.headers("application/x-www-form-urlencoded")}, content=f"patient.identifier={PATIENT_IDENTIFIER}"
        f"&identifier=urn:uuid:{rid}&status=current".replace("|", "%7C").encode())
    assert by_post.status_code == 200 and {e["resource"]["id"] for e in by_post.json()["entry"]} == {rid}
    page = fhir.search(_count="1", status="current")
    assert len(page["entry"]) == 1 and page["total"] >= 2
    warned = fhir.search(_count="1")["entry"][-1]  # no status: the MHD minimum is reminded in an outcome entry
    assert warned["search"]["mode"] == "outcome" and "status" in warned["resource"]["issue"][0]["diagnostics"]


@pytest.mark.requirement("BENCH-PDSM-ITI66")
def test_lists_of_the_patient(fhir: Fhir) -> None:
    bundle = provide_bundle(INS)
    assert fhir.post("/fhir", bundle).status_code == 200
    unique = bundle["entry"][0]["resource"]["identifier"][0]["value"]
    found = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, "code": "submissionset",
                                     "identifier": unique}).json()
    assert found["total"] == 1
    resource = found["entry"][0]["resource"]
    assert resource["code"]["coding"][0]["code"] == "submissionset" and len(resource["entry"]) == 1
    assert fhir.get(f"/fhir/List/{resource['id']}").json()["identifier"] == resource["identifier"]
    def ids(**params: str) -> set[str]:
        found = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, "code": "submissionset", **params})
        return {e["resource"]["id"] for e in found.json().get("entry", [])}

    assert resource["id"] in ids(designationType="04") and resource["id"] not in ids(designationType="99")
    assert resource["id"] in ids(sourceId="urn:oid:1.2.250.1.999.2") and resource["id"] not in ids(sourceId="1.2.3")
    assert resource["id"] in ids(date="ge2025-01-15") and resource["id"] not in ids(date="lt2025-01-01")
    folders = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, "code": "folder"}).json()
    assert folders["total"] == 0


@pytest.mark.requirement("BENCH-PDSM-MASK")
def test_masking_by_patch_hides_from_others_not_from_the_author(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    colleague = fhir.as_(COLLEAGUE)
    assert rid in colleague.ids()
    response = fhir.patch(f"/fhir/DocumentReference/{rid}", MASK)
    assert response.status_code == 200, response.text
    assert any(c["coding"][0]["code"] == "MASQUE_PS" for c in response.json()["securityLabel"])
    assert response.json()["meta"]["versionId"] == "2" and response.json()["id"] == rid
    assert rid not in colleague.ids() and rid in fhir.ids()
    assert colleague.get(f"/fhir/DocumentReference/{rid}").status_code == 404
    assert colleague.get(f"/fhir/Binary/{rid}").status_code == 404
    assert colleague.as_(COLLEAGUE, access_mode="break_glass").get(f"/fhir/Binary/{rid}").status_code == 200
    assert fhir.patch(f"/fhir/DocumentReference/{rid}", UNMASK).status_code == 200
    assert rid in colleague.ids()
    history = [h for h in fhir.store.access_history() if h.transaction == "TD3.3a"]
    assert history and history[-1].outcome == "allowed"


@pytest.mark.requirement("BENCH-PDSM-ARCHIVE")
def test_archive_and_unarchive_through_the_extension(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    archived = fhir.patch(f"/fhir/DocumentReference/{rid}", ARCHIVE)
    assert archived.status_code == 200, archived.text
    assert archived.json()["extension"][0]["valueBoolean"] is True
    assert rid in fhir.ids(isArchived="true") and rid not in fhir.ids(isArchived="false")
    restored = fhir.patch(f"/fhir/DocumentReference/{rid}", [{"op": "remove", "path": "/extension"}])
    assert restored.status_code == 200 and "extension" not in restored.json()


def test_delete_is_entered_in_error_and_only_by_the_author(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    delete = [{"op": "replace", "path": "/status", "value": "entered-in-error"}]
    assert fhir.as_(COLLEAGUE).patch(f"/fhir/DocumentReference/{rid}", delete).status_code == 403
    assert fhir.patch(f"/fhir/DocumentReference/{rid}", delete).status_code == 200
    assert fhir.get(f"/fhir/DocumentReference/{rid}").status_code == 404


def test_conditional_patch_on_the_business_identifier(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    master = fhir.get(f"/fhir/DocumentReference/{rid}").json()["masterIdentifier"]["value"]
    response = fhir.patch("/fhir/DocumentReference", MASK, identifier=f"urn:ietf:rfc:3986|{master}")
    assert response.status_code == 200 and response.json()["id"] == rid


@pytest.mark.requirement("BENCH-PDSM-REPLACE")
@pytest.mark.parametrize("flow", ["ITI-65", "ITI-105", "conditional update"])
def test_replacement_supersedes_the_old_document(fhir: Fhir, flow: str) -> None:
    [old] = provide(fhir)
    if flow == "ITI-65":
        [new] = provide(fhir, replaces=old)
    elif flow == "conditional update":
        master = fhir.get(f"/fhir/DocumentReference/{old}").json()["masterIdentifier"]["value"]
        response = fhir.http.put("/fhir/DocumentReference", params={"identifier": f"urn:ietf:rfc:3986|{master}"},
                                 content=json.dumps(simplified_publish(INS)).encode(), headers=fhir.headers())
        assert response.status_code == 201, response.text
        new = response.json()["id"]
    else:
        response = fhir.post("/fhir/DocumentReference", simplified_publish(INS, replaces=old))
        assert response.status_code == 201, response.text
        new = response.json()["id"]
    assert fhir.get(f"/fhir/DocumentReference/{old}").json()["status"] == "superseded"
    assert old in fhir.ids(status="superseded") and old not in fhir.ids(status="current")
    replacing = fhir.get(f"/fhir/DocumentReference/{new}").json()
    assert replacing["relatesTo"] == [{"code": "replaces", "target": {"reference": f"DocumentReference/{old}"}}]
    assert new in fhir.ids(relatesto=f"DocumentReference/{old}")
    again = fhir.post("/fhir/DocumentReference", simplified_publish(INS, replaces=old))
    assert again.status_code == 422  # a superseded document cannot be replaced twice


@pytest.mark.requirement("BENCH-PDSM-ACCESS")
def test_every_read_and_write_is_in_the_access_history(fhir: Fhir) -> None:
    before = len(fhir.store.access_history(limit=100000))
    [rid] = provide(fhir)
    fhir.get(f"/fhir/DocumentReference/{rid}")
    fhir.get(f"/fhir/Binary/{rid}")
    fhir.as_("810000000099").get(f"/fhir/Binary/{rid}")
    lines = fhir.store.access_history(limit=100000)[before:]
    assert [(h.action, h.outcome) for h in lines] == [("feed", "allowed"), ("read", "allowed"),
                                                      ("retrieve", "allowed"), ("retrieve", "denied")]
    assert lines[-1].actor_id == "810000000099"


def test_exchanges_are_captured_without_the_token(fhir: Fhir) -> None:
    provide(fhir)
    capture = fhir.store.captures(transaction="ITI-65", limit=100000)[-1]
    assert capture.status_code == 200 and capture.identity["subject"] == fhir.subject
    assert capture.request_headers["authorization"] == "Bearer <redacted>"
    listed = fhir.http.get("/captures", params={"transaction": "ITI-65"}).json()
    assert listed and listed[-1]["method"] == "POST"


def test_fhir_openapi_document_lists_only_the_fhir_api(fhir: Fhir) -> None:
    document = fhir.http.get("/fhir/openapi.json").json()
    assert document["paths"] and all(p.startswith("/fhir") for p in document["paths"])
    assert "/fhir/DocumentReference" in document["paths"] and "/captures" not in document["paths"]
    full = fhir.http.get("/openapi.json").json()
    assert not [p for p in full["paths"] if "services" in p]  # the SOAP services are not described


def test_xml_on_request(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    by_format = fhir.get(f"/fhir/DocumentReference/{rid}", _format="xml")
    assert by_format.headers["content-type"] == "application/fhir+xml"
    assert b'<DocumentReference xmlns="http://hl7.org/fhir">' in by_format.content
    parsed = parse_fhir(by_format.content)
    assert parsed.format == "xml" and parsed.resource and parsed.resource["id"] == rid
    by_accept = fhir.http.get("/fhir/metadata", headers={"accept": "application/fhir+xml"})
    assert by_accept.content.lstrip().startswith(b"<?xml") and b"CapabilityStatement" in by_accept.content
    missing = fhir.http.get("/fhir/DocumentReference/unknown", headers={**fhir.headers(), "accept": "application/fhir+xml"})
    assert missing.status_code == 404 and b"<OperationOutcome" in missing.content


def _supersede(target: str, value: str = "superseded") -> dict[str, object]:
    """A PDSM4DMP TD2.1 UpdateDocumentRefs entry (FHIRPath Patch)."""
    return {"fullUrl": "urn:uuid:0b9c1d6e-0000-4000-8000-000000000001", "request": {
        "method": "PATCH", "url": f"DocumentReference/{target}"}, "resource": {"resourceType": "Parameters", "parameter": [
            {"name": "operation", "part": [{"name": "type", "valueCode": "replace"},
                                           {"name": "path", "valueString": "DocumentReference.status"},
                                           {"name": "value", "valueCode": value}]}]}}


@pytest.mark.requirement("BENCH-PDSM-REPLACE")
def test_update_document_refs_entry_of_a_replacement(fhir: Fhir) -> None:
    [old] = provide(fhir)
    bundle = provide_bundle(INS, replaces=old)
    bundle["entry"].append(_supersede(old))
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 200, response.text
    assert response.json()["entry"][-1]["response"] == {"status": "200 OK", "location": f"DocumentReference/{old}"}
    assert fhir.get(f"/fhir/DocumentReference/{old}").json()["status"] == "superseded"


@pytest.mark.parametrize("case", ["not replaced", "other value"])
def test_update_document_refs_entry_that_would_not_be_applied_is_refused(fhir: Fhir, case: str) -> None:
    [old] = provide(fhir)
    [other] = provide(fhir)
    bundle = provide_bundle(INS, replaces=old)
    bundle["entry"].append(_supersede(other) if case == "not replaced" else _supersede(old, "current"))
    before = fhir.search()["total"]
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 422 and "BENCH-PDSM-UPDATE-DOCREFS" in json.dumps(response.json()["issue"])
    assert fhir.search()["total"] == before and fhir.get(f"/fhir/DocumentReference/{old}").json()["status"] == "current"
