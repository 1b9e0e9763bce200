"""Header rules the official pipeline is blind to, or checks too loosely: confidentiality, document code,
LOINC and SNOMED CT check digits (header and body), empty names and title, volet templateIds no schematron
would be routed on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import yaml
from lxml import etree

from conformance.cda.document import CdaDocument
from conformance.cda.routing import load_routing
from conformance.cda.rules._common import at, text
from conformance.findings import Violation, rules
from conformance.identity import loinc_corrected, verhoeff_check_digit, verhoeff_valid
from conformance.resources import profiles_path
from conformance.xml import NAMESPACES, XmlInputError, parse_xml

CONFIDENTIALITY_SYSTEM = "2.16.840.1.113883.5.25"
CONFIDENTIALITY_CODES = ("N", "R", "V")
LOINC = "2.16.840.1.113883.6.1"
ANS_DOCUMENT_TYPES = "1.2.250.1.213.1.1.4.12"
DOCUMENT_CODE_SYSTEMS = (LOINC, ANS_DOCUMENT_TYPES)
J07_FILE = Path("jeuxDeValeurs") / "JDV_J07_XdsTypeCode_CISIS.xml"
CISIS_VOLET_ARC = "1.2.250.1.213.1.1.1."
SNOMED_CT = "2.16.840.1.113883.6.96"
_SCTID = re.compile(r"[1-9][0-9]{5,17}")


@rules.register("BENCH-CDA-CONFIDENTIALITY", kind="cda",
                title="confidentialityCode is N, R or V of HL7 Confidentiality (2.16.840.1.113883.5.25)",
                hint="use code N (normal), R (restricted) or V (very restricted) with codeSystem "
                     "2.16.840.1.113883.5.25; DMP visibility (masking) is set in the XDS metadata, not here")
def confidentiality(document: CdaDocument) -> Iterator[Violation]:
    for element in document.xpath("hl7:confidentialityCode"):
        code, system = element.get("code"), element.get("codeSystem")
        if code not in CONFIDENTIALITY_CODES or system != CONFIDENTIALITY_SYSTEM:
            yield at(document, element, f"confidentialityCode is {code!r} in {system!r}, expected one of "
                     f"{'/'.join(CONFIDENTIALITY_CODES)} in {CONFIDENTIALITY_SYSTEM}")


@lru_cache(maxsize=4)
def type_codes_of_package(package_dir: Path) -> frozenset[tuple[str, str]] | None:
    """``(code, codeSystem)`` pairs of JDV_J07 in the package, or None when the file is absent or unreadable."""
    path = package_dir / J07_FILE
    try:
        tree = parse_xml(path.read_bytes())
    except (OSError, XmlInputError):
        return None
    concepts = tree.getroot().xpath("//svs:Concept", namespaces=NAMESPACES)
    return frozenset((c.get("code"), c.get("codeSystem")) for c in concepts) or None


@rules.register("BENCH-CDA-DOC-CODE", kind="cda",
                title="document code belongs to JDV_J07 (XdsTypeCode) and its code system",
                hint="use a document type code of JDV_J07_XdsTypeCode_CISIS (LOINC or ANS 1.2.250.1.213.1.1.4.12) "
                     "matching the volet")
def document_code(document: CdaDocument) -> Iterator[Violation]:
    element = document.first("hl7:code")
    if element is None or element.get("nullFlavor"):
        return  # absence and nullFlavor are official StrucMin findings
    code, system = element.get("code"), element.get("codeSystem")
    if system not in DOCUMENT_CODE_SYSTEMS:
        yield at(document, element, f"document code {code!r} is in code system {system!r}, expected LOINC "
                 f"({LOINC}) or the ANS document types ({ANS_DOCUMENT_TYPES})", attribute="codeSystem")
        return
    value_set = type_codes_of_package(document.package_dir) if document.package_dir else None
    if value_set is not None and (code, system) not in value_set:
        yield at(document, element, f"document code {code!r} ({system}) is not in JDV_J07_XdsTypeCode_CISIS "
                 f"({len(value_set)} concepts)", attribute="code")


def _coded(document: CdaDocument, system: str) -> Iterator[tuple[etree._Element, str]]:
    """``(element, code)`` for every element coded in ``system`` (code, value, translation… anywhere)."""
    for element in document.xpath(f".//*[@codeSystem='{system}'][@code]"):
        yield element, element.get("code")


@rules.register("BENCH-CDA-LOINC-CHECK", kind="cda", title="LOINC codes carry a correct mod-10 check digit",
                hint="a LOINC code ends with a check digit: the code was probably mistyped; copy it from LOINC")
def loinc_check(document: CdaDocument) -> Iterator[Violation]:
    for element, code in _coded(document, LOINC):
        if (corrected := loinc_corrected(code)) and corrected != code:
            yield at(document, element, f"LOINC code {code} has check digit {code[-1]}, "
                     f"expected {corrected[-1]} ({corrected})", attribute="code")


@rules.register("BENCH-CDA-SNOMED-CHECK", kind="cda", title="SNOMED CT identifiers carry a correct Verhoeff check digit",
                hint="a SNOMED CT identifier ends with a Verhoeff check digit: the code was probably mistyped")
def snomed_check(document: CdaDocument) -> Iterator[Violation]:
    for element, code in _coded(document, SNOMED_CT):
        if _SCTID.fullmatch(code) and not verhoeff_valid(code):
            yield at(document, element, f"SNOMED CT code {code} has check digit {code[-1]}, expected "
                     f"{verhoeff_check_digit(code[:-1])} (Verhoeff)", attribute="code")


@rules.register("BENCH-CDA-TITLE", kind="cda", title="the document title is not empty",
                hint="give the document a title: it becomes the XDS DocumentEntry title shown to professionals "
                     "and to the patient")
def title_not_empty(document: CdaDocument) -> Iterator[Violation]:
    for title in document.xpath("hl7:title"):
        if not text(title) and title.get("nullFlavor") is None:
            yield at(document, title, "empty document title")


# Persons whose names the DMP needs (XDS sourcePatientInfo, authorPerson and legalAuthenticator XCN, where
# family and given names are both mandatory: RG_2230).
NAMED_PERSONS = {
    "patient": "hl7:recordTarget/hl7:patientRole/hl7:patient/hl7:name",
    "author": "hl7:author/hl7:assignedAuthor/hl7:assignedPerson/hl7:name",
    "legalAuthenticator": "hl7:legalAuthenticator/hl7:assignedEntity/hl7:assignedPerson/hl7:name",
}


@rules.register("BENCH-CDA-EMPTY-NAME", kind="cda",
                title="names of the patient, authors and legal authenticator have non-empty family and given names",
                hint="fill the name (or use nullFlavor where the volet allows it): the DMP rejects authors and "
                     "patients without a family or given name (RG_2230)")
def empty_names(document: CdaDocument) -> Iterator[Violation]:
    for person, expr in NAMED_PERSONS.items():
        for name in document.xpath(expr):
            if name.get("nullFlavor") is not None:
                continue
            if document.first("hl7:family", name) is None:
                yield at(document, name, f"name of the {person} without a family name")
            for part in document.xpath("hl7:family | hl7:given", name):
                if not text(part) and part.get("nullFlavor") is None:
                    kind = "family" if part.tag.endswith("}family") else "given"
                    yield at(document, part, f"empty {kind} name of the {person}")


KNOWN_TEMPLATES_FILE = profiles_path("cda", "known-volet-templates.yaml")


@lru_cache(maxsize=1)
def known_document_templates() -> dict[str, frozenset[str | None]]:
    """Root → extensions of every known CI-SIS document templateId: the routed volets plus the family and
    StrucMin templates of ``profiles/cda/known-volet-templates.yaml``."""
    pairs = set(load_routing().by_template)
    data = yaml.safe_load(KNOWN_TEMPLATES_FILE.read_text(encoding="utf-8"))
    pairs |= {(str(t["root"]), None if t.get("extension") is None else str(t["extension"]))
              for t in data["templates"]}
    known: dict[str, set[str | None]] = {}
    for root, extension in pairs:
        known.setdefault(root, set()).add(extension)
    return {root: frozenset(extensions) for root, extensions in known.items()}


@rules.register("BENCH-CDA-VOLET-TEMPLATE", kind="cda",
                title="CI-SIS volet templateIds (1.2.250.1.213.1.1.1.*) are known root + extension pairs",
                hint="copy the templateId root and extension from the volet specification: with an unknown pair "
                     "no volet schematron is chosen and the volet rules are silently skipped")
def volet_template(document: CdaDocument) -> Iterator[Violation]:
    known = known_document_templates()
    for element in document.xpath("hl7:templateId"):
        root, extension = element.get("root") or "", element.get("extension")
        if not root.startswith(CISIS_VOLET_ARC) or extension in known.get(root, ()):
            continue
        if root in known:
            listed = sorted(e if e is not None else "(none)" for e in known[root])
            expected = f"known extensions of {root}: {', '.join(listed)}"
        else:
            expected = "no CI-SIS volet has this root"
        yield at(document, element, f"unknown volet templateId {root} extension {extension!r} ({expected})")
