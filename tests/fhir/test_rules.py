"""Rules not reachable through an ITI-65 bundle: ITI-105 inline data, INS vs NSS identifiers."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import conformance.fhir.rules  # noqa: F401  (registers the rules the tests are marked with)
from conformance.fhir import FhirPackage, FhirValidator
from conformance.fhir.builders import iti65_bundle
from conformance.fhir.terminology import load_terminology
from conformance.findings import Severity

ITI105 = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-simplified-publish"
TRE_A05 = "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaireCISIS/FHIR/TRE-A05-TypeDocComplementaireCISIS"


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


# ---------------------------------------------------------------- the patient's INS (XDS patientId)

_INS = {"system": "urn:oid:1.2.250.1.213.1.4.10", "value": "279035121518989"}
_BUNDLED_PATIENT = "urn:uuid:3d0c4a52-9b1e-4f7a-8c2d-5e6f7a8b9c0d"


def _with_subjects(subject: dict[str, Any], patient_identifiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The builders' bundle (with a Folder) where every subject is ``subject``, plus a bundled Patient entry when
    ``patient_identifiers`` is given (the ITI-65 Patient slice)."""
    bundle = iti65_bundle(1, with_folder=True)
    for entry in bundle["entry"]:
        if "subject" in entry["resource"]:
            entry["resource"]["subject"] = copy.deepcopy(subject)
    if patient_identifiers is not None:
        bundle["entry"].append({"fullUrl": _BUNDLED_PATIENT, "request": {"method": "POST", "url": "Patient"},
                                "resource": {"resourceType": "Patient", "identifier": patient_identifiers}})
    return bundle


def _patient_id_findings(validator: FhirValidator, resource: dict[str, Any]) -> list[Any]:
    return [f for f in validator.validate_bytes(json.dumps(resource).encode()).findings
            if f.rule == "BENCH-PDSM-PATIENTID"]


@pytest.mark.requirement("BENCH-PDSM-PATIENTID")
@pytest.mark.parametrize("subject", [
    {"identifier": _INS},
    {"reference": f"Patient?identifier={_INS['system']}|{_INS['value']}"},  # the PDSM4DMP examples' form
    {"reference": f"Patient?identifier={_INS['system']}%7C{_INS['value']}"},
    {"reference": "Patient/patient-1"},  # the recipient's Patient: resolved by the DMP, not offline
    {"reference": "https://dmp.example/fhir/Patient/patient-1", "display": "DUPONT Marie"},
    {"reference": "Patient/patient-1/_history/2"},
], ids=["identifier", "conditional", "conditional-encoded", "relative", "absolute", "versioned"])
def test_subjects_that_give_the_ins(validator: FhirValidator, subject: dict[str, Any]) -> None:
    assert _patient_id_findings(validator, _with_subjects(subject)) == []


@pytest.mark.requirement("BENCH-PDSM-PATIENTID")
def test_a_bundled_patient_gives_the_ins_only_when_it_carries_one(validator: FhirValidator) -> None:
    assert _patient_id_findings(validator, _with_subjects({"reference": _BUNDLED_PATIENT}, [_INS])) == []
    local = [{"system": "urn:oid:1.2.250.1.999.5", "value": "IPP-1"}]
    findings = _patient_id_findings(validator, _with_subjects({"reference": _BUNDLED_PATIENT}, local))
    assert [f.location for f in findings] == [f"Bundle.entry[{i}].resource.subject" for i in (0, 1, 3)]


@pytest.mark.requirement("BENCH-PDSM-PATIENTID")
@pytest.mark.parametrize("subject", [
    {"display": "DUPONT Marie"},
    {"identifier": {"system": "urn:oid:1.2.250.1.999.5", "value": "IPP-1"}},  # a local id is no patientId
    {"identifier": {**_INS, "system": "urn:oid:1.2.250.1.213.1.4.8",  # an NSS shares the INS-NIR OID
                    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NH"}]}}},
    {"reference": "Patient?identifier=urn:oid:1.2.250.1.999.5|IPP-1"},
    {"reference": "Patient?identifier=urn:oid:1.2.250.1.213.1.4.8"},  # no value: a search, not one patient
], ids=["display", "local-id", "nss", "conditional-local", "conditional-no-value"])
def test_subjects_without_ins_are_refused(validator: FhirValidator, subject: dict[str, Any]) -> None:
    findings = _patient_id_findings(validator, _with_subjects(subject))
    assert [f.location for f in findings] == [f"Bundle.entry[{i}].resource.subject" for i in (0, 1, 3)]
    assert all(f.is_error and "patientId" in f.message and f.hint for f in findings)
    assert "sourcePatientInfo" in findings[1].message  # the DocumentReference's contained INS is named, not used


@pytest.mark.requirement("BENCH-PDSM-PATIENTID")
def test_iti105_subject_gives_the_ins(validator: FhirValidator) -> None:
    document = _iti105()
    document["subject"] = {"identifier": _INS}
    assert _patient_id_findings(validator, document) == []
    document["subject"] = {"display": "DUPONT Marie"}
    assert [f.location for f in _patient_id_findings(validator, document)] == ["DocumentReference.subject"]


# ---------------------------------------------------------------- document type (JDV_J07), LOINC, MIME type


@pytest.fixture(scope="module")
def cisis_validator(pdsm_package: FhirPackage, cisis_package: Path) -> FhirValidator:
    """PDSm with the CI-SIS package's JDV (its JDV_J07 is the DMP's complete list of type codes)."""
    return FhirValidator([pdsm_package], load_terminology(cisis_package / "jeuxDeValeurs"))


def _type_findings(validator: FhirValidator, code: str, system: str = "http://loinc.org") -> list[Any]:
    bundle = iti65_bundle(1)
    bundle["entry"][1]["resource"]["type"]["coding"][0].update(system=system, code=code)
    return [f for f in validator.validate_bytes(json.dumps(bundle).encode()).findings
            if f.rule in ("BENCH-PDSM-JDV", "BENCH-PDSM-LOINC-CHECK")]


@pytest.mark.requirement("BENCH-PDSM-JDV")
def test_unknown_type_code_is_a_warning_without_the_cisis_package(validator: FhirValidator) -> None:
    [finding] = _type_findings(validator, "99999-5")  # a well-formed LOINC code outside JDV_J07
    assert finding.severity is Severity.WARNING and "partial" in finding.message
    assert "profiles import" in (finding.hint or "") and "JDV_J07_XdsTypeCode_CISIS.xml" in (finding.hint or "")
    bundle = iti65_bundle(1)  # JDV_J60 (DMP formats) is not in the CI-SIS package: no import advised
    bundle["entry"][1]["resource"]["content"][0]["format"]["code"] = "urn:ihe:iti:xds-sd:unknown:2008"
    [format_finding] = [f for f in validator.validate_bytes(json.dumps(bundle).encode()).findings
                        if f.rule == "BENCH-PDSM-JDV"]
    assert "profiles import" not in (format_finding.hint or "")


@pytest.mark.requirement("BENCH-PDSM-JDV")
def test_unknown_type_code_is_an_error_with_the_cisis_package(cisis_validator: FhirValidator) -> None:
    assert _type_findings(cisis_validator, "11488-4") == []
    assert _type_findings(cisis_validator, "ATTEST-RESID", TRE_A05) == []  # an ANS type code of JDV_J07
    [finding] = _type_findings(cisis_validator, "99999-5")
    assert finding.is_error and finding.location == "Bundle.entry[1].resource.type.coding[0].code"
    assert "JDV-J07-XdsTypeCode-CISIS" in finding.message


@pytest.mark.requirement("BENCH-PDSM-LOINC-CHECK")
@pytest.mark.parametrize("system", ["http://loinc.org", "urn:oid:2.16.840.1.113883.6.1"])
def test_loinc_check_digit(validator: FhirValidator, system: str) -> None:
    assert not [f for f in _type_findings(validator, "11488-4", system) if f.rule == "BENCH-PDSM-LOINC-CHECK"]
    [finding] = [f for f in _type_findings(validator, "11488-5", system) if f.rule == "BENCH-PDSM-LOINC-CHECK"]
    assert finding.is_error and "expected 4 (11488-4)" in finding.message


@pytest.mark.requirement("BENCH-PDSM-CONTENTTYPE")
@pytest.mark.parametrize(("binary_type", "refused"), [
    ("application/pdf", False), ("Application/PDF", False), ("text/plain", True), ("application/pdf; x=1", True)])
def test_binary_content_type_matches_the_attachment(validator: FhirValidator, binary_type: str, refused: bool) -> None:
    bundle = iti65_bundle(1)
    bundle["entry"][2]["resource"]["contentType"] = binary_type
    findings = [f for f in validator.validate_bytes(json.dumps(bundle).encode()).findings
                if f.rule == "BENCH-PDSM-CONTENTTYPE"]
    assert [f.location for f in findings] == (["Bundle.entry[1].resource.content[0].attachment"] if refused else [])
