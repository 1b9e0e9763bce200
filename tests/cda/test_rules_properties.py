"""Property tests: documents filled with synthetic identities pass every rule; a corrupted identifier fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lxml import etree

import conformance.cda.rules  # noqa: F401  (registers the rules)
from conformance.cda.document import CdaDocument
from conformance.findings import Finding, Severity, rules
from conformance.identity import SyntheticIdentities
from conformance.identity.strategies import patients, professionals, structures
from conformance.identity.synthetic import Patient, Professional, Structure
from conformance.xml import NAMESPACES, parse_xml

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cda" / "minimal-nonxml.xml"
PATIENT = "/cda:ClinicalDocument/cda:recordTarget/cda:patientRole"


def _set(root: etree._Element, xpath: str, attribute: str | None, value: str) -> None:
    for element in root.xpath(xpath, namespaces=NAMESPACES):
        if attribute is None:
            element.text = value
        else:
            element.set(attribute, value)


def render(patient: Patient, professional: Professional, structure: Structure) -> etree._ElementTree:
    """The minimal fixture with its patient, author/legal authenticator and organisation replaced."""
    tree = parse_xml(FIXTURE.read_bytes())
    root = tree.getroot()
    _set(root, PATIENT + "/cda:id[1]", "root", patient.ins.oid)
    _set(root, PATIENT + "/cda:id[1]", "extension", patient.nir)
    _set(root, PATIENT + "/cda:patient/cda:name/cda:family", None, patient.birth_family_name)
    _set(root, PATIENT + "/cda:patient/cda:name/cda:given[1]", None, patient.first_given_name)
    _set(root, PATIENT + "/cda:patient/cda:name/cda:given[2]", None, " ".join(patient.birth_given_names))
    _set(root, PATIENT + "/cda:patient/cda:administrativeGenderCode", "code", patient.sex)
    _set(root, PATIENT + "/cda:patient/cda:birthTime", "value", patient.hl7_birth_time)
    _set(root, PATIENT + "/cda:patient/cda:birthplace/cda:place/cda:addr/cda:county", None, patient.birth_place_code)
    for person in ("cda:author/cda:assignedAuthor", "cda:legalAuthenticator/cda:assignedEntity"):
        _set(root, f"/cda:ClinicalDocument/{person}/cda:id", "extension", professional.idnat)
        _set(root, f"/cda:ClinicalDocument/{person}/cda:assignedPerson/cda:name/cda:family", None,
             professional.family_name)
    _set(root, "//cda:representedOrganization/cda:id | //cda:representedCustodianOrganization/cda:id",
         "extension", structure.idnat)
    return tree


def run(tree: etree._ElementTree) -> list[Finding]:
    return rules.run("cda", CdaDocument.from_tree(tree, "synthetic.xml"))


@given(patients(), professionals(), structures())
def test_synthetic_documents_pass_every_rule(patient: Patient, professional: Professional,
                                             structure: Structure) -> None:
    findings = [f for f in run(render(patient, professional, structure)) if f.severity is not Severity.INFO]
    assert findings == []


@pytest.mark.requirement("BENCH-CDA-INS-KEY")
@given(patients(), professionals(), structures(), st.integers(1, 96))
def test_a_wrong_ins_key_is_always_an_error(patient: Patient, professional: Professional, structure: Structure,
                                            delta: int) -> None:
    tree = render(patient, professional, structure)
    wrong = patient.nir[:13] + f"{(int(patient.nir[13:]) + delta - 1) % 97 + 1:02d}"
    assume(wrong != patient.nir)
    _set(tree.getroot(), PATIENT + "/cda:id[1]", "extension", wrong)
    assert [f.rule for f in run(tree) if f.is_error] == ["BENCH-CDA-INS-KEY"]


def test_synthetic_document_against_the_cda_schema(cisis_package: Path) -> None:
    """Faker names and our identifiers never break the CDA schema."""
    schema = etree.XMLSchema(etree.parse(str(cisis_package / "infrastructure" / "cda" / "CDA_extended.xsd")))
    ids = SyntheticIdentities(seed=11)
    for _ in range(20):
        tree = render(ids.patient(), ids.professional(), ids.structure())
        assert schema.validate(tree), schema.error_log


XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
ATTRIBUTES = st.sampled_from(["root", "extension", "code", "codeSystem", "value", "mediaType", "representation",
                              "typeCode", "nullFlavor", "qualifier"])


@given(st.lists(st.tuples(st.integers(0, 200), ATTRIBUTES, XML_TEXT, st.booleans()), min_size=1, max_size=6))
def test_rules_never_crash_on_corrupted_documents(edits: list[tuple[int, str, str, bool]]) -> None:
    tree = parse_xml(FIXTURE.read_bytes())
    elements = list(tree.getroot().iter(etree.Element))
    for index, attribute, value, as_text in edits:
        element = elements[index % len(elements)]
        if as_text:
            element.text = value
        else:
            element.set(attribute, value)
    crashed = [f.message for f in run(tree) if "could not be evaluated" in f.message]
    assert crashed == []
