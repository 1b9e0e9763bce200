"""The published examples and conformance resources of PDSm 3.1.1 and PDSM4DMP 0.1.0 against the IG publisher.

Every example parses. Our errors are matched with the IG publisher's error issues (``other/validation-oo.json``)
by resource and location. Two recalls are printed: over all official errors, and over the errors reproducible
with the data the validator holds offline; the second must be 100 %. Each official error needing data the
bench does not hold is printed with what is missing, and each error we raise that the official results lack
is justified here: nothing is ignored silently.

The "Error from https://smt.esante.gouv.fr/fhir: … Could not compare as numbers" errors on context.facilityType
and practiceSetting count as reproducible: the IG publisher failed while judging their SNOMED CT codes, and our
constr-bind-ProducteurDoc finding at the same element states the real cause offline (SNOMED CT codes outside
the JDV_J02 / JDV_J04 code systems).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.fhir import FhirPackage, FhirValidator, parse_fhir
from conformance.fhir.rules import JDV_DMP
from conformance.fhir.terminology import load_terminology

pytestmark = pytest.mark.official

# Official errors that need terminology the validator does not hold, by message id; such an error counts as
# soon as the validator holds its code system (the local display tables of profiles/fhir/terminology.json, or
# a CodeSystem of a loaded package such as ans.fr.terminologies).
TERMINOLOGY_NOT_OFFLINE = {
    "Display_Name_for__should_be_one_of__instead_of": "the displays of {system} are not offline: {source}",
    "Unknown_Code_in_Version": "the complete {system} code system is not offline: {source}",
}
# Where the missing terminology lives (none of it is in the PDSm / PDSM4DMP packages).
TERMINOLOGY_SOURCES = {
    "http://snomed.info/sct": "the SNOMED CT French edition (fr-x-sctlang designations), on the ANS terminology "
                              "server",
    "http://loinc.org": "LOINC with the ANS French designations (the LOINC distribution, ans.fr.terminologies)",
    "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode": "the IHE format code system "
                                                                     "(ihe.formatcode.fhir package)",
    "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument": "TRE_A03 in "
    "ans.fr.terminologies; the bench holds its DMP JDV_J57 subset only",
}
_SYSTEM_IN_TEXT = re.compile(r" for (\S+)#| in the CodeSystem '([^']+)'")
# Misses explained by the package versions: PDSM4DMP was validated against PDSm 3.1.0, we hold 3.1.1.
VERSION_DIFFERENCES = {
    ("DocumentReference/doc-x-id", "DocumentReference.author[0]"),
    ("DocumentReference/doc-x-id", "DocumentReference.authenticator"),
    ("Bundle/example-td2-1-remplacement", "Bundle.entry[1].resource.author[0]"),
    ("Bundle/example-td2-1-remplacement", "Bundle.entry[1].resource.authenticator"),
    ("Bundle/example-td2-iti65-lot-soumission", "Bundle.entry[1].resource.author[0]"),
    ("Bundle/example-td2-iti65-lot-soumission", "Bundle.entry[1].resource.authenticator"),
}
VERSION_REASON = ("PDSM4DMP was checked against PDSm 3.1.0, which is not offline; the bench holds PDSm 3.1.1, which "
                  "allows as-practitioner as author/authenticator target")

# Errors we raise that the official results lack, with why they are right: (rule, location regex, reason).
# Every entry must be used (test_recall_against_the_ig_publisher checks it), so the list never goes stale.
JUSTIFIED_EXTRAS: list[tuple[str, str, str]] = [
    ("PDSM-CARD", r"\.custodian$", "custodian is 1..1 in PDSm 3.1.1 (a PDSm addition); PDSM4DMP was checked "
                                   "against PDSm 3.1.0"),
    ("PDSM-REFTYPE", r"^List\.entry\[0\]\.item$", "the target DocumentReference/exemple-pdsm-documentreference "
                                                  "fails its PDSm profile (the IG publisher reports 8 errors on it)"),
    ("BENCH-PDSM-MASTERID", r"masterIdentifier\.value$", "'urn:uuid:abcd-efgh-ijkl-mnop' is not a UUID: an XDS "
                                                         "uniqueId is an OID or a UUID URN"),
    ("BENCH-PDSM-SIZE", r"content\[0\]\.attachment$", "the Binary the attachment.url points to (Binary/6789, "
     "example-annexe-binary-cda) is smaller than the stated size; HL7 only checks inline data"),
    ("BENCH-PDSM-HASH", r"content\[0\]\.attachment$", "same: the hash does not match the referenced Binary"),
    ("BENCH-PDSM-SECLABEL", r"securityLabel", "'N' under a misspelt TRE_A07 URL (StatusVisibilite): neither "
                                              "v3-Confidentiality N/R/V nor a TRE_A07 visibility code"),
    ("BENCH-PDSM-INS", r"identifier\[0\]\.value$", "'123456789012345' has key 45, not the computed NIR key: a "
                                                  "test INS must carry a valid key"),
    ("BENCH-PDSM-SUBMISSIONSET-UNIQUEID", r"entry\[0\]\.resource\.identifier$", "XDS and the DMP require the "
     "submission set uniqueId; the PDSm profile leaves the slice 0..1"),
    ("FHIR-REF-RESOLVE", r"^ImplementationGuide\.definition\.extension\[\d+\]\.valueReference$", "the IG's "
     "expansion-parameters extension points to Parameters/expansion-parameters, a resource of the IG publisher's "
     "build input that the package does not ship"),
    ("FHIR-BUNDLE-FULLURL", r"^Bundle\.entry\[1\]$", "the IG publisher reports both relative fullUrls at "
     "Bundle.entry[0] (its second message names the entry[1] fullUrl)"),
]


def _normalise(expression: str) -> str:
    expression = expression.split(": ", 1)[-1]
    expression = re.sub(r"/\*.*?\*/", "", expression)  # HL7's "/*DocumentReference/id*/" annotations
    # HL7 names a choice value "example.ofType(canonical)"; we name it by its JSON key, "exampleCanonical"
    expression = re.sub(r"\.(\w+)\.ofType\((\w)(\w*)\)", lambda m: f".{m[1]}{m[2].upper()}{m[3]}", expression)
    return expression


def _official_errors(package: FhirPackage) -> list[dict[str, Any]]:
    errors = []
    for entry in (package.publisher_results or {}).get("entry", []):
        outcome = entry["resource"]
        for issue in outcome.get("issue", []):
            if issue.get("severity") not in ("error", "fatal"):
                continue
            message_id = next((x.get("valueString") or x.get("valueCode") for x in issue.get("extension", [])
                               if x["url"].endswith("operationoutcome-message-id")), "")
            errors.append({"resource": outcome["id"].replace("-", "/", 1), "expression": _normalise(
                (issue.get("expression") or [""])[0]), "id": message_id, "text": issue["details"]["text"]})
    return errors


def _reason_not_offline(error: dict[str, Any], validator: FhirValidator) -> str | None:
    """Why an official error cannot be reproduced with the data the validator holds, or None."""
    if error["id"] in TERMINOLOGY_NOT_OFFLINE:
        found = _SYSTEM_IN_TEXT.search(error["text"])
        system = (found[1] or found[2]) if found else "?"
        held = validator.terminology.code_system(system)
        if error["id"].startswith("Display_Name"):
            # the local tables hold the displays of TRE_A03 (JDV_J57 codes) and MHDlistTypes: their errors count
            local = {s for vs in validator.terminology.value_sets.values() if vs.check_displays for s, _ in vs.concepts}
            reproducible = held is not None or system in local
        else:
            reproducible = held is not None and held.complete
        source = TERMINOLOGY_SOURCES.get(system, "not in the loaded packages")
        return None if reproducible else TERMINOLOGY_NOT_OFFLINE[error["id"]].format(system=system, source=source)
    if (error["resource"], error["expression"]) in VERSION_DIFFERENCES:
        return VERSION_REASON
    return None


def _example_profiles(package: FhirPackage) -> dict[str, list[str]]:
    """The profiles the IG publisher applies: the IG's exampleCanonical, then meta.profile."""
    guide = package.implementation_guide or {}
    canonical = package.name.replace("ans.fhir.fr.", "https://interop.esante.gouv.fr/ig/fhir/")
    found = {}
    for resource in guide.get("definition", {}).get("resource", []):
        example = resource.get("exampleCanonical")
        if example:
            url = example if "://" in example else f"{canonical}/{example}"
            found[resource["reference"]["reference"]] = [url.split("|")[0]]
    return found


def _published(package: FhirPackage) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(file name, bytes, resource) of every resource the IG publisher validated: the examples and the
    package's own conformance resources (ImplementationGuide, ConceptMap, StructureDefinition …)."""
    for name, data in package.example_bytes.items():
        yield name, data, package.examples[name]
    for name, resource in [*package.resources.items(), *package.definitions.items()]:
        yield name, json.dumps(resource).encode(), resource


def _our_errors(validator: FhirValidator, packages: list[FhirPackage]) -> dict[str, list[Any]]:
    known = [r for p in packages for _, _, r in _published(p)]
    ours: dict[str, list[Any]] = {}
    for package in packages:
        declared = _example_profiles(package)
        for name, data, resource in _published(package):
            key = f"{resource['resourceType']}/{resource['id']}"
            meta_profiles = (resource.get("meta") or {}).get("profile")
            profiles = meta_profiles or declared.get(key)
            result = validator.validate_bytes(data, name, profiles=profiles, known=known, closed_world=True)
            ours[key] = [f for f in result.findings if f.is_error]
    return ours


def test_every_example_parses(pdsm_package: FhirPackage, pdsm4dmp_package: FhirPackage) -> None:
    for package in (pdsm_package, pdsm4dmp_package):
        for name, data in package.example_bytes.items():
            parsed = parse_fhir(data)
            assert parsed.resource is not None and not parsed.findings, (name, parsed.findings)


def test_recall_against_the_ig_publisher(ig_validator: FhirValidator, pdsm_package: FhirPackage,
                                         pdsm4dmp_package: FhirPackage) -> None:
    packages = [pdsm_package, pdsm4dmp_package]
    ours = _our_errors(ig_validator, packages)
    official = [e for p in packages for e in _official_errors(p)]
    reasons = [_reason_not_offline(e, ig_validator) for e in official]
    matched = [e for e in official if any(f.location == e["expression"] for f in ours.get(e["resource"], []))]
    reproducible = [e for e, reason in zip(official, reasons, strict=True) if reason is None]
    missed = [e for e in reproducible if e not in matched]
    not_offline = [(e, reason) for e, reason in zip(official, reasons, strict=True) if reason]
    print(f"\nIG publisher errors: {len(official)}; matched: {len(matched)}; "
          f"recall over all official errors {len(matched) / len(official):.1%}")
    print(f"reproducible with the data held offline: {len(reproducible)}; matched: {len(reproducible) - len(missed)}"
          f"; recall {(len(reproducible) - len(missed)) / len(reproducible):.1%}")
    print(f"needing data not held offline: {len(not_offline)}, of which matched anyway by a finding of ours at the "
          f"same element: {sum(e in matched for e, _ in not_offline)}")
    for error, reason in not_offline:
        if error not in matched:
            print(f"  data not offline: {error['resource']} {error['expression']}: {reason}")
    for error in missed:
        print(f"  MISSED: {error['resource']} {error['expression']} [{error['id']}] {error['text'][:120]}")
    assert not missed, missed

    # Our errors the official results lack must each be justified.
    official_locations = {(e["resource"], e["expression"]) for e in official}
    unjustified, used = [], set()
    for resource, findings in ours.items():
        for finding in findings:
            if (resource, finding.location) in official_locations:
                continue
            reasons = [i for i, (rule, pattern, _) in enumerate(JUSTIFIED_EXTRAS)
                       if rule == finding.rule and re.search(pattern, finding.location or "")]
            used.update(reasons)
            if not reasons:
                unjustified.append((resource, finding.rule, finding.location, finding.message))
    assert not unjustified, "\n".join(map(str, unjustified))
    assert used == set(range(len(JUSTIFIED_EXTRAS))), "stale justifications: " + str(
        [JUSTIFIED_EXTRAS[i][:2] for i in set(range(len(JUSTIFIED_EXTRAS))) - used])


def test_xml_form_gives_the_same_errors(ig_validator: FhirValidator, pdsm_package: FhirPackage,
                                        pdsm4dmp_package: FhirPackage) -> None:
    """Each example re-serialised as FHIR XML is parsed and judged exactly as its JSON form."""
    from fhir.resources.R4B import get_fhir_model_class

    packages = [pdsm_package, pdsm4dmp_package]
    known = [r for p in packages for r in p.examples.values()]
    for package in packages:
        for name, data in package.example_bytes.items():
            resource = package.examples[name]
            xml = get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_xml()
            errors = []
            for payload in (data, xml):
                result = ig_validator.validate_bytes(payload, name, known=known, closed_world=True)
                errors.append({(f.rule, f.location) for f in result.findings if f.is_error})
            assert errors[0] == errors[1], (name, errors[0] ^ errors[1])


def test_official_type_codes_are_in_the_cisis_jdv_j07(pdsm_package: FhirPackage, pdsm4dmp_package: FhirPackage,
                                                      cisis_package: Path) -> None:
    """With the CI-SIS package, a type code outside JDV_J07 is an error (BENCH-PDSM-JDV): none of the examples has
    one, as the IG publisher says."""
    packages = [pdsm_package, pdsm4dmp_package]
    validator = FhirValidator(packages, load_terminology(cisis_package / "jeuxDeValeurs"))
    assert validator.terminology.value_set(JDV_DMP[("type",)]).complete  # type: ignore[union-attr]
    wrong = [(resource, f.location) for resource, findings in _our_errors(validator, packages).items()
             for f in findings if f.rule == "BENCH-PDSM-JDV" and ".type." in (f.location or "")]
    assert not wrong
