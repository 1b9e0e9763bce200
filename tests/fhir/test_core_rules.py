"""FHIR core rules checked wherever their data type occurs (canonical), on small hand-made resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.fhir import FhirPackage, FhirValidator
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


# ---------------------------------------------------------------- ConceptMap

LOGICAL = "https://example.org/StructureDefinition/Entry"
PROFILE = "https://example.org/StructureDefinition/entry-reference"


def _definition(url: str, kind: str, paths: list[str]) -> dict[str, Any]:
    elements = [{"id": p, "path": p.split(":")[0]} for p in paths]
    return {"resourceType": "StructureDefinition", "url": url, "version": "1.0.0", "name": url.rsplit("/", 1)[-1],
            "status": "draft", "kind": kind, "abstract": False, "type": paths[0],
            "snapshot": {"element": elements}}


@pytest.fixture(scope="module")
def mapping_validator() -> FhirValidator:
    package = FhirPackage(name="example.maps", version="1.0.0", source="<test>", definitions={
        LOGICAL: _definition(LOGICAL, "logical", ["Entry", "Entry.uniqueId", "Entry.patientId"]),
        PROFILE: _definition(PROFILE, "resource", ["DocumentReference", "DocumentReference.subject",
                                                  "DocumentReference.context.related:referenceIdList"])})
    return FhirValidator([package])


def _map(**changes: Any) -> dict[str, Any]:
    concept_map = {"resourceType": "ConceptMap", "url": "https://example.org/ConceptMap/entry", "name": "EntryMap",
                   "status": "draft", "group": [{"source": LOGICAL, "target": PROFILE + "|1.0.0", "element": [
                       {"code": "Entry.uniqueId", "target": [
                           {"code": "DocumentReference.context.related:referenceIdList", "equivalence": "inexact",
                            "comment": "one of the related identifiers"}]},
                       {"code": "Entry.patientId", "target": [{"code": "DocumentReference.subject",
                                                               "equivalence": "equivalent"}]}]}]}
    concept_map.update(changes)
    return concept_map


def _rules(validator: FhirValidator, resource: dict[str, Any]) -> set[tuple[str, str | None]]:
    findings = validator.validate_bytes(json.dumps(resource).encode()).findings
    return {(f.rule, f.location) for f in findings if f.severity.value in ("error", "warning")}


def test_consistent_concept_map_passes(mapping_validator: FhirValidator) -> None:
    assert {rule for rule, _ in _rules(mapping_validator, _map())} <= {"dom-6", "PDSM-PACKAGE"}  # warnings only


@pytest.mark.parametrize(("change", "expected"), [
    (lambda m: m["group"][0]["element"][0]["target"][0].pop("comment"),
     ("cmd-1", "ConceptMap.group[0].element[0].target[0]")),
    (lambda m: m["group"][0].update(unmapped={"mode": "fixed"}), ("cmd-2", "ConceptMap.group[0].unmapped")),
    (lambda m: m["group"][0].update(unmapped={"mode": "other-map"}), ("cmd-3", "ConceptMap.group[0].unmapped")),
    (lambda m: m.update(name="entryMap"), ("cmd-0", "ConceptMap")),
], ids=["cmd-1 inexact without comment", "cmd-2 fixed without code", "cmd-3 other-map without url",
        "cmd-0 name not an identifier"])
def test_core_invariants_of_concept_map(mapping_validator: FhirValidator, change: Any,
                                        expected: tuple[str, str]) -> None:
    concept_map = _map()
    change(concept_map)
    assert expected in _rules(mapping_validator, concept_map)


@pytest.mark.requirement("FHIR-CONCEPTMAP-SCOPE")
def test_concept_map_scope_must_be_a_value_set(mapping_validator: FhirValidator) -> None:
    assert not {r for r in _rules(mapping_validator, _map(sourceUri="https://example.org/ValueSet/entries"))
                if r[0] == "FHIR-CONCEPTMAP-SCOPE"}
    found = _rules(mapping_validator, _map(sourceUri=LOGICAL, targetCanonical=PROFILE + "|1.0.0"))
    assert {("FHIR-CONCEPTMAP-SCOPE", "ConceptMap.source"), ("FHIR-CONCEPTMAP-SCOPE", "ConceptMap.target")} <= found


@pytest.mark.requirement("FHIR-CONCEPTMAP-CODE")
def test_concept_map_codes_are_elements_of_the_definitions(mapping_validator: FhirValidator) -> None:
    concept_map = _map()
    concept_map["group"][0]["element"][0]["code"] = "Entry.legalAuthenticator"
    concept_map["group"][0]["element"][1]["target"][0]["code"] = "DocumentReference.subject.fr-core-patient"
    found = {r for r in _rules(mapping_validator, concept_map) if r[0] == "FHIR-CONCEPTMAP-CODE"}
    assert found == {("FHIR-CONCEPTMAP-CODE", "ConceptMap.group[0].element[0].code"),
                     ("FHIR-CONCEPTMAP-CODE", "ConceptMap.group[0].element[1].target[0].code")}
