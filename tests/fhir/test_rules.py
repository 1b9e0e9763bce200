"""Rules not reachable through an ITI-65 bundle: ITI-105 inline data, INS vs NSS identifiers."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest

import conformance.fhir.rules  # noqa: F401  (registers the rules the tests are marked with)
from conformance.fhir import FhirValidator
from conformance.fhir.builders import iti65_bundle

ITI105 = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-simplified-publish"


def _iti105() -> dict[str, Any]:
    document = copy.deepcopy(iti65_bundle(1)["entry"][1]["resource"])
    content = b"hello world"
    attachment = document["content"][0]["attachment"]
    del attachment["url"]
    attachment.update(data=base64.b64encode(content).decode(), size=len(content),
                      hash=base64.b64encode(hashlib.sha1(content).digest()).decode())
    document["meta"]["profile"] = [ITI105]
    del document["identifier"]  # identifier 0..0 in ITI-105
    return document


def _errors(validator: FhirValidator, resource: dict[str, Any]) -> set[str]:
    result = validator.validate_bytes(json.dumps(resource).encode())
    return {f.rule for f in result.findings if f.is_error}


def test_iti105_valid(validator: FhirValidator) -> None:
    assert _errors(validator, _iti105()) == set()


@pytest.mark.requirement("BENCH-PDSM-ITI105")
@pytest.mark.parametrize("change", ["url", "no-data", "bad-base64"])
def test_iti105_inline_rule(validator: FhirValidator, change: str) -> None:
    document = _iti105()
    attachment = document["content"][0]["attachment"]
    if change == "url":
        attachment["url"] = "Binary/1"
    elif change == "no-data":
        del attachment["data"]
    else:
        attachment["data"] = "@@@"
    assert "BENCH-PDSM-ITI105" in _errors(validator, document)


@pytest.mark.requirement("BENCH-PDSM-SIZE", "BENCH-PDSM-HASH")
def test_iti105_size_and_hash_on_inline_data(validator: FhirValidator) -> None:
    document = _iti105()
    document["content"][0]["attachment"]["size"] = 250000
    document["content"][0]["attachment"]["hash"] = "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
    assert {"BENCH-PDSM-SIZE", "BENCH-PDSM-HASH"} <= _errors(validator, document)


@pytest.mark.requirement("BENCH-PDSM-INS")
def test_nss_identifier_is_not_an_ins(validator: FhirValidator) -> None:
    document = _iti105()
    identifier = document["contained"][1]["identifier"][0]
    identifier.update(system="urn:oid:1.2.250.1.213.1.4.8", value="123456789012345",
                      type={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NH"}]})
    assert "BENCH-PDSM-INS" not in _errors(validator, document)
    identifier["type"]["coding"][0]["code"] = "INS-NIR"
    assert "BENCH-PDSM-INS" in _errors(validator, document)


def _replacement(operation: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ITI-65 bundle replacing DocumentReference/old (TD2.1): relatesTo + a PATCH setting it superseded."""
    bundle = iti65_bundle(1)
    bundle["entry"][1]["resource"]["relatesTo"] = [{"code": "replaces", "target": {"reference": "DocumentReference/old"}}]
    operation = operation or {"type": "replace", "path": "DocumentReference.status", "value": "superseded"}
    parts = [{"name": "type", "valueCode": operation["type"]}, {"name": "path", "valueString": operation["path"]},
             {"name": "value", "valueCode": operation["value"]}]
    bundle["entry"].append({"fullUrl": "urn:uuid:6f1c7e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
                            "resource": {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]},
                            "request": {"method": "PATCH", "url": "DocumentReference/old"}})
    return bundle


def _bundle_errors(validator: FhirValidator, bundle: dict[str, Any]) -> set[str]:
    return {f.rule for f in validator.validate_bytes(json.dumps(bundle).encode()).findings if f.is_error}


@pytest.mark.requirement("constr-bind-relatesTo", "BENCH-PDSM-UPDATE-DOCREFS")
def test_replacement_bundle_is_valid(validator: FhirValidator) -> None:
    assert _bundle_errors(validator, _replacement()) == set()


@pytest.mark.requirement("constr-bind-relatesTo")
def test_replacement_requires_relates_to(validator: FhirValidator) -> None:
    bundle = _replacement()
    del bundle["entry"][1]["resource"]["relatesTo"]
    assert {"constr-bind-relatesTo", "BENCH-PDSM-UPDATE-DOCREFS"} <= _bundle_errors(validator, bundle)


@pytest.mark.requirement("BENCH-PDSM-UPDATE-DOCREFS")
@pytest.mark.parametrize("operation", [
    {"type": "replace", "path": "DocumentReference.type", "value": "x"},
    {"type": "replace", "path": "DocumentReference.status", "value": "entered-in-error"},
    {"type": "delete", "path": "DocumentReference.status", "value": "superseded"},
])
def test_update_document_refs_only_supersedes(validator: FhirValidator, operation: dict[str, str]) -> None:
    assert "BENCH-PDSM-UPDATE-DOCREFS" in _bundle_errors(validator, _replacement(operation))


@pytest.mark.requirement("constr-bind-ProducteurDoc", "constr-bind-category", "constr-bind-format")
@pytest.mark.parametrize(("element", "located_at"), [
    (("context", "facilityType"), "Bundle.entry[1].resource.context.facilityType"),
    (("category",), "Bundle.entry[1].resource.category[0]"),
    (("content", "format"), "Bundle.entry[1].resource.content[0].format"),
])
def test_expressionless_constraints_are_reported_at_the_constrained_element(
        validator: FhirValidator, element: tuple[str, ...], located_at: str) -> None:
    """As HL7 validators report a failed constraint: at the element carrying it; the message names the coding."""
    bundle = iti65_bundle(1)
    value: Any = bundle["entry"][1]["resource"]
    for part in element:
        value = value[part][0] if isinstance(value[part], list) else value[part]
    coding = value["coding"][0] if "coding" in value else value
    coding.update(system="http://snomed.info/sct", code="22232009")
    findings = [f for f in validator.validate_bytes(json.dumps(bundle).encode()).findings
                if f.rule.startswith("constr-bind-")]
    assert [f.location for f in findings] == [located_at]
    assert "http://snomed.info/sct#22232009" in findings[0].message and "22232009" in (findings[0].hint or "")


@pytest.mark.requirement("constr-bind-ProducteurDoc")
def test_iti105_only_recommends_the_facility_systems(validator: FhirValidator) -> None:
    """PDSm's simplified profile replaces constr-bind-ProducteurDoc by a preferred binding (…-simplified)."""
    document = _iti105()
    document["context"]["facilityType"]["coding"][0].update(system="http://snomed.info/sct", code="22232009")
    result = validator.validate_bytes(json.dumps(document).encode())
    [finding] = [f for f in result.findings if f.rule == "constr-bind-ProducteurDoc"]
    assert not finding.is_error and finding.location == "DocumentReference.context.facilityType"
