"""The generators: submissions consistent with their bytes, mutations that break exactly one thing, VIHF in every
mode that our verifier authenticates, PDSm bundles, and the fault registry."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.generate import DocumentSpec, SubmissionSpec, build_submission, document_specs, mutations
from conformance.generate.fhir import iti65_bundles
from conformance.generate.vihf import vihfs
from conformance.generate.xds import MUTATIONS, Mutation, document_entry
from conformance.identity import Ins
from conformance.identity.strategies import patients
from conformance.pki import TestPki
from conformance.server.faults import FAULTS, UnknownFault, install
from conformance.vihf import AuthMode, VihfPolicy, sign_vihf, verify_vihf

AUTHOR, STRUCTURE = TestPki.PS_ID_NAT, TestPki.STRUCTURE_ID


def _spec(patient: Any, document: DocumentSpec) -> SubmissionSpec:
    return SubmissionSpec(Ins(patient.ins.value, patient.ins.oid), document, AUTHOR, STRUCTURE)


@settings(max_examples=25)
@given(patient=patients(), document=document_specs())
def test_submission_is_consistent_with_its_document(patient: Any, document: DocumentSpec) -> None:
    spec = _spec(patient, document)
    request = build_submission(spec)
    entry = next(e for e in request.metadata.document_entries if e.unique_id == spec.unique_id)
    assert entry.hash == hashlib.sha1(document.content).hexdigest() and entry.size == str(len(document.content))
    assert request.documents[entry.id] == document.content
    assert entry.patient_id == request.metadata.submission_set.patient_id == spec.patient.cx()
    assert AUTHOR in (entry.authors[0].person or "") and AUTHOR in (entry.legal_authenticator or "")
    assert ("MASQUE_PS" in {c.code for c in entry.confidentiality_codes}) is document.masked


@settings(max_examples=25)
@given(patient=patients(), document=document_specs(), mutation=mutations())
def test_a_mutation_changes_exactly_the_field_of_its_rule(patient: Any, document: DocumentSpec,
                                                          mutation: Mutation) -> None:
    spec = _spec(patient, document)
    valid = document_entry(spec)
    _, broken = mutation.apply(spec, valid)
    changed = {f.name for f in fields(valid) if getattr(valid, f.name) != getattr(broken, f.name)}
    expected = {"hash differs from the bytes": {"hash"}, "size differs from the bytes": {"size"},
                "author is not the VIHF subject": {"authors", "legal_authenticator"}}[mutation.name]
    assert changed == expected
    assert mutation.expected.startswith("XDS")


def test_every_mutation_names_a_catalogued_requirement() -> None:
    from conformance.requirements import load_catalogue

    catalogue = load_catalogue()
    assert all(m.rule in catalogue for m in MUTATIONS)


@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_vihf_in_every_mode_is_authenticated_by_our_verifier(data: st.DataObject) -> None:
    pki = TestPki.generate("strategies")
    mode = data.draw(st.sampled_from(list(AuthMode)))
    signer = pki.ps_signature if mode is AuthMode.DIRECTE else pki.structure
    vihf = data.draw(vihfs(signer, modes=st.just(mode)))
    result = verify_vihf(sign_vihf(vihf, signer), VihfPolicy(trust=pki.trust))
    assert result.authenticated, [f.message for f in result.findings if f.is_error]
    assert result.vihf is not None and result.vihf.auth_mode == mode.value


@settings(max_examples=10, deadline=None)
@given(bundle=iti65_bundles())
def test_pdsm_bundles_pair_each_document_reference_with_a_binary(bundle: dict[str, Any]) -> None:
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert bundle["type"] == "transaction" and types.count("DocumentReference") == types.count("Binary") >= 1


def test_fault_registry_has_twenty_named_faults_each_breaking_a_requirement() -> None:
    assert len(FAULTS) >= 20
    assert all(f.name == name and f.breaks and f.description for name, f in FAULTS.items())


def test_unknown_fault_is_refused_before_anything_is_installed() -> None:
    with pytest.raises(UnknownFault, match="no-such-fault"):
        install(["no-such-fault"])


def test_serve_refuses_an_unknown_fault() -> None:
    from typer.testing import CliRunner

    from conformance.cli import app

    result = CliRunner().invoke(app, ["serve", "--fault", "no-such-fault", "--port", "0"])
    assert result.exit_code == 2 and "unknown fault" in result.output
