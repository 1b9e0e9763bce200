"""Structure parsing (JSON, XML), bad input, package loading and the "fhir" artefact kind."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from conformance.fhir import FhirPackageError, FhirValidator, load_package, parse_fhir
from conformance.fhir.builders import iti65_bundle
from conformance.fhir.kind import detect
from conformance.fhir.lines import json_lines, line_of
from conformance.fhir.parse import fhirpath_of
from conformance.validation import ValidationContext, validate_bytes

DOCREF = iti65_bundle(1)["entry"][1]["resource"]


def test_structure_error_is_located_with_a_fhirpath() -> None:
    broken = json.loads(json.dumps(DOCREF))
    broken["content"][0]["attachment"]["size"] = "big"
    parsed = parse_fhir(json.dumps(broken).encode())
    assert parsed.resource is not None
    assert [f.location for f in parsed.findings] == ["DocumentReference.content[0].attachment.size"]
    assert "big" in parsed.findings[0].message


def test_fhirpath_of_pydantic_locations() -> None:
    assert fhirpath_of("Bundle", ("entry", 3, "resource", "function-after[x]", "status")) == \
        "Bundle.entry[3].resource.status"


@pytest.mark.parametrize(("payload", "rule"), [
    (b"{not json", "FHIR-JSON"),
    (b"[1, 2]", "FHIR-JSON"),
    (b"\xff\xfe{}", None),
    (b'{"resourceType": "Nope"}', "FHIR-STRUCTURE"),
    (b'{"resourceType": 3}', "FHIR-STRUCTURE"),
    (b'{"resourceType": "List", "contained": [{"resourceType": "FooType"}], "status": "current", "mode": "working"}',
     "FHIR-STRUCTURE"),
    (b"<List xmlns='urn:other'/>", "FHIR-XML"),
    (b'<!DOCTYPE x [<!ENTITY e "boom">]><List xmlns="http://hl7.org/fhir">&e;</List>', None),
    (b"<List xmlns='http://hl7.org/fhir'><status value='current'/>", None),
    (b"[" * 100_000 + b"]" * 100_000, "FHIR-JSON"),
])
def test_bad_input_gives_findings_not_exceptions(payload: bytes, rule: str | None) -> None:
    parsed = parse_fhir(payload)
    assert parsed.resource is None or parsed.findings
    assert parsed.findings and all(f.is_error for f in parsed.findings)
    if rule:
        assert parsed.findings[0].rule == rule


def test_xml_and_json_give_the_same_resource() -> None:
    from fhir.resources.R4B.documentreference import DocumentReference

    xml = DocumentReference.model_validate(DOCREF).model_dump_xml()
    parsed = parse_fhir(xml)
    assert parsed.format == "xml" and not parsed.findings
    assert parsed.resource is not None and parsed.resource["masterIdentifier"] == DOCREF["masterIdentifier"]
    assert parsed.raw == xml


def test_detect() -> None:
    assert detect(json.dumps(DOCREF).encode())
    assert detect(b'<?xml version="1.0"?>\n<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/></Bundle>')
    assert not detect(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
    assert not detect(b'{"hello": "world"}')


def test_validate_bytes_dispatches_to_fhir(fhir_dir: Path) -> None:
    context = ValidationContext(options={"fhir_packages": [str(fhir_dir / "ans.fhir.fr.pdsm-package.tgz")]})
    result = validate_bytes(json.dumps(iti65_bundle(1)).encode(), "bundle.json", context)
    assert result.kind == "fhir" and result.valid


def test_without_package_only_structure_and_rules_run() -> None:
    result = FhirValidator([]).validate_bytes(json.dumps(DOCREF).encode())
    assert "PDSM-PACKAGE" in {f.rule for f in result.findings}
    assert result.valid


def test_package_from_folder_and_refusals(tmp_path: Path) -> None:
    root = tmp_path / "pkg" / "package"
    root.mkdir(parents=True)
    (root / "package.json").write_text('{"name": "demo", "version": "1.0"}')
    (root / "StructureDefinition-x.json").write_text('{"resourceType": "StructureDefinition", "url": "http://x/sd"}')
    package = load_package(tmp_path / "pkg")
    assert (package.name, list(package.definitions)) == ("demo", ["http://x/sd"])
    with pytest.raises(FhirPackageError):
        load_package(tmp_path / "missing.tgz")
    corrupt = tmp_path / "corrupt.tgz"
    corrupt.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(FhirPackageError):
        load_package(corrupt)


def test_tar_members_outside_package_are_ignored(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (("package/package.json", b'{"name": "evil", "version": "0"}'),
                           ("package/../../escape.json", b'{"resourceType": "StructureDefinition", "url": "u"}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    package = load_package(archive)
    assert package.name == "evil" and not package.definitions


def test_packages_imported_with_the_importer_are_used(fhir_dir: Path, tmp_path: Path) -> None:
    from conformance.artefacts import import_package
    from conformance.fhir import default_validator

    import_package(fhir_dir / "ans.fhir.fr.pdsm-package.tgz", profiles_dir=tmp_path)
    validator = default_validator({"profiles_dir": tmp_path})
    assert [p.name for p in validator.packages] == ["ans.fhir.fr.pdsm"]
    assert validator.validate_bytes(json.dumps(iti65_bundle(1)).encode()).valid


def test_cisis_value_sets_replace_the_subsets(cisis_package: Path) -> None:
    from conformance.fhir.terminology import load_terminology

    terminology = load_terminology(cisis_package / "jeuxDeValeurs")
    facility = terminology.value_set("https://mos.esante.gouv.fr/NOS/JDV_J02-XdsHealthcareFacilityTypeCode-CISIS/"
                                     "FHIR/JDV-J02-XdsHealthcareFacilityTypeCode-CISIS")
    assert facility is not None and facility.complete and len(facility.codes) > 50


def test_findings_carry_json_lines(validator: FhirValidator) -> None:
    bundle = iti65_bundle(1)
    bundle["entry"][1]["resource"]["status"] = "entered-in-error"
    raw = json.dumps(bundle, indent=2).encode()
    result = validator.validate_bytes(raw)
    finding = next(f for f in result.findings if f.rule == "PDSM-BINDING")
    assert finding.line is not None
    assert '"entered-in-error"' in raw.decode().splitlines()[finding.line - 1]


def test_structure_findings_carry_json_lines() -> None:
    broken = json.loads(json.dumps(DOCREF))
    broken["date"] = "yesterday"
    raw = json.dumps(broken, indent=1).encode()
    finding = parse_fhir(raw).findings[0]
    assert finding.line is not None and '"yesterday"' in raw.decode().splitlines()[finding.line - 1]


def test_line_index_edge_cases() -> None:
    index = json_lines(b'{\n "a": [\n  {"b": "x\\"y"},\n  2\n ]\n}', "R")
    assert index == {"R": 1, "R.a": 2, "R.a[0]": 3, "R.a[0].b": 3, "R.a[1]": 4}
    assert line_of(index, "R.a[0].b.c") == 3 and line_of(index, "Other") is None
    assert json_lines(b'{"a": ', "R") == {}  # truncated JSON never reaches the validators


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>',
    b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Patient xmlns="http://hl7.org/fhir"><id value="&b;"/></Patient>',
])
def test_hostile_fhir_xml_is_refused_as_fhir(payload: bytes) -> None:
    result = validate_bytes(payload, "hostile.xml")
    assert result.kind == "fhir" and not result.valid
    assert result.findings[0].rule.startswith("XML-")
