"""Property tests: generated CI-SIS documents (conformance.generate.cda) pass every bench rule; a corrupted
identifier fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

import conformance.cda.rules  # noqa: F401  (registers the rules)
from conformance.cda.document import CdaDocument
from conformance.cda.pipeline import CDA_XSD, xsd_schema
from conformance.findings import Finding, Severity, rules
from conformance.generate.cda import CdaHeader, cda_headers, render_tree
from conformance.xml import NAMESPACES

PATIENT_ID = "/cda:ClinicalDocument/cda:recordTarget/cda:patientRole/cda:id[1]"


def run(tree: etree._ElementTree) -> list[Finding]:
    return rules.run("cda", CdaDocument.from_tree(tree, "synthetic.xml"))


@given(cda_headers())
def test_synthetic_documents_pass_every_rule(header: CdaHeader) -> None:
    findings = [f for f in run(render_tree(header)) if f.severity is not Severity.INFO]
    assert findings == []


@pytest.mark.requirement("BENCH-CDA-INS-KEY")
@given(cda_headers(), st.integers(1, 96))
def test_a_wrong_ins_key_is_always_an_error(header: CdaHeader, delta: int) -> None:
    tree = render_tree(header)
    nir = header.patient.nir
    wrong = nir[:13] + f"{(int(nir[13:]) + delta - 1) % 97 + 1:02d}"
    assume(wrong != nir)
    tree.getroot().xpath(PATIENT_ID, namespaces=NAMESPACES)[0].set("extension", wrong)
    assert [f.rule for f in run(tree) if f.is_error] == ["BENCH-CDA-INS-KEY"]


@settings(max_examples=20)
@given(header=cda_headers())
def test_synthetic_document_against_the_cda_schema(cisis_package: Path, header: CdaHeader) -> None:
    """Faker names and our identifiers never break the CDA schema."""
    schema = xsd_schema(cisis_package / CDA_XSD)
    assert schema.validate(render_tree(header)), schema.error_log


XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
ATTRIBUTES = st.sampled_from(["root", "extension", "code", "codeSystem", "value", "mediaType", "representation",
                              "typeCode", "nullFlavor", "qualifier"])


@given(cda_headers(), st.lists(st.tuples(st.integers(0, 200), ATTRIBUTES, XML_TEXT, st.booleans()), min_size=1,
                               max_size=6))
def test_rules_never_crash_on_corrupted_documents(header: CdaHeader, edits: list[tuple[int, str, str, bool]]) -> None:
    tree = render_tree(header)
    elements = list(tree.getroot().iter(etree.Element))
    for index, attribute, value, as_text in edits:
        element = elements[index % len(elements)]
        if as_text:
            element.text = value
        else:
            element.set(attribute, value)
    crashed = [f.message for f in run(tree) if "could not be evaluated" in f.message]
    assert crashed == []
