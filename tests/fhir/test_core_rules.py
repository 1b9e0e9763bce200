"""FHIR core rules checked wherever their data type occurs (canonical), on small hand-made resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.fhir import FhirValidator
from conformance.fhir.datatypes import typed_values
from conformance.findings import Finding


@pytest.fixture(scope="module")
def bare() -> FhirValidator:
    """No package: the structure, base and core rules alone."""
    return FhirValidator([])


def _errors(validator: FhirValidator, resource: dict[str, Any], rule: str) -> list[Finding]:
    findings = validator.validate_bytes(json.dumps(resource).encode()).findings
    return [f for f in findings if f.rule == rule and f.is_error]


def _guide(example: str) -> dict[str, Any]:
    return {"resourceType": "ImplementationGuide", "url": "https://example.org/ImplementationGuide/demo",
            "name": "Demo", "status": "draft", "packageId": "demo", "fhirVersion": ["4.0.1"],
            "definition": {"resource": [{"reference": {"reference": "Binary/b1"}, "exampleCanonical": example}]}}


def test_typed_values_follow_choice_keys_and_nested_resources() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "meta": {"profile": ["https://example.org/a"]},
              "entry": [{"resource": {"resourceType": "List", "status": "current", "mode": "working",
                                      "code": {"coding": [{"system": "https://example.org/cs", "code": "x"}]},
                                      "extension": [{"url": "https://example.org/e", "valueCanonical": "#c"}]}}]}
    found = typed_values(bundle, "Bundle", ["canonical", "Coding"])
    assert found["canonical"] == [("https://example.org/a", "Bundle.meta.profile[0]"),
                                  ("#c", "Bundle.entry[0].resource.extension[0].valueCanonical")]
    assert [where for _, where in found["Coding"]] == ["Bundle.entry[0].resource.code.coding[0]"]


@pytest.mark.requirement("FHIR-CANONICAL")
@pytest.mark.parametrize("example", ["https://example.org/StructureDefinition/Author|1.0.0", "#contained",
                                     "urn:uuid:0b8e5bb4-4a4c-4a57-9e3e-1e2f3a4b5c6d"])
def test_absolute_or_fragment_canonicals_pass(bare: FhirValidator, example: str) -> None:
    assert _errors(bare, _guide(example), "FHIR-CANONICAL") == []


@pytest.mark.requirement("FHIR-CANONICAL")
@pytest.mark.parametrize("example", ["StructureDefinition/AuthorDocumentEntry", "example.org/x",
                                     "https://example.org/a b"])
def test_relative_canonical_is_an_error_where_hl7_reports_it(bare: FhirValidator, example: str) -> None:
    [finding] = _errors(bare, _guide(example), "FHIR-CANONICAL")
    # HL7 writes ImplementationGuide.definition.resource[0].example.ofType(canonical): the same element
    assert finding.location == "ImplementationGuide.definition.resource[0].exampleCanonical"
    assert repr(example) in finding.message and finding.hint


@pytest.mark.requirement("FHIR-CANONICAL")
def test_canonicals_of_nested_resources_are_checked(bare: FhirValidator) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:0b8e5bb4-4a4c-4a57-9e3e-1e2f3a4b5c6d",
                         "resource": {"resourceType": "Binary", "contentType": "text/plain",
                                      "meta": {"profile": ["StructureDefinition/x"]}}}]}
    [finding] = _errors(bare, bundle, "FHIR-CANONICAL")
    assert finding.location == "Bundle.entry[0].resource.meta.profile[0]"
