"""Any FHIR NPM package brings its CodeSystems, ValueSets and profiles: a small package written by the test."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from conformance.artefacts import import_package
from conformance.fhir import FhirValidator, default_validator, load_package
from conformance.findings import Finding

CLASSES = "https://example.org/CodeSystem/classes"
CLASSES_VS = "https://example.org/ValueSet/classes"
PROFILE = "https://example.org/StructureDefinition/example-patient"


def _code_system(content: str = "complete") -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "id": "classes", "url": CLASSES, "version": "2.0.0", "name": "Classes",
            "status": "active", "content": content, "concept": [
                {"code": "10", "display": "Compte rendu", "designation": [{"language": "en", "value": "Report"}]},
                {"code": "11", "display": "Synthèse", "concept": [{"code": "11.1", "display": "Synthèse courte"}]}]}


def _value_sets() -> list[dict[str, Any]]:
    whole = {"resourceType": "ValueSet", "id": "classes", "url": CLASSES_VS, "status": "active",
             "compose": {"include": [{"system": CLASSES}], "exclude": [{"system": CLASSES,
                                                                        "concept": [{"code": "11.1"}]}]}}
    filtered = {"resourceType": "ValueSet", "id": "filtered", "url": "https://example.org/ValueSet/filtered",
                "status": "active", "compose": {"include": [{"system": CLASSES, "filter": [
                    {"property": "concept", "op": "is-a", "value": "11"}]}]}}
    return [whole, filtered]


def _profile() -> dict[str, Any]:
    """A Patient profile: birthDate required, maritalStatus bound (required) to the whole-code-system set."""
    elements = [{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
                {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1, "max": "1",
                 "type": [{"code": "date"}]},
                {"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "min": 0, "max": "1",
                 "type": [{"code": "CodeableConcept"}], "binding": {"strength": "required", "valueSet": CLASSES_VS}}]
    return {"resourceType": "StructureDefinition", "id": "example-patient", "url": PROFILE, "name": "ExamplePatient",
            "status": "active", "kind": "resource", "abstract": False, "type": "Patient",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "snapshot": {"element": elements}}


def _write_package(path: Path, version: str = "1.0.0", content: str = "complete") -> Path:
    members = {"package/package.json": {"name": "example.fr.terminologies", "version": version,
                                        "fhirVersions": ["4.0.1"]},
               "package/CodeSystem-classes.json": _code_system(content),
               "package/StructureDefinition-example-patient.json": _profile(),
               **{f"package/ValueSet-{vs['id']}.json": vs for vs in _value_sets()}}
    with tarfile.open(path, "w:gz") as archive:
        for name, resource in members.items():
            data = json.dumps(resource).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def package_path(tmp_path: Path) -> Path:
    return _write_package(tmp_path / "example.fr.terminologies-1.0.0.tgz")


def _patient(code: str, display: str | None = None, **extra: Any) -> dict[str, Any]:
    coding = {"system": CLASSES, "code": code, **({"display": display} if display else {})}
    return {"resourceType": "Patient", "id": "p1", "maritalStatus": {"coding": [coding]}, **extra}


def _findings(validator: FhirValidator, resource: dict[str, Any], rule: str) -> list[Finding]:
    return [f for f in validator.validate_bytes(json.dumps(resource).encode()).findings if f.rule == rule]


def test_any_npm_package_loads_its_terminology_and_profiles(package_path: Path) -> None:
    package = load_package(package_path)
    assert (package.name, package.version) == ("example.fr.terminologies", "1.0.0")
    assert PROFILE in package.definitions
    terminology = FhirValidator([package]).terminology
    held = terminology.code_system(CLASSES + "|2.0.0")
    assert held is not None and held.complete and held.displays["10"] == ["Compte rendu", "Report"]
    assert "11.1" in held.displays  # nested concepts define codes too
    value_set = terminology.value_set(CLASSES_VS)
    assert value_set is not None and value_set.has_coding(CLASSES, "11") and not value_set.has_coding(CLASSES, "11.1")
    assert terminology.value_set("https://example.org/ValueSet/filtered") is None  # filters are not expanded offline


@pytest.mark.requirement("FHIR-CODE-UNKNOWN")
def test_unknown_code_of_a_complete_code_system(package_path: Path) -> None:
    validator = FhirValidator([load_package(package_path)])
    assert _findings(validator, _patient("11.1"), "FHIR-CODE-UNKNOWN") == []
    [finding] = _findings(validator, _patient("03"), "FHIR-CODE-UNKNOWN")
    assert finding.is_error and finding.location == "Patient.maritalStatus.coding[0].code"
    assert finding.message == f"Unknown code '03' in the CodeSystem '{CLASSES}' version '2.0.0'"


@pytest.mark.requirement("FHIR-CODE-UNKNOWN")
def test_a_fragment_code_system_knows_no_unknown_code(tmp_path: Path) -> None:
    validator = FhirValidator([load_package(_write_package(tmp_path / "fragment.tgz", content="fragment"))])
    assert _findings(validator, _patient("03"), "FHIR-CODE-UNKNOWN") == []


@pytest.mark.requirement("FHIR-CODE-DISPLAY")
@pytest.mark.parametrize("display", [None, "Compte rendu", "Report"])
def test_every_designation_is_a_valid_display(package_path: Path, display: str | None) -> None:
    validator = FhirValidator([load_package(package_path)])
    assert _findings(validator, _patient("10", display), "FHIR-CODE-DISPLAY") == []


@pytest.mark.requirement("FHIR-CODE-DISPLAY")
def test_wrong_display_names_the_valid_ones(package_path: Path) -> None:
    validator = FhirValidator([load_package(package_path)])
    [finding] = _findings(validator, _patient("10", "Compte-rendu"), "FHIR-CODE-DISPLAY")
    assert finding.is_error and finding.location == "Patient.maritalStatus.coding[0].display"
    assert finding.message == (f"Wrong Display Name 'Compte-rendu' for {CLASSES}#10. Valid display is "
                               "'Compte rendu' or 'Report'")


def test_the_dependency_package_profiles_and_value_sets_are_used(package_path: Path) -> None:
    validator = FhirValidator([load_package(package_path)])
    valid = _patient("11", meta={"profile": [PROFILE]}, birthDate="1970-01-01")
    assert [f for f in validator.validate_bytes(json.dumps(valid).encode()).findings if f.is_error] == []
    broken = _patient("11.1", meta={"profile": [PROFILE]})  # excluded from the value set, no birthDate
    rules = {(f.rule, f.location) for f in validator.validate_bytes(json.dumps(broken).encode()).findings
             if f.is_error}
    assert {("PDSM-CARD", "Patient.birthDate"), ("PDSM-BINDING", "Patient.maritalStatus")} <= rules


def test_imported_packages_reach_the_default_validator(tmp_path: Path) -> None:
    """`profiles import` of any FHIR package; the latest import of a package name is the one used."""
    profiles_dir = tmp_path / "profiles"
    import_package(_write_package(tmp_path / "v1.tgz", "1.0.0"), profiles_dir)
    import_package(_write_package(tmp_path / "v2.tgz", "2.0.0"), profiles_dir)
    validator = default_validator({"profiles_dir": str(profiles_dir)})
    assert [(p.name, p.version) for p in validator.packages] == [("example.fr.terminologies", "2.0.0")]
    assert validator.terminology.code_system(CLASSES) is not None
    findings = validator.validate_bytes(json.dumps(_patient("03")).encode()).findings
    assert "FHIR-CODE-UNKNOWN" in {f.rule for f in findings}
    assert "PDSM-PACKAGE" in {f.rule for f in findings}  # a terminology package is not PDSm


@pytest.mark.requirement("FHIR-CONCEPTMAP-CODE")
def test_concept_map_codes_of_a_held_code_system(package_path: Path) -> None:
    validator = FhirValidator([load_package(package_path)])
    concept_map = {"resourceType": "ConceptMap", "url": "https://example.org/ConceptMap/classes", "name": "Classes",
                   "status": "draft", "group": [{"source": CLASSES, "target": "https://example.org/unknown", "element": [
                       {"code": "11.1", "target": [{"code": "anything", "equivalence": "equivalent"}]},
                       {"code": "99", "target": [{"code": "x", "equivalence": "equivalent"}]}]}]}
    [finding] = _findings(validator, concept_map, "FHIR-CONCEPTMAP-CODE")
    assert finding.location == "ConceptMap.group[0].element[1].code"  # an unknown target system is not judged
    assert finding.message.startswith(f"The source code '99' is not valid in the code system {CLASSES}|2.0.0")
