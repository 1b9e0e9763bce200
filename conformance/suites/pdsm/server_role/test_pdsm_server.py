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

from conformance.fhir import default_validator
from conformance.findings import Severity
from conformance.suites.pdsm.conftest import COLLEAGUE_ID, STRANGER_ID
from conformance.suites.pdsm.documents import INS_TEST_OID, MASQUE_PS, provide_bundle, simplified_publish

Client = Callable[..., httpx.Client]
FHIR_JSON = "application/fhir+json"


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
    expectations = [({"type": "http://loinc.org|11488-4"}, True), ({"type": "http://loinc.org|00000-0"}, False),
                    ({"status": "superseded"}, False), ({"date": "ge2025-01-01"}, True),
                    ({"date": "lt2000-01-01"}, False), ({"security-label": "N"}, True)]
    for params, expected in expectations:
        assert (rid in _ids(_search(client, pdsm_patient, **params))) is expected, params


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
