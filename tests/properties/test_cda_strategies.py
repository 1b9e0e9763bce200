"""The CDA generators: documents valid against the whole official pipeline, and XDS metadata that the
CDA ↔ metadata coherence rules accept, each one-field contradiction being reported by exactly its rule."""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import conformance.xds.rules  # noqa: F401  (registers the xds and coherence rules)
from conformance.cda.pipeline import validate_cda
from conformance.findings import Finding, rules
from conformance.generate.cda import DOCUMENT_TYPES, CdaHeader, cda_documents, cda_headers, render
from conformance.generate.xds import (
    COHERENCE_MUTATIONS,
    SubmissionSpec,
    build_submission,
    document_entries_for,
    document_entry,
    document_specs,
    replacement_chain,
    submissions_from_cda,
)
from conformance.identity.strategies import patients
from conformance.identity.synthetic import Patient
from conformance.pki import TestPki
from conformance.xds import builders
from conformance.xds.rules import XdsCheck

COHERENCE = frozenset(r.id for r in rules.of_kind("xds") if r.requirement == "BENCH-XDS-COHERENCE")


@pytest.fixture(scope="module")
def profiles_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's schematron build cache, the one the CDA pipeline and CLI tests use: the engine of the
    package (process-wide, keyed by this folder) compiles the profils once for all of them."""
    return tmp_path_factory.getbasetemp() / "shared-profiles"


def _xds_findings(spec: SubmissionSpec, **entry: object) -> list[Finding]:
    request = build_submission(spec, entry=replace(document_entry(spec), **entry) if entry else None)
    return rules.run("xds", XdsCheck(request, transaction="TD2.1"))


@pytest.mark.requirement("BENCH-CDA-VALID")
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_generated_documents_pass_the_official_pipeline(cisis_package: Path, profiles_dir: Path,
                                                        data: st.DataObject) -> None:
    """XSD, the five CI-SIS profils (no volet: non-structured body) and the bench rules find no error, for
    every document type of the generator."""
    for document_type in DOCUMENT_TYPES:
        document = data.draw(cda_documents(document_types=[document_type]), label=document_type.type_code.code)
        result = validate_cda(document, "generated.xml", cisis_package, profiles_dir=profiles_dir)
        errors = [f"{f.rule}: {f.message} at {f.location}" for f in result.findings if f.is_error]
        assert errors == []
        assert result.details["routing"]["volet"] is None
        assert [s["status"] for s in result.details["schematrons"]] == ["ok"] * 5


@pytest.mark.requirement("BENCH-XDS-COHERENCE")
@settings(max_examples=25)
@given(spec=submissions_from_cda())
def test_metadata_derived_from_the_header_pass_the_xds_rules(spec: SubmissionSpec) -> None:
    findings = _xds_findings(spec)
    assert [f for f in findings if f.is_error or f.rule in COHERENCE] == []
    request = build_submission(spec)
    submission_set, entry = request.metadata.submission_set, request.metadata.document_entries[0]
    assert submission_set is not None and submission_set.patient_id == entry.patient_id
    assert submission_set.authors == entry.authors[:1]  # the SubmissionSet is submitted by the first author


@pytest.mark.requirement("BENCH-XDS-COHERENCE")
@settings(max_examples=15)
@given(spec=submissions_from_cda())
def test_each_coherence_mutation_is_reported_by_its_rule_only(spec: SubmissionSpec) -> None:
    assert spec.document.cda is not None
    valid = document_entry(spec)
    for mutation in COHERENCE_MUTATIONS:
        broken = mutation.apply(spec.document.cda, valid)
        changed = {f.name for f in fields(valid) if getattr(valid, f.name) != getattr(broken, f.name)}
        assert changed == {mutation.field}, mutation.name
        reported = {f.rule for f in _xds_findings(spec, **{mutation.field: getattr(broken, mutation.field)})}
        assert reported & COHERENCE == {mutation.rule}, mutation.name


def test_the_coherence_mutations_cover_every_entry_rule() -> None:
    """Every coherence rule on a DocumentEntry field has its mutation (the RPLC rule is about associations)."""
    assert {m.rule for m in COHERENCE_MUTATIONS} == COHERENCE - {"BENCH-XDS-CDA-RPLC"}


@settings(max_examples=25)
@given(header=cda_headers())
def test_header_mapping_agrees_with_the_lps_builder(header: CdaHeader) -> None:
    """Two independent paths, the typed header and the parsed CDA (builders.document_entry_from_cda), give the
    same metadata."""
    ours = document_entries_for(header)
    parsed = builders.document_entry_from_cda(render(header), entry_id=ours.id, class_code=ours.class_code,
                                              format_code=ours.format_code)
    compared = ("unique_id", "patient_id", "source_patient_id", "title", "type_code", "confidentiality_codes",
                "creation_time", "service_start_time", "service_stop_time", "language_code", "legal_authenticator",
                "healthcare_facility_type_code", "practice_setting_code")
    assert {name: getattr(parsed, name) for name in compared} == {name: getattr(ours, name) for name in compared}
    assert [(a.person, a.institutions, a.specialties) for a in parsed.authors] == \
        [(a.person, a.institutions, a.specialties) for a in ours.authors]


@settings(max_examples=10)
@given(patient=patients(), data=st.data())
def test_cda_documents_for_a_dmp_patient_and_the_vihf_subject(patient: Patient, data: st.DataObject) -> None:
    """How a property suite feeds real CDA documents: the spec's patient and author are the CDA's, its uniqueId
    the CDA id, and a chain of versions is a coherent RPLC chain."""
    ins = patient.ins
    documents = document_specs(kind="cda", patient=ins, author_id=TestPki.PS_ID_NAT,
                               structure_id=TestPki.STRUCTURE_ID)
    versions = replacement_chain(data.draw(st.lists(documents, min_size=2, max_size=3)))
    base = SubmissionSpec(ins, versions[0], TestPki.PS_ID_NAT, TestPki.STRUCTURE_ID)
    for number, version in enumerate(versions, start=1):
        assert version.cda is not None and version.cda.version == number
        assert version.cda.set_id == versions[0].cda.set_id  # type: ignore[union-attr]
        spec = replace(base, document=version, replaces="urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"
                       if number > 1 else None)
        assert spec.unique_id == version.cda.document_id and spec.document.content == render(version.cda)
        entry = document_entry(spec)
        assert (entry.hash, entry.size) == (hashlib.sha1(spec.document.content).hexdigest(),
                                            str(len(spec.document.content)))
        assert TestPki.PS_ID_NAT in (entry.authors[0].person or "")
        assert TestPki.STRUCTURE_ID in entry.authors[0].institutions[0]
        assert [f for f in _xds_findings(spec) if f.is_error or f.rule in COHERENCE] == []


@settings(max_examples=3)
@given(spec=submissions_from_cda(), other=patients())
def test_a_cda_about_another_patient_is_refused_before_building(spec: SubmissionSpec, other: Patient) -> None:
    assume(other.ins != spec.patient)
    with pytest.raises(ValueError, match="document_specs"):
        build_submission(replace(spec, patient=other.ins))
