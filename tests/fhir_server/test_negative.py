"""Refusals of the FHIR API: each is an OperationOutcome with the documented status, never a server error, and a
refused write stores nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from conformance.identity import make_nir
from conformance.server.fhir import issue_token, unsigned_token
from conformance.suites.pdsm.documents import provide_bundle, simplified_publish
from tests.fhir_server.conftest import BLOCKED, INS, OTHER_INS, PATIENT_IDENTIFIER, STRANGER, Fhir, provide

Mutation = Callable[[dict[str, Any]], Any]


def _outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:800])
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"
    return outcome  # type: ignore[no-any-return]


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(bundle: dict[str, Any]) -> None:
        node = bundle
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _drop(path: list[Any]) -> Mutation:
    def mutate(bundle: dict[str, Any]) -> None:
        node = bundle
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


DOC = ["entry", 1, "resource"]
BUNDLE_CASES: dict[str, tuple[Mutation, int]] = {
    "bundle type batch": (_set(["type"], "batch"), 422),
    "no entry": (_set(["entry"], []), 422),
    "no SubmissionSet": (lambda b: b["entry"].pop(0), 422),
    "status entered-in-error": (_set([*DOC, "status"], "entered-in-error"), 422),
    "no masterIdentifier": (_drop([*DOC, "masterIdentifier"]), 422),
    "no custodian": (_drop([*DOC, "custodian"]), 422),
    "no securityLabel": (_drop([*DOC, "securityLabel"]), 422),
    "bad hash": (_set([*DOC, "content", 0, "attachment", "hash"], "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), 422),
    "wrong size": (_set([*DOC, "content", 0, "attachment", "size"], 1), 422),
    "url to no Binary": (_set([*DOC, "content", 0, "attachment", "url"], "urn:uuid:0000"), 422),
    "bad date": (_set([*DOC, "date"], "15/01/2025"), 422),
    "unknown element": (_set([*DOC, "version"], "2"), 422),
    "Binary data not base64": (_set(["entry", 2, "resource", "data"], "@@@"), 422),
    "entryUUID not urn:uuid": (_set([*DOC, "identifier", 0, "value"], "abc"), 422),
}


@pytest.mark.requirement("BENCH-PDSM-ITI65-INVALID", "BENCH-PDSM-ERRORS")
@pytest.mark.parametrize("case", sorted(BUNDLE_CASES))
def test_invalid_bundle_is_refused_and_nothing_is_stored(fhir: Fhir, case: str) -> None:
    from conformance.fhir import default_validator

    if not default_validator().packages:
        pytest.skip("the PDSm package (../shared/official/fhir) is absent: profiles are not checked")
    mutate, status = BUNDLE_CASES[case]
    bundle = provide_bundle(INS)
    mutate(bundle)
    before = fhir.store.count_entries()
    outcome = _outcome(fhir.post("/fhir", bundle), status)
    assert outcome["issue"][0]["diagnostics"]
    assert fhir.store.count_entries() == before


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
@pytest.mark.parametrize(("body", "status"), [
    (b"", 400), (b"not json", 400), (b"{", 400), (b"[]", 400), (b'{"resourceType": "Patient"}', 400),
    (b"<Bundle xmlns='http://hl7.org/fhir'><type value='transaction'/></Bundle>", 422),
    (b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><Bundle xmlns='http://hl7.org/fhir'>&e;</Bundle>", 400),
    (json.dumps({"resourceType": "Bundle", "type": "transaction"}).encode(), 422),
    (b"\xff\xfe\x00garbage", 400),
])
def test_unreadable_bodies(fhir: Fhir, body: bytes, status: int) -> None:
    _outcome(fhir.post("/fhir", body), status)


@pytest.mark.requirement("BENCH-PDSM-DUPLICATE")
def test_duplicate_unique_id_is_a_conflict(fhir: Fhir) -> None:
    bundle = provide_bundle(INS)
    assert fhir.post("/fhir", bundle).status_code == 200
    again = copy.deepcopy(bundle)
    again["entry"][0]["resource"]["identifier"][0]["value"] = "urn:oid:2.25.1234567"
    for index in (0, 1):  # new entryUUIDs, same document uniqueId
        again["entry"][index]["resource"]["identifier"][-1]["value"] = f"urn:uuid:00000000-0000-4000-8000-00000000000{index}"
    _outcome(fhir.post("/fhir", again), 409)
    resource = simplified_publish(INS)
    resource["masterIdentifier"] = bundle["entry"][1]["resource"]["masterIdentifier"]
    _outcome(fhir.post("/fhir/DocumentReference", resource), 409)


@pytest.mark.requirement("BENCH-PDSM-ACCESS", "BENCH-PDSM-ERRORS")
@pytest.mark.parametrize(("subject", "claims", "status"), [
    (STRANGER, {}, 403), (BLOCKED, {}, 403), ("810000012345", {"auth_mode": "INDIRECTE"}, 403),
    ("810000012345", {"kind": "patient"}, 403),
])
def test_refused_feeds(fhir: Fhir, subject: str, claims: dict[str, Any], status: int) -> None:
    _outcome(fhir.as_(subject, **claims).post("/fhir", provide_bundle(INS)), status)


def test_a_non_author_cannot_publish_for_someone_else(fhir: Fhir) -> None:
    _outcome(fhir.post("/fhir", provide_bundle(INS, author="810000000777")), 403)


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
def test_unknown_patient_and_closed_doors(fhir: Fhir) -> None:
    _outcome(fhir.post("/fhir", provide_bundle(make_nir("1", 1990, 1, "75056", 999))), 404)
    _outcome(fhir.get("/fhir/DocumentReference", **{"patient.identifier": "urn:oid:1.2.250.1.213.1.4.10|1"}), 404)
    _outcome(fhir.get("/fhir/DocumentReference", **{"patient.identifier": f"urn:oid:1.2.250.1.213.1.4.10|{OTHER_INS}"}),
             403)
    _outcome(fhir.as_(STRANGER).get("/fhir/DocumentReference", **{"patient.identifier": PATIENT_IDENTIFIER}), 403)
    _outcome(fhir.as_("810000012345", auth_mode="INDIRECTE").get(
        "/fhir/DocumentReference", **{"patient.identifier": PATIENT_IDENTIFIER}), 403)


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
@pytest.mark.parametrize(("path", "params", "status"), [
    ("/fhir/DocumentReference", {}, 400),
    ("/fhir/DocumentReference", {"patient.identifier": "urn:oid:1.2.3|x"}, 400),
    ("/fhir/DocumentReference", {"patient.identifier": PATIENT_IDENTIFIER, "status": "bogus"}, 400),
    ("/fhir/DocumentReference", {"patient.identifier": PATIENT_IDENTIFIER, "date": "yesterday"}, 400),
    ("/fhir/DocumentReference", {"patient.identifier": PATIENT_IDENTIFIER, "isArchived": "maybe"}, 400),
    ("/fhir/DocumentReference", {"patient.identifier": PATIENT_IDENTIFIER, "_count": "-1"}, 400),
    ("/fhir/DocumentReference/00000000-0000-0000-0000-000000000000", {}, 404),
    ("/fhir/DocumentReference/bad id!", {}, 400),
    ("/fhir/Binary/00000000-0000-0000-0000-000000000000", {}, 404),
    ("/fhir/List/00000000-0000-0000-0000-000000000000", {}, 404),
    ("/fhir/List", {}, 400),
    ("/fhir/Patient", {}, 404),
])
def test_bad_reads(fhir: Fhir, path: str, params: dict[str, str], status: int) -> None:
    _outcome(fhir.get(path, **params), status)


@pytest.mark.requirement("BENCH-PDSM-ERRORS")
@pytest.mark.parametrize("authorization", [
    None, "Basic abc", "Bearer", "Bearer x.y.z", "Bearer v1.e30.AAAA", "Bearer v1.!!.x",
    "Bearer " + unsigned_token({"sub": "810000012345"}),  # unsigned tokens need lenient mode
    "Bearer " + issue_token(b"another server's key", {"sub": "810000012345"}),
    "Bearer " + "v1." + "A" * 5000,
])
def test_missing_or_invalid_token_is_401(fhir: Fhir, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = fhir.http.get("/fhir/DocumentReference", params={"patient.identifier": PATIENT_IDENTIFIER},
                             headers=headers)
    _outcome(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401(fhir: Fhir) -> None:
    token = issue_token(fhir.key, {"sub": "810000012345"}, lifetime=-10)
    _outcome(fhir.http.get("/fhir/List", headers={"authorization": f"Bearer {token}"}), 401)


@pytest.mark.requirement("BENCH-PDSM-PATCH-SCOPE")
@pytest.mark.parametrize(("operations", "status"), [
    ([{"op": "replace", "path": "/type/coding/0/code", "value": "x"}], 405),
    ([{"op": "add", "path": "/description", "value": "x"}], 405),
    ([{"op": "replace", "path": "", "value": {}}], 405),
    ([{"op": "add", "path": "/extension", "value": [{"url": "http://example.org/x", "valueBoolean": True}]}], 405),
    ([{"op": "replace", "path": "/status", "value": "superseded"}], 422),
    ([{"op": "move", "path": "/status", "from": "/id"}], 422),
    ([{"op": "replace", "path": "/nothing/here", "value": 1}], 422),
    ([{"op": "replace", "path": "/securityLabel", "value": "N"}], 422),
    ([{"op": "test", "path": "/status", "value": "superseded"}], 412),
    ([], 400), ({"op": "add"}, 400), ("x", 400),
])
def test_refused_patches(fhir: Fhir, operations: Any, status: int) -> None:
    [rid] = provide(fhir)
    _outcome(fhir.patch(f"/fhir/DocumentReference/{rid}", operations), status)
    assert fhir.get(f"/fhir/DocumentReference/{rid}").json()["meta"]["versionId"] == "1"


def test_patch_media_type_and_unknown_targets(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    response = fhir.http.patch(f"/fhir/DocumentReference/{rid}", content=b"[]",
                               headers={**fhir.headers(), "content-type": "application/xml-patch+xml"})
    _outcome(response, 415)
    _outcome(fhir.patch("/fhir/DocumentReference/00000000-0000-0000-0000-000000000000",
                        [{"op": "add", "path": "/securityLabel/-", "value": {}}]), 404)
    _outcome(fhir.patch("/fhir/DocumentReference", [{"op": "remove", "path": "/extension"}],
                        identifier="urn:ietf:rfc:3986|urn:oid:1.2.3.4.5"), 404)
    _outcome(fhir.as_(STRANGER).patch(f"/fhir/DocumentReference/{rid}", [{"op": "remove", "path": "/securityLabel/0"}]),
             403)


def test_token_endpoint_needs_the_admin_api_and_valid_claims(fhir: Fhir) -> None:
    _outcome(fhir.http.post("/fhir/_token", json={"sub": ""}), 400)
    _outcome(fhir.http.post("/fhir/_token", json={"sub": "x", "auth_mode": "OTHER"}), 400)
    _outcome(fhir.http.post("/fhir/_token", content=b"{", headers={"content-type": "application/json"}), 400)


def test_simplified_publish_refusals(fhir: Fhir) -> None:
    resource = simplified_publish(INS)
    del resource["content"][0]["attachment"]["data"]
    _outcome(fhir.post("/fhir/DocumentReference", resource), 422)
    _outcome(fhir.post("/fhir/DocumentReference", provide_bundle(INS)), 400)  # a Bundle is not a DocumentReference
    replacing = simplified_publish(INS, replaces="00000000-0000-0000-0000-000000000000")
    _outcome(fhir.post("/fhir/DocumentReference", replacing), 422)


def test_hostile_bodies_on_a_small_server() -> None:
    from fastapi.testclient import TestClient

    from conformance.server.app import create_app
    from conformance.server.settings import ServerSettings
    from conformance.store import Store

    store = Store.open("sqlite://")
    app = create_app(ServerSettings(max_body_bytes=2000, validate_requests=False), store)
    headers = {"authorization": f"Bearer {issue_token(app.state.fhir_token_key, {'sub': '810000012345'})}",
               "content-type": "application/fhir+json"}
    with TestClient(app) as client:
        _outcome(client.post("/fhir", content=b"{" + b" " * 5000 + b"}", headers=headers), 413)
        deep = b'{"resourceType": "Bundle", "type": "transaction", "entry": ' + b"[" * 900 + b"]" * 900 + b"}"
        _outcome(client.post("/fhir", content=deep, headers=headers), 400)
        _outcome(client.patch("/fhir/DocumentReference/x", content=b"[" * 3000, headers=headers), 413)
    store.close()
