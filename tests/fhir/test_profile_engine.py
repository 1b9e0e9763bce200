"""The profile checker on a small synthetic StructureDefinition (runs without the official packages).

Covers what PDSm does not exercise: the ``exists`` and ``type`` discriminators, fixed values, choice-type
restrictions, slice cardinalities in open slicing, and pattern matching semantics.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.fhir import FhirPackage, FhirValidator
from conformance.fhir.profile import pattern_matches

URL = "http://bench.test/StructureDefinition/test-patient"


def _element(element_id: str, minimum: int = 0, maximum: str = "*", types: list[str] | None = None,
             **extra: Any) -> dict[str, Any]:
    path = ".".join(part.split(":")[0] for part in element_id.split("."))
    return {"id": element_id, "path": path, "min": minimum, "max": maximum,
            "type": [{"code": t} for t in types or []], **extra}


DEFINITION = {
    "resourceType": "StructureDefinition", "url": URL, "type": "Patient", "kind": "resource", "name": "TestPatient",
    "snapshot": {"element": [
        _element("Patient", 0, "*"),
        _element("Patient.identifier", 1, "*", ["Identifier"],
                 slicing={"discriminator": [{"type": "exists", "path": "system"}], "rules": "open"}),
        _element("Patient.identifier:withSystem", 1, "1", ["Identifier"]),
        _element("Patient.identifier:withSystem.system", 1, "1", ["uri"]),
        _element("Patient.identifier:withoutSystem", 0, "1", ["Identifier"]),
        _element("Patient.identifier:withoutSystem.system", 0, "0", ["uri"]),
        _element("Patient.active", 1, "1", ["boolean"], fixedBoolean=True),
        _element("Patient.gender", 0, "1", ["code"], binding={
            "strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/list-mode"}),
        _element("Patient.deceased[x]", 0, "1", ["boolean"]),
        _element("Patient.maritalStatus", 0, "1", ["CodeableConcept"], binding={
            "strength": "required", "valueSet": "http://bench.test/ValueSet/marital|1.0"}),
        _element("Patient.multipleBirth[x]", 0, "0", ["boolean", "integer"]),
        _element("Patient.telecom", 0, "*", ["ContactPoint"],
                 slicing={"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "closed"}),
        _element("Patient.telecom:phone", 0, "1", ["ContactPoint"], patternContactPoint={"system": "phone"}),
        _element("Patient.contained", 0, "*", ["Resource"]),
        _element("Patient.generalPractitioner", 0, "*", ["Reference"],
                 slicing={"discriminator": [{"type": "type", "path": "resolve()"}], "rules": "open"}),
    ]},
}
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">p</div>'}
VALID = {"resourceType": "Patient", "id": "p", "text": NARRATIVE,
         "identifier": [{"system": "urn:oid:1.2.3", "value": "1"}, {"value": "2"}], "active": True,
         "gender": "working", "deceasedBoolean": False,
         "maritalStatus": {"coding": [{"system": "http://bench.test/cs", "code": "M", "display": "Married"}]}, "telecom": [{"system": "phone", "value": "0102030405"}]}


MARITAL = {"resourceType": "ValueSet", "url": "http://bench.test/ValueSet/marital", "compose": {"include": [
    {"system": "http://bench.test/cs", "concept": [{"code": "M", "display": "Married"}, {"code": "S"}]}]}}


@pytest.fixture(scope="module")
def engine() -> FhirValidator:
    package = FhirPackage(name="bench.test", version="0", source="memory", definitions={URL: DEFINITION},
                          resources={"ValueSet-marital.json": MARITAL})
    return FhirValidator([package])


def _errors(engine: FhirValidator, resource: dict[str, Any]) -> list[tuple[str, str | None]]:
    result = engine.validate_bytes(json.dumps(resource).encode(), profiles=[URL])
    return [(f.rule, f.location) for f in result.findings if f.is_error]


def test_valid_instance(engine: FhirValidator) -> None:
    assert _errors(engine, VALID) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"identifier": [{"value": "2"}]}, ("PDSM-SLICE", "Patient")),  # exists: withSystem min 1, reported on the parent
    ({"identifier": [{"system": "a:b", "value": "1"}, {"system": "c:d", "value": "2"}]},
     ("PDSM-SLICE", "Patient.identifier[1]")),  # exists: withSystem max 1
    ({"active": False}, ("PDSM-FIXED", "Patient.active")),
    ({"gender": "male"}, ("PDSM-BINDING", "Patient.gender")),
    ({"deceasedBoolean": None, "deceasedDateTime": "2020-01-01"}, ("PDSM-TYPE", "Patient.deceasedDateTime")),
    ({"multipleBirthBoolean": True}, ("PDSM-CARD", "Patient.multipleBirthBoolean")),
    ({"telecom": [{"system": "email", "value": "a@b.c"}]}, ("PDSM-SLICE", "Patient.telecom[0]")),  # closed
    ({"contained": [{"resourceType": "Organization", "id": "o", "name": "x"}]}, ("dom-3", "Patient.contained[0]")),
    ({"maritalStatus": {"coding": [{"system": "http://bench.test/cs", "code": "X"}]}},
     ("PDSM-BINDING", "Patient.maritalStatus")),  # value set carried by the package
    ({"maritalStatus": {"coding": [{"system": "http://bench.test/cs", "code": "M", "display": "Wed"}]}},
     ("PDSM-DISPLAY", "Patient.maritalStatus.coding[0].display")),
])
def test_each_check(engine: FhirValidator, change: dict[str, Any], expected: tuple[str, str]) -> None:
    resource = {**VALID, **change}
    resource = {k: v for k, v in resource.items() if v is not None}
    assert expected in _errors(engine, resource)


def test_type_discriminator_on_references_is_tolerated(engine: FhirValidator) -> None:
    resource = {**VALID, "generalPractitioner": [{"reference": "Practitioner/x"}]}
    assert _errors(engine, resource) == []


def test_pattern_semantics() -> None:
    assert pattern_matches({"coding": [{"code": "a"}]}, {"coding": [{"code": "b"}, {"code": "a", "system": "s"}]})
    assert not pattern_matches({"coding": [{"code": "a"}]}, {"coding": [{"code": "b"}]})
    assert pattern_matches("x", "x") and not pattern_matches({"a": 1}, "x")
