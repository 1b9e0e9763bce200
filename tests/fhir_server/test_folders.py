"""Folders over FHIR: an ITI-65 Folder List is stored with its documents, answered in the transaction-response,
found by ITI-66 with the folder parameters, read back as a PDSm Folder List, and refused whole when wrong."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fhir import default_validator
from conformance.findings import Severity
from conformance.suites.pdsm.documents import INS_TEST_OID, provide_bundle
from tests.fhir_server.conftest import COLLEAGUE, INS, OTHER_INS, PATIENT_IDENTIFIER, Fhir, provide
from tests.store.factory import entry, oid, submission

FOLDER_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-folder-comprehensive"


def publish_folder(fhir: Fhir, **kw: Any) -> tuple[dict[str, Any], str, list[str]]:
    """An ITI-65 bundle with a Folder; (the bundle, the folder's List id, the DocumentReference ids)."""
    bundle = provide_bundle(INS, folder=True, **kw)
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 200, response.text
    locations = [e["response"]["location"] for e in response.json()["entry"]]
    kinds = [(e["resource"]["resourceType"], e["resource"].get("code", {}).get("coding", [{}])[0].get("code"))
             for e in bundle["entry"]]
    folder_id = next(loc.split("/")[1] for loc, kind in zip(locations, kinds, strict=True) if kind[1] == "folder")
    documents = [loc.split("/")[1] for loc in locations if loc.startswith("DocumentReference/")]
    return bundle, folder_id, documents


def lists(fhir: Fhir, **params: str) -> dict[str, dict[str, Any]]:
    response = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, **params})
    assert response.status_code == 200, response.text
    return {e["resource"]["id"]: e["resource"] for e in response.json().get("entry", [])}


def folder_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0]
                .get("code") == "folder")


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI66")
def test_folder_is_stored_and_found_with_its_documents(fhir: Fhir) -> None:
    bundle, folder_id, documents = publish_folder(fhir, documents=2)
    found = lists(fhir, code="https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|folder", status="current")
    folder = found[folder_id]
    assert folder["meta"]["profile"] == [FOLDER_PROFILE] and folder["code"]["coding"][0]["code"] == "folder"
    assert folder["title"] == "Suivi" and folder["status"] == "current" and folder["mode"] == "working"
    assert {e["item"]["reference"] for e in folder["entry"]} == {f"DocumentReference/{d}" for d in documents}
    sent = folder_of(bundle)
    assert [i["value"] for i in folder["identifier"]] == [sent["identifier"][0]["value"], f"urn:uuid:{folder_id}"]
    assert folder["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "11488-4"
    assert fhir.get(f"/fhir/List/{folder_id}").json() == folder
    # the SubmissionSet lists its documents, not the folder; without code both kinds come back
    everything = lists(fhir)
    assert folder_id in everything and any(r["code"]["coding"][0]["code"] == "submissionset"
                                           for r in everything.values())
    assert folder_id not in lists(fhir, code="submissionset")


def test_folder_and_submission_set_lists_are_valid_against_pdsm(fhir: Fhir) -> None:
    bundle, folder_id, _ = publish_folder(fhir)
    response = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, "identifier": ",".join(
        [f"urn:uuid:{folder_id}", bundle["entry"][0]["resource"]["identifier"][0]["value"]])})
    assert response.json()["total"] == 2
    result = default_validator().validate_bytes(response.content, "ITI-66 response", profiles=[])
    errors = [f"{f.rule}: {f.message}" for f in result.findings if f.severity is Severity.ERROR]
    assert not errors, errors[:5]


@pytest.mark.requirement("BENCH-PDSM-ITI66")
@pytest.mark.parametrize(("params", "found"), [
    ({"code": "folder"}, True), ({"code": "submissionset"}, False), ({"status": "current"}, True),
    ({"status": "retired"}, False), ({"designationType": "http://loinc.org|11488-4"}, True),
    ({"designationType": "99999-9"}, False), ({"date": "ge2020-01-01"}, True), ({"date": "lt2020-01-01"}, False),
    ({"title": "sui"}, True), ({"title": "Classeur"}, False), ({"title:exact": "Suivi"}, True),
    ({"title:exact": "suivi"}, False), ({"title:contains": "ivi"}, True), ({"isArchived": "false"}, True),
    ({"isArchived": "true"}, False), ({"sourceId": "1.2.250.1.999.2"}, False),
    ({"source.family": "MARTIN"}, False),  # a Folder has no source (PDSm source 0..0)
])
def test_folder_search_parameters(fhir: Fhir, params: dict[str, str], found: bool) -> None:
    _, folder_id, _ = publish_folder(fhir)
    assert (folder_id in lists(fhir, **{"code": "folder,submissionset", **params})) is found


def test_folder_by_identifier(fhir: Fhir) -> None:
    bundle, folder_id, _ = publish_folder(fhir)
    unique = folder_of(bundle)["identifier"][0]["value"]
    assert set(lists(fhir, code="folder", identifier=f"urn:ietf:rfc:3986|{unique}")) == {folder_id}
    assert set(lists(fhir, code="folder", identifier=f"urn:uuid:{folder_id}")) == {folder_id}
    assert not lists(fhir, code="folder", identifier="urn:oid:1.2.3.4")


def test_a_folder_may_file_documents_already_published(fhir: Fhir) -> None:
    [earlier] = provide(fhir)
    _, folder_id, [new] = publish_folder(fhir, filed=(earlier,))
    members = {e["item"]["reference"] for e in fhir.get(f"/fhir/List/{folder_id}").json()["entry"]}
    assert members == {f"DocumentReference/{earlier}", f"DocumentReference/{new}"}


def test_unknown_folder_member_refuses_the_whole_bundle(fhir: Fhir) -> None:
    before = fhir.search()["total"]
    bundle = provide_bundle(INS, folder=True, filed=("00000000-0000-0000-0000-000000000000",))
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 422 and response.json()["resourceType"] == "OperationOutcome"
    assert "Folder item" in response.json()["issue"][0]["diagnostics"]
    assert fhir.search()["total"] == before
    assert not lists(fhir, code="folder", identifier=folder_of(bundle)["identifier"][0]["value"])


def test_a_document_of_another_patient_cannot_be_filed(fhir: Fhir) -> None:
    other_cx = f"{OTHER_INS}^^^&{INS_TEST_OID}&ISO^NH"
    uid = oid()
    stored = fhir.store.register_submission(submission(entry(uid, patient=other_cx), patient=other_cx))
    foreign = stored.entry_uuids[f"doc-{uid}"].removeprefix("urn:uuid:")
    response = fhir.post("/fhir", provide_bundle(INS, folder=True, filed=(foreign,)))
    assert response.status_code == 422 and "Folder item" in response.json()["issue"][0]["diagnostics"]


def test_masked_documents_are_left_out_of_the_folder_for_others(fhir: Fhir) -> None:
    _, folder_id, [rid] = publish_folder(fhir)
    mask = [{"op": "add", "path": "/securityLabel/-", "value": {"coding": [{
        "system": "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
                  "TRE-A07-StatutVisibiliteDocument", "code": "MASQUE_PS"}]}}]
    assert fhir.patch(f"/fhir/DocumentReference/{rid}", mask).status_code == 200
    assert fhir.get(f"/fhir/List/{folder_id}").json()["entry"] == [{"item": {"reference": f"DocumentReference/{rid}"}}]
    assert "entry" not in fhir.as_(COLLEAGUE).get(f"/fhir/List/{folder_id}").json()


def test_unknown_list_is_404(fhir: Fhir) -> None:
    response = fhir.get("/fhir/List/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


def test_put_folder_adds_documents_to_a_registered_folder(fhir: Fhir) -> None:
    _, folder_id, [first] = publish_folder(fhir)
    before = fhir.get(f"/fhir/List/{folder_id}").json()
    bundle = provide_bundle(INS, folder=True, filed=(first,))
    folder_entry = bundle["entry"][-1]
    folder_entry["request"] = {"method": "PUT", "url": f"List/{folder_id}"}
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 200, response.text
    answer = response.json()["entry"][-1]["response"]
    assert answer == {"status": "200 OK", "location": f"List/{folder_id}"}
    [second] = [e["response"]["location"].split("/")[1] for e in response.json()["entry"]
                if e["response"]["location"].startswith("DocumentReference/")]
    after = fhir.get(f"/fhir/List/{folder_id}").json()
    assert {e["item"]["reference"] for e in after["entry"]} == {f"DocumentReference/{first}",
                                                                f"DocumentReference/{second}"}
    assert after["date"] >= before["date"] and after["title"] == before["title"]  # the registered folder is kept
    assert not lists(fhir, code="folder", identifier=folder_of(bundle)["identifier"][0]["value"])  # no new folder


def test_put_of_an_unknown_folder_refuses_the_bundle(fhir: Fhir) -> None:
    bundle = provide_bundle(INS, folder=True)
    bundle["entry"][-1]["request"] = {"method": "PUT", "url": "List/00000000-0000-0000-0000-000000000000"}
    before = fhir.search()["total"]
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 422 and response.json()["issue"][0]["expression"] == ["Bundle.entry[3].request.url"]
    assert fhir.search()["total"] == before


ODD = st.recursive(st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(
    ["", "x", "List/", "List/x", "DocumentReference/", "DocumentReference/x", "urn:uuid:x", "#x"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(
        ["item", "reference", "url", "method", "value", "use", "coding", "code"]), inner, max_size=2), max_leaves=6)


@settings(max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(["entry", "identifier", "title", "extension", "subject", "code"]), value=ODD,
       request=st.none() | st.fixed_dictionaries({"method": st.sampled_from(["POST", "PUT", "PATCH"]), "url": ODD}))
def test_odd_folders_get_an_answer_never_a_server_error(fhir: Fhir, field: str, value: Any,
                                                         request: dict[str, Any] | None) -> None:
    bundle = provide_bundle(INS, folder=True)
    folder_of(bundle)[field] = value
    if request is not None:
        bundle["entry"][-1]["request"] = request
    response = fhir.post("/fhir", bundle)
    assert response.status_code in (200, 400, 409, 422), response.text
