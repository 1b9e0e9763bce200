"""PDSm server role: the bench publishes, finds, retrieves, masks and replaces documents on the FHIR API of the
DMP under test and checks what it answers (any PDSm document sharing server: ``--sut-url``)."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.fhir import default_validator, parse_fhir
from conformance.findings import Severity
from conformance.suites.pdsm.conftest import COLLEAGUE_ID, STRANGER_ID
from conformance.suites.pdsm.documents import (
    INS_TEST_OID,
    MASQUE_PS,
    fhir_xml,
    provide_bundle,
    simplified_publish,
)

Client = Callable[..., httpx.Client]
FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
JSON_PATCH = {"content-type": "application/json-patch+json"}
IS_ARCHIVED = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived"


def _identifier(ins: str) -> str:
    return f"urn:oid:{INS_TEST_OID}|{ins}"


def _base(client: httpx.Client) -> str:
    """The FHIR base itself (httpx joins "" as ``base/``): transactions are POST [base]."""
    return str(client.base_url).rstrip("/")


def _publish(client: httpx.Client, bundle: dict[str, Any]) -> list[str]:
    """ITI-65; the logical ids of the created DocumentReferences (from the transaction-response locations)."""
    response = client.post(_base(client), json=bundle, headers={"content-type": FHIR_JSON})
    assert response.status_code == 200, f"ITI-65 answered {response.status_code}: {response.text[:1000]}"
    answer = response.json()
    assert answer.get("type") == "transaction-response", "ITI-65 must answer a transaction-response Bundle"
    assert len(answer.get("entry", [])) == len(bundle["entry"]), "one response entry per request entry"
    return [e["response"]["location"].split("/")[1] for e in answer["entry"]
            if str(e.get("response", {}).get("location", "")).startswith("DocumentReference/")]


def _search(client: httpx.Client, ins: str, **params: str) -> dict[str, Any]:
    response = client.get("/DocumentReference", params={"patient.identifier": _identifier(ins), **params})
    assert response.status_code == 200, f"ITI-67 answered {response.status_code}: {response.text[:1000]}"
    bundle = response.json()
    assert bundle.get("type") == "searchset" and isinstance(bundle.get("total"), int), \
        "ITI-67 answers a searchset Bundle with total"
    assert all(e.get("fullUrl") for e in bundle.get("entry", [])), "every searchset entry has a fullUrl"
    return bundle  # type: ignore[no-any-return]


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["resource"].get("resourceType")
            == "DocumentReference"}


def _document(client: httpx.Client, rid: str) -> dict[str, Any]:
    response = client.get(f"/DocumentReference/{rid}")
    assert response.status_code == 200, f"read DocumentReference answered {response.status_code}"
    return response.json()  # type: ignore[no-any-return]


def _outcome(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, f"expected {statuses}, got {response.status_code}: {response.text[:600]}"
    assert response.json().get("resourceType") == "OperationOutcome", "errors are OperationOutcome resources"


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68")
def test_publish_find_retrieve_same_bytes(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    content = b"%PDF-1.4 PDSm suite \xc3\xa9"
    client = fhir_client()
    [rid] = _publish(client, provide_bundle(pdsm_patient, author=author_id, content=content))
    found = _search(client, pdsm_patient, status="current")
    assert rid in _ids(found), "the published document is found by ITI-67"
    resource = next(e["resource"] for e in found["entry"] if e["resource"]["id"] == rid)
    attachment = resource["content"][0]["attachment"]
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(content).digest()).decode()
    assert attachment["size"] == len(content)
    raw = client.get(attachment["url"], headers={"accept": "*/*"})
    assert raw.status_code == 200 and raw.content == content, "ITI-68 returns the published bytes"
    assert raw.headers["content-type"].split(";")[0] == attachment["contentType"]


@pytest.mark.requirement("BENCH-PDSM-ITI67")
def test_search_response_is_valid_against_pdsm(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    _publish(client, provide_bundle(pdsm_patient, author=author_id))
    response = client.get("/DocumentReference", params={"patient.identifier": _identifier(pdsm_patient),
                                                        "status": "current"})
    result = default_validator().validate_bytes(response.content, "ITI-67 response", profiles=[])
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert not errors, [f"{f.rule}: {f.message}" for f in errors[:5]]


@pytest.mark.requirement("BENCH-PDSM-ITI105")
def test_simplified_publish(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    response = client.post("/DocumentReference", json=simplified_publish(pdsm_patient, author=author_id),
                           headers={"content-type": FHIR_JSON})
    assert response.status_code == 201, f"ITI-105 answered {response.status_code}: {response.text[:800]}"
    created = response.json()
    assert created.get("id") and created.get("meta", {}).get("versionId"), "201 carries id and versionId"
    assert created["id"] in _ids(_search(client, pdsm_patient))


@pytest.mark.requirement("BENCH-PDSM-SEARCH")
def test_search_parameters_filter(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    [rid] = _publish(client, provide_bundle(pdsm_patient, author=author_id))
    document = _document(client, rid)
    master, nos = document["masterIdentifier"]["value"], "https://mos.esante.gouv.fr/NOS/"
    expectations = [({"type": "http://loinc.org|11488-4"}, True), ({"type": "http://loinc.org|00000-0"}, False),
                    ({"status": "superseded"}, False), ({"date": "ge2025-01-01"}, True),
                    ({"date": "lt2000-01-01"}, False), ({"security-label": "N"}, True),
                    ({"security-label": "MASQUE_PS"}, False),
                    ({"category": f"{nos}TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument|10"}, True),
                    ({"category": "99"}, False), ({"setting": "ETABLISSEMENT"}, True), ({"setting": "X"}, False),
                    ({"facility": "SA01"}, True), ({"facility": "SA99"}, False),
                    ({"format": "urn:ihe:iti:xds-sd:pdf:2008"}, True), ({"format": "urn:x"}, False),
                    ({"period": "ge2025-01-01"}, True), ({"period": "lt2000-01-01"}, False),
                    ({"isArchived": "false"}, True), ({"isArchived": "true"}, False),
                    ({"identifier": f"urn:ietf:rfc:3986|{master}"}, True), ({"identifier": "urn:oid:1.2.3"}, False),
                    ({"author": f"Practitioner/{author_id}"}, True), ({"author": "Practitioner/0"}, False),
                    ({"author.family": "MARTIN"}, True), ({"author.family": "DURAND"}, False)]
    failed = [params for params, expected in expectations
              if (rid in _ids(_search(client, pdsm_patient, **{"status": "current", **params}))) is not expected]
    assert not failed, f"these searches did not find (or exclude) the document as expected: {failed}"
    page = _search(client, pdsm_patient, status="current", _count="1")
    assert len([e for e in page.get("entry", []) if e["search"]["mode"] == "match"]) <= 1, "_count bounds the page"


@pytest.mark.requirement("BENCH-PDSM-ITI66")
def test_find_submission_sets(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    bundle = provide_bundle(pdsm_patient, author=author_id)
    _publish(client, bundle)
    response = client.get("/List", params={"patient.identifier": _identifier(pdsm_patient), "code": "submissionset",
                                           "status": "current"})
    assert response.status_code == 200, response.text[:600]
    values = {i["value"] for e in response.json().get("entry", []) for i in e["resource"].get("identifier", [])}
    assert bundle["entry"][0]["resource"]["identifier"][0]["value"] in values


@pytest.mark.requirement("BENCH-PDSM-MASK", "BENCH-PDSM-ACCESS")
def test_masking_by_patch_hides_from_others(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    author, colleague = fhir_client(), fhir_client(COLLEAGUE_ID)
    [rid] = _publish(author, provide_bundle(pdsm_patient, author=author_id))
    assert rid in _ids(_search(colleague, pdsm_patient))
    patch = author.patch(f"/DocumentReference/{rid}", headers={"content-type": "application/json-patch+json"},
                         json=[{"op": "add", "path": "/securityLabel/-", "value": {"coding": [MASQUE_PS]}}])
    assert patch.status_code == 200, f"masking PATCH answered {patch.status_code}: {patch.text[:600]}"
    assert rid not in _ids(_search(colleague, pdsm_patient)), "a masked document is hidden from other professionals"
    assert rid in _ids(_search(author, pdsm_patient)), "its author still sees it"


@pytest.mark.requirement("BENCH-PDSM-REPLACE")
def test_replacement_supersedes(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    [old] = _publish(client, provide_bundle(pdsm_patient, author=author_id))
    _publish(client, provide_bundle(pdsm_patient, author=author_id, replaces=old))
    assert old in _ids(_search(client, pdsm_patient, status="superseded"))
    assert old not in _ids(_search(client, pdsm_patient, status="current"))


@pytest.mark.requirement("BENCH-PDSM-ITI65-INVALID", "BENCH-PDSM-ERRORS")
def test_invalid_bundle_is_refused_with_an_operation_outcome(fhir_client: Client, pdsm_patient: str,
                                                             author_id: str) -> None:
    client = fhir_client()
    bundle = provide_bundle(pdsm_patient, author=author_id)
    bundle["entry"][1]["resource"]["status"] = "entered-in-error"
    del bundle["entry"][1]["resource"]["masterIdentifier"]
    before = _search(client, pdsm_patient)["total"]
    _outcome(client.post(_base(client), json=bundle, headers={"content-type": FHIR_JSON}), 400, 422)
    assert _search(client, pdsm_patient)["total"] == before, "nothing of a refused bundle is stored"


@pytest.mark.requirement("BENCH-PDSM-DUPLICATE")
def test_duplicate_unique_id_is_refused(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    bundle = provide_bundle(pdsm_patient, author=author_id)
    _publish(client, bundle)
    again = provide_bundle(pdsm_patient, author=author_id)
    again["entry"][1]["resource"]["masterIdentifier"] = copy.deepcopy(bundle["entry"][1]["resource"]["masterIdentifier"])
    _outcome(client.post(_base(client), json=again, headers={"content-type": FHIR_JSON}), 409, 422)


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
def test_unknown_patient_and_unknown_document(fhir_client: Client) -> None:
    client = fhir_client()
    _outcome(client.get("/DocumentReference", params={"patient.identifier": _identifier("100000000000099")}), 404, 422)
    _outcome(client.get("/DocumentReference/00000000-0000-0000-0000-000000000000"), 404)


@pytest.mark.requirement("BENCH-PDSM-ACCESS", "BENCH-PDSM-ERRORS")
def test_no_token_and_no_authorization(fhir_base: str, fhir_client: Client, pdsm_patient: str,
                                       sut_embedded: bool) -> None:
    anonymous = httpx.get(f"{fhir_base}/DocumentReference", params={"patient.identifier": _identifier(pdsm_patient)})
    _outcome(anonymous, 401)
    if not sut_embedded:
        pytest.skip("a token for a professional without authorization exists only on the embedded DMP")
    _outcome(fhir_client(STRANGER_ID).get("/DocumentReference",
                                          params={"patient.identifier": _identifier(pdsm_patient)}), 403)


@pytest.mark.requirement("BENCH-PDSM-ARCHIVE")
def test_archive_and_unarchive(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    [rid] = _publish(client, provide_bundle(pdsm_patient, author=author_id))
    archive = [{"op": "add", "path": "/extension", "value": [{"url": IS_ARCHIVED, "valueBoolean": True}]}]
    archived = client.patch(f"/DocumentReference/{rid}", headers=JSON_PATCH, json=archive)
    assert archived.status_code == 200, f"archiving PATCH answered {archived.status_code}: {archived.text[:600]}"
    assert rid in _ids(_search(client, pdsm_patient, isArchived="true")), "an archived document has isArchived=true"
    assert rid not in _ids(_search(client, pdsm_patient, isArchived="false"))
    restored = client.patch(f"/DocumentReference/{rid}", headers=JSON_PATCH,
                            json=[{"op": "remove", "path": "/extension"}])
    assert restored.status_code == 200, f"unarchiving PATCH answered {restored.status_code}: {restored.text[:600]}"
    assert rid in _ids(_search(client, pdsm_patient, isArchived="false")), "an unarchived document is active again"


@pytest.mark.requirement("BENCH-PDSM-PATCH-SCOPE", "BENCH-PDSM-ERRORS")
def test_patch_outside_status_security_label_and_is_archived_is_405(fhir_client: Client, pdsm_patient: str,
                                                                    author_id: str) -> None:
    client = fhir_client()
    [rid] = _publish(client, provide_bundle(pdsm_patient, author=author_id))
    before = _document(client, rid)
    for operations in ([{"op": "replace", "path": "/type", "value": {"coding": [{"code": "X"}]}}],
                       [{"op": "add", "path": "/description", "value": "changed"}]):
        _outcome(client.patch(f"/DocumentReference/{rid}", headers=JSON_PATCH, json=operations), 405)
    after = _document(client, rid)
    assert after["type"] == before["type"] and "description" not in after, "a refused PATCH changes nothing"


def _lists(client: httpx.Client, ins: str, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get("/List", params={"patient.identifier": _identifier(ins), "status": "current", **params})
    assert response.status_code == 200, f"ITI-66 answered {response.status_code}: {response.text[:600]}"
    bundle = response.json()
    assert bundle.get("type") == "searchset", "ITI-66 answers a searchset Bundle"
    return {e["resource"]["id"]: e["resource"] for e in bundle.get("entry", [])
            if e["resource"].get("resourceType") == "List"}


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI66")
def test_folder_is_found_with_its_documents(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    bundle = provide_bundle(pdsm_patient, author=author_id, folder=True)
    [rid] = _publish(client, bundle)
    sent = bundle["entry"][-1]["resource"]
    unique = sent["identifier"][0]["value"]
    found = [f for f in _lists(client, pdsm_patient, code="folder").values()
             if unique in {i.get("value") for i in f.get("identifier", [])}]
    assert len(found) == 1, f"ITI-66 code=folder finds the published Folder {unique}"
    folder = found[0]
    assert folder["code"]["coding"][0]["code"] == "folder" and folder.get("title") == sent["title"]
    assert [e["item"]["reference"].rsplit("/", 1)[-1] for e in folder.get("entry", [])] == [rid], \
        "the Folder List references its DocumentReference"
    assert folder["id"] not in _lists(client, pdsm_patient, code="submissionset"), "a Folder is not a SubmissionSet"
    by_title = _lists(client, pdsm_patient, code="folder", title=sent["title"])
    assert folder["id"] in by_title and folder["id"] not in _lists(client, pdsm_patient, code="folder",
                                                                   title="no such title")
    response = client.get("/List", params={"patient.identifier": _identifier(pdsm_patient), "code": "folder",
                                           "identifier": f"urn:uuid:{folder['id']}"})
    result = default_validator().validate_bytes(response.content, "ITI-66 response", profiles=[])
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert not errors, [f"{f.rule}: {f.message}" for f in errors[:5]]


@pytest.mark.requirement("BENCH-PDSM-ITI66")
def test_submission_set_search_parameters(fhir_client: Client, pdsm_patient: str, author_id: str) -> None:
    client = fhir_client()
    bundle = provide_bundle(pdsm_patient, author=author_id)
    _publish(client, bundle)
    sent = bundle["entry"][0]["resource"]
    unique = sent["identifier"][0]["value"]

    def found(**params: str) -> bool:
        return any(unique in {i.get("value") for i in r.get("identifier", [])}
                   for r in _lists(client, pdsm_patient, code="submissionset", **params).values())

    organisation = next(c for c in sent["contained"] if c["resourceType"] == "Organization")
    expectations = [({"identifier": unique}, True), ({"title": sent["title"]}, True), ({"title": "zz"}, False),
                    ({"designationType": "04"}, True), ({"designationType": "99"}, False),
                    ({"sourceId": "urn:oid:1.2.250.1.999.2"}, True), ({"sourceId": "urn:oid:1.2.3"}, False),
                    ({"source.family": "MARTIN"}, True), ({"source.family": "DURAND"}, False),
                    ({"authorOrg": f"Organization/{organisation['identifier'][0]['value']}"}, True),
                    ({"authorOrg": "Organization/0"}, False), ({"date": "ge2025-01-01"}, True),
                    ({"date": "lt2000-01-01"}, False)]
    failed = [params for params, expected in expectations if found(**params) is not expected]
    assert not failed, f"these ITI-66 searches did not find (or exclude) the SubmissionSet as expected: {failed}"


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68")
def test_xml_publication_is_found_and_retrieved_byte_for_byte(fhir_client: Client, pdsm_patient: str,
                                                              author_id: str) -> None:
    content = b"%PDF-1.4 PDSm suite in XML \xc3\xa9"
    client = fhir_client()
    bundle = provide_bundle(pdsm_patient, author=author_id, content=content)
    response = client.post(_base(client), content=fhir_xml(bundle), headers={"content-type": FHIR_XML, "accept": FHIR_XML})
    assert response.status_code == 200, f"ITI-65 in XML answered {response.status_code}: {response.text[:800]}"
    assert response.headers["content-type"].split(";")[0] == FHIR_XML, "Accept: application/fhir+xml gets XML"
    answer = parse_fhir(response.content).resource or {}
    assert answer.get("type") == "transaction-response"
    [rid] = [e["response"]["location"].split("/")[1] for e in answer.get("entry", [])
             if e["response"]["location"].startswith("DocumentReference/")]
    found = client.get("/DocumentReference", params={"patient.identifier": _identifier(pdsm_patient),
                                                     "status": "current", "_format": "xml"})
    assert found.status_code == 200 and found.headers["content-type"].split(";")[0] == FHIR_XML, \
        "_format=xml gets an XML searchset"
    searchset = parse_fhir(found.content).resource or {}
    resource = next(e["resource"] for e in searchset.get("entry", []) if e["resource"].get("id") == rid)
    raw = client.get(resource["content"][0]["attachment"]["url"], headers={"accept": "*/*"})
    assert raw.status_code == 200 and raw.content == content, "ITI-68 returns the bytes published in XML"


@pytest.mark.requirement("BENCH-PDSM-ITI65-INVALID", "BENCH-PDSM-ERRORS")
def test_unreadable_xml_bundle_is_refused_with_an_xml_operation_outcome(fhir_client: Client) -> None:
    client = fhir_client()
    response = client.post(_base(client), content=b"<Bundle xmlns='http://hl7.org/fhir'><type value='transaction'/>",
                           headers={"content-type": FHIR_XML, "accept": FHIR_XML})
    assert response.status_code == 400, f"a not well-formed XML bundle answered {response.status_code}"
    outcome = parse_fhir(response.content)
    assert outcome.format == "xml" and outcome.resource_type == "OperationOutcome", \
        "the OperationOutcome comes in XML when XML is asked for"
