"""Every CDA rule of ours: the minimal valid fixture passes it, and a targeted mutation of it fails it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

import conformance.cda.rules
from conformance.cda.document import CdaDocument
from conformance.cda.rules import CDA_RULE_IDS
from conformance.findings import Finding, Severity, rules
from conformance.xml import NAMESPACES, parse_xml

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cda" / "minimal-nonxml.xml"
Mutation = Callable[[etree._Element], None]


def document(mutation: Mutation | None = None, package_dir: Path | None = None) -> CdaDocument:
    tree = parse_xml(FIXTURE.read_bytes())
    if mutation is not None:
        mutation(tree.getroot())
    return CdaDocument.from_tree(tree, FIXTURE.name, package_dir=package_dir)


def findings_of(rule_id: str, doc: CdaDocument) -> list[Finding]:
    return list(rules.get(rule_id).run(doc))


def one(root: etree._Element, xpath: str) -> etree._Element:
    found = root.xpath(xpath, namespaces=NAMESPACES)
    assert len(found) == 1, xpath
    return found[0]


def set_attr(xpath: str, name: str, value: str | None) -> Mutation:
    def mutate(root: etree._Element) -> None:
        element = one(root, xpath)
        if value is None:
            del element.attrib[name]
        else:
            element.set(name, value)
    return mutate


def set_text(xpath: str, value: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        one(root, xpath).text = value
    return mutate


def insert_after(xpath: str, xml: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        one(root, xpath).addnext(etree.fromstring(xml))
    return mutate


def append_to(xpath: str, xml: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        one(root, xpath).append(etree.fromstring(xml))
    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(root: etree._Element) -> None:
        for mutation in mutations:
            mutation(root)
    return mutate


PATIENT = "/cda:ClinicalDocument/cda:recordTarget/cda:patientRole"
INS = PATIENT + "/cda:id[1]"
AUTHOR_ID = "/cda:ClinicalDocument/cda:author/cda:assignedAuthor/cda:id"
ORG_ID = "/cda:ClinicalDocument/cda:author/cda:assignedAuthor/cda:representedOrganization/cda:id"
LEGAL_ID = "/cda:ClinicalDocument/cda:legalAuthenticator/cda:assignedEntity/cda:id"
BODY_TEXT = "/cda:ClinicalDocument/cda:component/cda:nonXMLBody/cda:text"
VOLET = '<templateId xmlns="urn:hl7-org:v3" root="1.2.250.1.213.1.1.1.29" extension="2022.01"/>'
RPLC = ('<relatedDocument xmlns="urn:hl7-org:v3" typeCode="RPLC"><parentDocument>'
        '<id root="1.2.250.1.999.1.1.1"/><setId root="1.2.250.1.999.1.1"/><versionNumber value="1"/>'
        '</parentDocument></relatedDocument>')
AS_REPLACEMENT = chain(set_attr("/cda:ClinicalDocument/cda:versionNumber", "value", "2"),
                       insert_after("/cda:ClinicalDocument/cda:legalAuthenticator", RPLC))
PARENT = "/cda:ClinicalDocument/cda:relatedDocument/cda:parentDocument"

# rule → (mutation that makes the fixture pass it when the plain fixture is not the right "pass" case or None,
#         mutation that makes it fail, expected message fragment)
CASES: dict[str, tuple[Mutation | None, Mutation, str]] = {
    "BENCH-CDA-INS-KEY": (None, set_attr(INS, "extension", "277076322082911"), "expected 10"),
    "BENCH-CDA-INS-OID": (None, set_attr(INS, "root", "1.2.250.1.213.1.4.12"), "unknown INS OID"),
    "BENCH-CDA-INS-TEST-OID": (set_attr(INS, "root", "1.2.250.1.213.1.4.8"), lambda root: None, "test INS OID"),
    "BENCH-CDA-PS-ID": (None, set_attr(AUTHOR_ID, "extension", "8012345678"), "11 digits of the RPPS"),
    "BENCH-CDA-RPPS-KEY": (None, set_attr(AUTHOR_ID, "extension", "801234567898"), "expected 7"),
    "BENCH-CDA-FINESS-KEY": (None, set_attr(ORG_ID, "extension", "1750000011"), "expected 0"),
    "BENCH-CDA-OID-SYNTAX": (None, set_attr("/cda:ClinicalDocument/cda:id", "root", "1.2.250.01.999"),
                             "leading zero"),
    "BENCH-CDA-LEGALAUTH-ID": (None, set_attr(LEGAL_ID, "root", "1.2.250.1.71.4.2.2"), "structure OID"),
    "BENCH-CDA-SEX-NIR": (None, set_attr(PATIENT + "/cda:patient/cda:administrativeGenderCode", "code", "M"),
                          "sex F"),
    "BENCH-CDA-BIRTH-NIR": (None, set_attr(PATIENT + "/cda:patient/cda:birthTime", "value", "19780715"),
                            "whose YYMM is 7707"),
    "BENCH-CDA-CONFIDENTIALITY": (None, set_attr("/cda:ClinicalDocument/cda:confidentialityCode", "code", "U"),
                                  "expected one of N/R/V"),
    "BENCH-CDA-DOC-CODE": (None, set_attr("/cda:ClinicalDocument/cda:code", "codeSystem", "2.16.840.1.113883.6.96"),
                           "expected LOINC"),
    "BENCH-CDA-LOINC-CHECK": (None, set_attr("/cda:ClinicalDocument/cda:code", "code", "11502-3"),
                              "11502-2"),
    "BENCH-CDA-EMPTY-NAME": (None, set_text(PATIENT + "/cda:patient/cda:name/cda:family", " "),
                             "family name of the patient"),
    "BENCH-CDA-SNOMED-CHECK": (None, append_to("/cda:ClinicalDocument/cda:code",
                                                  '<translation xmlns="urn:hl7-org:v3" code="22298007" '
                                                  'codeSystem="2.16.840.1.113883.6.96"/>'), "expected 6"),
    "BENCH-CDA-TITLE": (None, set_text("/cda:ClinicalDocument/cda:title", "  "), "empty document title"),
    "BENCH-CDA-VOLET-TEMPLATE": (insert_after("/cda:ClinicalDocument/cda:templateId[3]", VOLET),
                                 insert_after("/cda:ClinicalDocument/cda:templateId[3]",
                                              VOLET.replace("2022.01", "2019.01")),
                                 "known extensions of 1.2.250.1.213.1.1.1.29: 2022.01"),
    "BENCH-CDA-RPLC-PARENT": (AS_REPLACEMENT, chain(AS_REPLACEMENT,
                                                    set_attr(PARENT + "/cda:id", "root", "1.2.250.1.999.1.1.2")),
                              "is this document's id"),
    "BENCH-CDA-RPLC-SETID": (AS_REPLACEMENT, chain(AS_REPLACEMENT, set_attr("/cda:ClinicalDocument/cda:setId", "root",
                                                                        "1.2.250.1.999.1.1.2")),
                             "equals the id of this replacing version"),
    "BENCH-CDA-RPLC-VERSION": (AS_REPLACEMENT, set_attr("/cda:ClinicalDocument/cda:versionNumber", "value", "2"),
                               "no relatedDocument RPLC"),
    "BENCH-CDA-NONXML-MEDIATYPE": (None, set_attr(BODY_TEXT, "mediaType", None), "no mediaType"),
    "BENCH-CDA-NONXML-REPRESENTATION": (None, set_attr(BODY_TEXT, "representation", "TXT"), "expected 'B64'"),
    "BENCH-CDA-NONXML-CONTENT": (None, set_text(BODY_TEXT, ""), "without content"),
}


RULE_PARAMS = [pytest.param(rule_id, marks=pytest.mark.requirement(rule_id)) for rule_id in sorted(CASES)]


def test_every_rule_has_a_case_and_a_title() -> None:
    assert set(CASES) == set(CDA_RULE_IDS)
    for rule in rules.of_kind("cda"):
        assert rule.title and rule.hint, rule.id


@pytest.mark.parametrize("rule_id", RULE_PARAMS)
def test_rule_passes_on_the_valid_fixture(rule_id: str) -> None:
    setup, _, _ = CASES[rule_id]
    assert findings_of(rule_id, document(setup)) == []


@pytest.mark.parametrize("rule_id", RULE_PARAMS)
def test_rule_fails_on_the_mutated_fixture(rule_id: str) -> None:
    _, mutation, fragment = CASES[rule_id]
    found = findings_of(rule_id, document(mutation))
    assert found, f"{rule_id} did not fire"
    finding = found[0]
    assert fragment in finding.message
    assert finding.location and finding.location.startswith("/cda:ClinicalDocument")
    assert finding.line is not None  # inserted elements report line 1 of their own snippet
    assert finding.hint
    assert finding.location in finding.message


@pytest.mark.requirement("BENCH-CDA-INS-KEY")
def test_ins_key_message_says_expected_and_found() -> None:
    doc = document(set_attr(INS, "extension", "221042545611404"))
    (finding,) = findings_of("BENCH-CDA-INS-KEY", doc)
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("INS key of 221042545611404 is 04, expected 83 (97 − NIR mod 97")
    assert finding.location == "/cda:ClinicalDocument/cda:recordTarget/cda:patientRole/cda:id[1]/@extension"


@pytest.mark.requirement("BENCH-CDA-INS-KEY")
def test_ins_key_reports_a_malformed_nir() -> None:
    (finding,) = findings_of("BENCH-CDA-INS-KEY", document(set_attr(INS, "extension", "577076322082910")))
    assert "sex digit" in finding.message


@pytest.mark.requirement("BENCH-CDA-INS-KEY")
def test_ins_with_null_flavor_has_no_key_to_check() -> None:
    no_ins = chain(set_attr(INS, "extension", None), set_attr(INS, "nullFlavor", "UNK"))
    assert findings_of("BENCH-CDA-INS-KEY", document(no_ins)) == []


@pytest.mark.requirement("BENCH-CDA-INS-OID")
@pytest.mark.requirement("BENCH-CDA-EMPTY-NAME")
@pytest.mark.parametrize(("mutation", "fragment"), [
    (set_text(LEGAL_ID + "/../cda:assignedPerson/cda:name/cda:given", ""), "empty given name of the legalAuthenticator"),
    (lambda root: one(root, AUTHOR_ID + "/../cda:assignedPerson/cda:name").remove(
        one(root, AUTHOR_ID + "/../cda:assignedPerson/cda:name/cda:family")), "author without a family name"),
])
def test_empty_or_missing_name_parts(mutation: Mutation, fragment: str) -> None:
    (finding,) = findings_of("BENCH-CDA-EMPTY-NAME", document(mutation))
    assert fragment in finding.message


def test_legacy_ins_c_is_refused_with_a_clear_message() -> None:
    (finding,) = findings_of("BENCH-CDA-INS-OID", document(set_attr(INS, "root", "1.2.250.1.213.1.4.2")))
    assert "legacy INS-C" in finding.message and "INSi" in (finding.hint or "")


def test_severities_follow_the_official_examples_constraint() -> None:
    warnings = {"BENCH-CDA-RPPS-KEY", "BENCH-CDA-FINESS-KEY", "BENCH-CDA-PS-ID", "BENCH-CDA-SEX-NIR",
                "BENCH-CDA-BIRTH-NIR", "BENCH-CDA-RPLC-VERSION"}
    for rule in rules.of_kind("cda"):
        expected = (Severity.INFO if rule.id == "BENCH-CDA-INS-TEST-OID"
                    else Severity.WARNING if rule.id in warnings else Severity.ERROR)
        assert rule.severity is expected, rule.id


@pytest.mark.requirement("BENCH-CDA-OID-SYNTAX")
def test_body_identifier_with_bad_root_is_only_a_warning() -> None:
    def body_id(root: etree._Element) -> None:
        one(root, BODY_TEXT).getparent().insert(0, etree.fromstring(
            '<id xmlns="urn:hl7-org:v3" root="b70d20aa-0438-4092-ad2f-e376173c00R5"/>'))
    (finding,) = findings_of("BENCH-CDA-OID-SYNTAX", document(body_id))
    assert finding.severity is Severity.WARNING


@pytest.mark.requirement("BENCH-CDA-RPPS-KEY")
def test_repeated_wrong_rpps_is_reported_once() -> None:
    wrong = chain(set_attr(AUTHOR_ID, "extension", "801234567898"), set_attr(LEGAL_ID, "extension", "801234567898"))
    (finding,) = findings_of("BENCH-CDA-RPPS-KEY", document(wrong))
    assert "1 other occurrence" in finding.message


@pytest.mark.requirement("BENCH-CDA-NONXML-CONTENT")
@pytest.mark.parametrize(("mutation", "fragment"), [
    (set_text(BODY_TEXT, "not base64!"), "does not decode"),
    (set_text(BODY_TEXT, "aGVsbG8="), "expected b'%PDF'"),
])
def test_nonxml_content_decoding(mutation: Mutation, fragment: str) -> None:
    (finding,) = findings_of("BENCH-CDA-NONXML-CONTENT", document(mutation))
    assert fragment in finding.message


@pytest.mark.requirement("BENCH-CDA-RPLC-PARENT")
def test_rplc_parent_setid_and_version() -> None:
    wrong = chain(AS_REPLACEMENT, set_attr(PARENT + "/cda:setId", "root", "1.2.250.1.999.7"),
                  set_attr(PARENT + "/cda:versionNumber", "value", "2"))
    messages = [f.message for f in findings_of("BENCH-CDA-RPLC-PARENT", document(wrong))]
    assert any("setId 1.2.250.1.999.7 differs" in m for m in messages)
    assert any("versionNumber 2 is not lower" in m for m in messages)


@pytest.mark.requirement("BENCH-CDA-DOC-CODE")
def test_document_code_against_the_package_value_set(cisis_package: Path) -> None:
    assert findings_of("BENCH-CDA-DOC-CODE", document(package_dir=cisis_package)) == []
    wrong = set_attr("/cda:ClinicalDocument/cda:code", "code", "11503-0")
    (finding,) = findings_of("BENCH-CDA-DOC-CODE", document(wrong, package_dir=cisis_package))
    assert "not in JDV_J07" in finding.message


@pytest.mark.requirement("BENCH-CDA-DOC-CODE")
def test_document_code_without_package_only_checks_the_code_system(tmp_path: Path) -> None:
    wrong = set_attr("/cda:ClinicalDocument/cda:code", "code", "11503-0")
    assert findings_of("BENCH-CDA-DOC-CODE", document(wrong)) == []
    assert findings_of("BENCH-CDA-DOC-CODE", document(wrong, package_dir=tmp_path)) == []


def test_rules_never_crash_on_a_bare_clinical_document() -> None:
    bare = etree.ElementTree(etree.fromstring(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>'))
    found = rules.run("cda", CdaDocument.from_tree(bare))
    assert all("could not be evaluated" not in f.message for f in found)


def test_package_import_registers_rules() -> None:
    assert conformance.cda.rules.CDA_RULE_IDS
    assert all(rule_id.startswith("BENCH-CDA-") for rule_id in CDA_RULE_IDS)
