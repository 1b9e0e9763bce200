"""A valid ITI-65 bundle (built) is accepted with zero errors; each broken variant is rejected with its rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

import conformance.fhir.rules  # noqa: F401  (registers the rules the variants are marked with)
from conformance.fhir import FhirValidator
from conformance.fhir.builders import iti65_bundle
from conformance.findings import rules

Bundle = dict[str, Any]
PDSM_SD = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"


def _list(bundle: Bundle) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def _doc(bundle: Bundle) -> dict[str, Any]:
    return bundle["entry"][1]["resource"]


def _attachment(bundle: Bundle) -> dict[str, Any]:
    return _doc(bundle)["content"][0]["attachment"]


def _set(path: Callable[[Bundle], dict[str, Any]], key: str, value: Any) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        path(bundle)[key] = value
    return mutate


def _drop(path: Callable[[Bundle], dict[str, Any]], key: str) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        del path(bundle)[key]
    return mutate


def _coding(path: Callable[[Bundle], dict[str, Any]], **changes: Any) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        path(bundle)["coding"][0].update(changes)
    return mutate


def _add_contained(bundle: Bundle) -> None:
    _doc(bundle)["contained"].append({"resourceType": "Organization", "id": "orphan", "name": "x"})


def _contained_meta(bundle: Bundle) -> None:
    _doc(bundle)["contained"][0]["meta"] = {"versionId": "3"}


def _bad_ins(bundle: Bundle) -> None:
    identifier = _doc(bundle)["contained"][1]["identifier"][0]
    identifier["value"] = identifier["value"][:-2] + ("00" if identifier["value"][-2:] != "00" else "01")


def _source_practitioner(bundle: Bundle) -> None:
    _list(bundle)["contained"][0]["resourceType"] = "Practitioner"
    del _list(bundle)["contained"][0]["organization"]


def _extension(url: str, **value: Any) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        _list(bundle)["extension"].append({"url": url, **value})
    return mutate


def _method(index: int, method: str) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        bundle["entry"][index]["request"]["method"] = method
    return mutate


def _remove_submission_set(bundle: Bundle) -> None:
    del bundle["entry"][0]


def _two_categories(bundle: Bundle) -> None:
    _doc(bundle)["category"].append(copy.deepcopy(_doc(bundle)["category"][0]))


def _replaces_patient(bundle: Bundle) -> None:
    _doc(bundle)["relatesTo"] = [{"code": "replaces", "target": {"reference": "Patient/p1"}}]


def _drop_designation(bundle: Bundle) -> None:
    del _list(bundle)["extension"][0]


def _subject_without_ins(bundle: Bundle) -> None:
    """Every subject a name only: the INS is left in the contained sourcePatientInfo, the producer's view."""
    for entry in bundle["entry"]:
        if "subject" in entry["resource"]:
            entry["resource"]["subject"] = {"display": "DUPONT Marie"}


def _ext_both(bundle: Bundle) -> None:
    _list(bundle)["extension"][1]["extension"] = [{"url": "x", "valueString": "y"}]


_SNOMED = "http://snomed.info/sct"
VARIANTS: list[tuple[str, Callable[[Bundle], None], str]] = [
    ("bundle type batch", _set(lambda b: b, "type", "batch"), "PDSM-PATTERN"),
    ("meta without profile", _set(lambda b: b, "meta", {"versionId": "1"}), "PDSM-CARD"),
    ("no SubmissionSet entry", _remove_submission_set, "PDSM-SLICE"),
    ("DocumentReference sent with PUT", _method(1, "PUT"), "PDSM-SLICE"),
    ("status entered-in-error", _set(_doc, "status", "entered-in-error"), "PDSM-BINDING"),
    ("docStatus present (0..0)", _set(_doc, "docStatus", "final"), "PDSM-CARD"),
    ("custodian missing", _drop(_doc, "custodian"), "PDSM-CARD"),
    ("content empty list", _set(_doc, "content", []), "PDSM-CARD"),
    ("two categories (max 1)", _two_categories, "PDSM-CARD"),
    ("masterIdentifier not a URN", _set(lambda b: _doc(b)["masterIdentifier"], "value", "1.2.3"),
     "BENCH-PDSM-MASTERID"),
    ("entryUUID not urn:uuid", _set(lambda b: _doc(b)["identifier"][0], "value", "urn:oid:1.2.3"),
     "mhd-startswithuuid"),
    ("entryUUID malformed", _set(lambda b: _doc(b)["identifier"][0], "value", "urn:uuid:1234"),
     "BENCH-PDSM-ENTRYUUID"),
    ("SubmissionSet uniqueId urn:uuid", _set(lambda b: _list(b)["identifier"][0], "value",
                                             "urn:uuid:5f3b0f6c-7a55-4d50-8f7e-2b9c1e2d3a4b"), "mhd-startswithoid"),
    ("SubmissionSet uniqueId missing", lambda b: _list(b)["identifier"].pop(0), "BENCH-PDSM-SUBMISSIONSET-UNIQUEID"),
    ("List.code display wrong", _coding(lambda b: _list(b)["code"], display="Submission Set"), "PDSM-DISPLAY"),
    ("List.mode snapshot", _set(_list, "mode", "snapshot"), "PDSM-PATTERN"),
    ("List.status retired", _set(_list, "status", "retired"), "PDSM-PATTERN"),
    ("SubmissionSet source is a Practitioner", _source_practitioner, "PDSM-REFTYPE"),
    ("author not contained", _set(_doc, "author", [{"reference": "Practitioner/p1"}]), "PDSM-REF-AGGREGATION"),
    ("unreferenced contained resource", _add_contained, "dom-3"),
    ("contained resource with versionId", _contained_meta, "dom-4"),
    ("attachment.url to no Binary", _set(_attachment, "url", "urn:uuid:00000000-0000-0000-0000-000000000000"),
     "constr-bind-attachmenturl"),
    ("attachment.size wrong", _set(_attachment, "size", 1), "BENCH-PDSM-SIZE"),
    ("attachment.hash wrong", _set(_attachment, "hash", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="), "BENCH-PDSM-HASH"),
    ("contentType not a MIME type", _set(_attachment, "contentType", "pdf"), "PDSM-BINDING"),
    ("Binary contentType differs from the attachment's", _set(lambda b: b["entry"][2]["resource"], "contentType",
                                                              "text/plain"), "BENCH-PDSM-CONTENTTYPE"),
    ("type from SNOMED CT", _coding(lambda b: _doc(b)["type"], system=_SNOMED), "constr-bind-type"),
    ("category from LOINC", _coding(lambda b: _doc(b)["category"][0], system="http://loinc.org"),
     "constr-bind-category"),
    ("format from LOINC", _set(lambda b: _doc(b)["content"][0]["format"], "system", "http://loinc.org"),
     "constr-bind-format"),
    ("facilityType from SNOMED CT", _coding(lambda b: _doc(b)["context"]["facilityType"], system=_SNOMED),
     "constr-bind-ProducteurDoc"),
    ("type code with a wrong LOINC check digit", _coding(lambda b: _doc(b)["type"], code="11488-5"),
     "BENCH-PDSM-LOINC-CHECK"),
    ("class code outside J57", _coding(lambda b: _doc(b)["category"][0], code="03", display=None), "BENCH-PDSM-JDV"),
    ("securityLabel code X", _coding(lambda b: _doc(b)["securityLabel"][0], code="X"), "BENCH-PDSM-SECLABEL"),
    ("INS key wrong", _bad_ins, "BENCH-PDSM-INS"),
    ("subjects without INS (INS only in sourcePatientInfo)", _subject_without_ins, "BENCH-PDSM-PATIENTID"),
    ("ihe-sourcePatientId extension", _extension("https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourcePatientId",
                                                 valueIdentifier={"value": "1"}), "PDSM-EXTENSION"),
    ("isArchived with valueString", _extension(PDSM_SD + "pdsm-ext-is-archived", valueString="yes"), "PDSM-TYPE"),
    ("extension with value and extensions", _ext_both, "ext-1"),
    ("designationType missing", _drop_designation, "PDSM-SLICE"),
    ("relatesTo replaces a Patient", _replaces_patient, "constr-bind-relatesTo"),
    ("contained reference to nothing", _set(_doc, "author", [{"reference": "#nobody"}]), "FHIR-REF-RESOLVE"),
    ("relative fullUrl", _set(lambda b: b["entry"][2], "fullUrl", "Binary/binary-0"), "FHIR-BUNDLE-FULLURL"),
    ("unknown element", _set(_doc, "version", "2"), "FHIR-STRUCTURE"),
    ("empty object", _set(_doc, "custodian", {}), "ele-1"),
    ("POST with a wrong request.url", lambda b: b["entry"][1]["request"].update(url="Binary"), "BENCH-PDSM-REQUEST-URL"),
    ("DocumentReference not in the SubmissionSet", lambda b: _list(b)["entry"].pop(), "BENCH-PDSM-ITI65-CONTENT"),
    ("SubmissionSet item outside the bundle", lambda b: _list(b)["entry"][0]["item"].update(
        reference="urn:uuid:0b8e5bb4-4a4c-4a57-9e3e-1e2f3a4b5c6d"), "BENCH-PDSM-ITI65-CONTENT"),
    ("another patient on a DocumentReference", _set(_doc, "subject", {"reference": "Patient/other"}),
     "BENCH-PDSM-SAME-PATIENT"),
    ("transaction entry without request (FHIRPath bdl-3)", _drop(lambda b: b["entry"][2], "request"), "bdl-3"),
    ("List with entries and an emptyReason (FHIRPath lst-1)",
     _set(_list, "emptyReason", {"text": "none"}), "lst-1"),
    ("empty list in an optional element", _set(_list, "note", []), "ele-1"),
]


@pytest.fixture(scope="module")
def valid_bundle() -> Bundle:
    return iti65_bundle(documents=2)


def test_valid_bundle_has_no_error(validator: FhirValidator, valid_bundle: Bundle) -> None:
    result = validator.validate_bytes(json.dumps(valid_bundle).encode(), "iti65.json")
    assert result.valid, [f.to_dict() for f in result.findings if f.is_error]
    assert result.details["profiles"] == [PDSM_SD + "pdsm-comprehensive-provide-document-bundle"]


def test_valid_bundle_with_folder_has_no_error(validator: FhirValidator) -> None:
    bundle = iti65_bundle(documents=3, with_folder=True)
    result = validator.validate_bytes(json.dumps(bundle).encode(), "iti65-folder.json")
    assert result.valid, [f.to_dict() for f in result.findings if f.is_error]
    broken = copy.deepcopy(bundle)
    folder = broken["entry"][-1]["resource"]
    folder["source"] = {"reference": "Device/d1"}  # source is 0..0 on a Folder
    broken["entry"][-1]["request"]["method"] = "DELETE"  # MHDprovideFolderActions: POST or PUT
    errors = {f.rule for f in validator.validate_bytes(json.dumps(broken).encode()).findings if f.is_error}
    assert {"PDSM-SLICE", "PDSM-CARD", "PDSM-BINDING"} <= errors


def test_valid_bundle_in_xml_has_no_error(validator: FhirValidator, valid_bundle: Bundle) -> None:
    from fhir.resources.R4B.bundle import Bundle as BundleModel

    xml = BundleModel.model_validate(valid_bundle).model_dump_xml()
    result = validator.validate_bytes(xml, "iti65.xml")
    assert result.details["format"] == "xml"
    assert result.valid, [f.to_dict() for f in result.findings if f.is_error]


def test_variants_cover_every_fhir_rule() -> None:
    """Each of our fhir rules has a failing case here (the valid bundle is the passing case of all)."""
    covered = {rule for _, _, rule in VARIANTS}
    tested_elsewhere = {"BENCH-PDSM-ITI105", "BENCH-PDSM-UPDATE-DOCREFS",  # test_rules.py (ITI-105, replacement)
                        "FHIR-CANONICAL", "FHIR-CONCEPTMAP-SCOPE", "FHIR-CONCEPTMAP-CODE",  # test_core_rules.py
                        "FHIR-CODE-UNKNOWN", "FHIR-CODE-DISPLAY"}  # test_terminology_packages.py
    missing = {r.id for r in rules.of_kind("fhir")} - covered - tested_elsewhere
    assert not missing


@pytest.mark.parametrize(("mutate", "expected"), [
    pytest.param(m, r, id=name, marks=[pytest.mark.requirement(r)] if r in rules else []) for name, m, r in VARIANTS])
def test_broken_variant_is_rejected(validator: FhirValidator, valid_bundle: Bundle,
                                    mutate: Callable[[Bundle], None], expected: str) -> None:
    bundle = copy.deepcopy(valid_bundle)
    mutate(bundle)
    result = validator.validate_bytes(json.dumps(bundle).encode(), "variant.json")
    errors = [f for f in result.findings if f.is_error]
    assert expected in {f.rule for f in errors}, [(f.rule, f.location, f.message) for f in result.findings]
    finding = next(f for f in errors if f.rule == expected)
    assert finding.location and finding.message and finding.hint
