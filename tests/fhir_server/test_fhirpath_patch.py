"""Metadata updates by FHIRPath Patch (a Parameters resource, FHIR JSON or XML) go through the same rules as JSON
Patch: masking, archiving, deletion, the 405 outside securityLabel/status/isArchived, 4xx for what cannot apply."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.suites.pdsm.documents import MASQUE_PS, fhir_xml
from tests.fhir_server.conftest import COLLEAGUE, Fhir, provide

IS_ARCHIVED = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived"


def operation(kind: str, path: str, **parts: Any) -> dict[str, Any]:
    made = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    for name, value in parts.items():
        made.append({"name": name, **value} if isinstance(value, dict) else {"name": name, "valueString": value})
    return {"name": "operation", "part": made}


def parameters(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(operations)}


def send(fhir: Fhir, rid: str, body: dict[str, Any], xml: bool = False) -> httpx.Response:
    content_type = "application/fhir+xml" if xml else "application/fhir+json"
    return fhir.http.patch(f"/fhir/DocumentReference/{rid}", content=fhir_xml(body) if xml else json.dumps(body),
                           headers=fhir.headers(content_type))


MASK = parameters(operation("add", "DocumentReference", name="securityLabel",
                            value={"valueCodeableConcept": {"coding": [MASQUE_PS]}}))


@pytest.mark.requirement("BENCH-PDSM-MASK")
@pytest.mark.parametrize("xml", [False, True], ids=["json", "xml"])
def test_mask_and_unmask(fhir: Fhir, xml: bool) -> None:
    [rid] = provide(fhir)
    masked = send(fhir, rid, MASK, xml)
    assert masked.status_code == 200, masked.text
    assert rid not in fhir.as_(COLLEAGUE).ids() and rid in fhir.ids()
    unmasked = send(fhir, rid, parameters(operation("delete", "DocumentReference.securityLabel[1]")), xml)
    assert unmasked.status_code == 200, unmasked.text
    assert rid in fhir.as_(COLLEAGUE).ids()


@pytest.mark.requirement("BENCH-PDSM-ARCHIVE")
def test_archive_and_unarchive(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    archive = parameters(operation("add", "DocumentReference", name="extension", value={"part": [
        {"name": "url", "valueUri": IS_ARCHIVED}, {"name": "valueBoolean", "valueBoolean": True}]}))
    assert send(fhir, rid, archive).status_code == 200
    assert rid in fhir.ids(isArchived="true")
    back = parameters(operation("replace", f"DocumentReference.extension.where(url='{IS_ARCHIVED}').value",
                                value={"valueBoolean": False}))
    response = send(fhir, rid, back, xml=True)
    assert response.status_code == 200, response.text
    assert rid in fhir.ids(isArchived="false")


def test_delete_by_status(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    delete = parameters(operation("replace", "DocumentReference.status", value={"valueCode": "entered-in-error"}))
    assert send(fhir, rid, delete).status_code == 200
    assert fhir.get(f"/fhir/DocumentReference/{rid}").status_code == 404


@pytest.mark.requirement("BENCH-PDSM-PATCH-SCOPE", "BENCH-PDSM-ERRORS")
@pytest.mark.parametrize(("body", "status"), [
    (parameters(operation("replace", "DocumentReference.type", value={"valueCodeableConcept": {"text": "x"}})), 405),
    (parameters(operation("replace", "DocumentReference.securityLabel[7]", value={"valueString": "x"})), 422),
    (parameters(operation("delete", "DocumentReference.extension.where(url='https://example.org/none')")), 422),
    (parameters(operation("move", "DocumentReference.securityLabel", source={"valueInteger": 0})), 422),
    (parameters(operation("replace", "Patient.gender", value={"valueCode": "male"})), 422),
    (parameters(operation("replace", "DocumentReference..status", value={"valueCode": "current"})), 422),
    (parameters(), 400),
    ({"resourceType": "Patient", "id": "p"}, 400),
])
def test_what_cannot_apply_is_refused(fhir: Fhir, body: dict[str, Any], status: int) -> None:
    [rid] = provide(fhir)
    response = send(fhir, rid, body)
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(f"/fhir/DocumentReference/{rid}").json()["meta"]["versionId"] == "1"


def test_unreadable_or_unsupported_bodies(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    bad_xml = fhir.http.patch(f"/fhir/DocumentReference/{rid}", content=b"<Parameters xmlns='http://hl7.org/fhir'>",
                              headers=fhir.headers("application/fhir+xml"))
    assert bad_xml.status_code == 400
    xml_patch = fhir.http.patch(f"/fhir/DocumentReference/{rid}", content=b"<diff/>",
                                headers=fhir.headers("application/xml-patch+xml"))
    assert xml_patch.status_code == 415 and "FHIRPath Patch" in xml_patch.json()["issue"][0]["diagnostics"]


@pytest.fixture(scope="module")
def document(fhir: Fhir) -> str:
    """One document for all the generated examples."""
    [rid] = provide(fhir)
    return rid


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "0", "-"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
                        ["name", "part", "valueString", "valueCode", "valueInteger", "url"]), inner, max_size=3),
                    max_leaves=8)
PATHS = st.sampled_from(["DocumentReference", "DocumentReference.status", "DocumentReference.securityLabel[0]",
                         "DocumentReference.securityLabel[9]", "DocumentReference.extension.where(url='x').value",
                         "DocumentReference.content.attachment.url", "DocumentReference.", "Patient.id", "", "[0]"])
OPERATIONS = st.builds(lambda kind, path, extra: operation(kind, path, **extra),
                       st.sampled_from(["add", "insert", "delete", "replace", "move", "bogus"]), PATHS,
                       st.dictionaries(st.sampled_from(["name", "value", "index"]), JSON, max_size=3))


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.builds(parameters, OPERATIONS), st.builds(lambda p: {"resourceType": "Parameters",
                                                                           "parameter": p}, JSON)))
def test_any_fhirpath_patch_gets_an_answer_never_a_server_error(fhir: Fhir, document: str,
                                                                body: dict[str, Any]) -> None:
    response = send(fhir, document, body)
    assert response.status_code < 500, response.text
    assert response.status_code == 200 or response.json()["resourceType"] == "OperationOutcome"
