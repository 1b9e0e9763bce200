"""The properties of ``test_submissions.py`` through the FHIR PDSm API: ITI-65 → ITI-67 → ITI-68 on the same
generated documents, one-rule invalid bundles, duplicate masterIdentifiers, replacements (ITI-65 ``relatesTo`` or
conditional update), and
documents fed over one API read over the other (one fresh DMP patient per test)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.generate.fhir import BUNDLE_MUTATIONS, BundleMutation, provide_bundle, simplified_publish
from conformance.generate.xds import DocumentSpec, SubmissionSpec, document_specs
from conformance.suites.properties.conftest import describe, live_examples
from conformance.suites.properties.fhir import FhirDmp, conditional_update, documents, outcome_names, provide
from conformance.suites.properties.readback import assert_fhir_copy, assert_soap_copy
from conformance.suites.server_role.team import Team, error_codes

Note = Callable[[str], None]


def _provided(client: httpx.Client, spec: SubmissionSpec) -> None:
    """ITI-65 of ``spec``, which the DMP must accept with one response entry per request entry."""
    bundle = provide_bundle(spec)
    response = provide(client, bundle)
    assert response.status_code == 200, f"valid ITI-65 refused: HTTP {response.status_code} {response.text[:600]}"
    assert len(response.json().get("entry", [])) == len(bundle["entry"]), "one response entry per request entry"


@pytest.mark.requirement("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68", "BENCH-DMP-INTEGRITY",
                         "BENCH-DMP-TD3.2")
def test_valid_bundle_is_retrievable_byte_for_byte(team: Team, fhir_dmp: FhirDmp, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(document=document_specs())
    def check(document: DocumentSpec) -> None:
        minimal_example(describe(document))
        spec = replace(team.spec(patient, b""), document=document)
        with fhir_dmp.client() as client:
            _provided(client, spec)
        assert_fhir_copy(fhir_dmp, spec)

    check()


@pytest.mark.requirement("BENCH-PDSM-ITI65-INVALID", "BENCH-PDSM-ERRORS", "BENCH-DMP-REJECT", "EX_2.1-1140")
def test_invalid_bundle_is_rejected_with_its_issue_and_leaves_no_trace(team: Team, fhir_dmp: FhirDmp,
                                                                      minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(document=document_specs())
    def check(document: DocumentSpec) -> None:
        spec = replace(team.spec(patient, b""), document=document)
        for mutation in BUNDLE_MUTATIONS:  # each example tries every rule: a few cheap refusals each
            minimal_example(f"mutation: {mutation.name} (expects HTTP {mutation.status} naming {mutation.issue})\n"
                            f"{describe(document)}")
            _assert_refused(fhir_dmp, spec, mutation)

    check()


def _assert_refused(fhir_dmp: FhirDmp, spec: SubmissionSpec, mutation: BundleMutation) -> None:
    with fhir_dmp.client() as client:
        before = documents(client, spec.patient)
        response = provide(client, mutation.build(spec))
        after = documents(client, spec.patient)
    assert response.status_code == mutation.status, \
        f"{mutation.name}: expected HTTP {mutation.status}, got {response.status_code} {response.text[:600]}"
    assert response.json().get("resourceType") == "OperationOutcome", f"{mutation.name}: no OperationOutcome"
    assert mutation.issue in outcome_names(response), \
        f"{mutation.name}: the OperationOutcome does not name {mutation.issue}: {sorted(outcome_names(response))}"
    assert after == before, f"{mutation.name}: the store changed: {set(after) ^ set(before) or 'metadata'}"


@pytest.mark.requirement("BENCH-PDSM-DUPLICATE", "BENCH-DMP-DUPLICATE")
def test_duplicate_master_identifiers_are_refused(team: Team, fhir_dmp: FhirDmp, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(first=document_specs(masked=st.just(False)), second=document_specs(masked=st.just(False)))
    def check(first: DocumentSpec, second: DocumentSpec) -> None:
        minimal_example(f"first {describe(first)}\nsecond {describe(second)}")
        original = replace(team.spec(patient, b""), document=first)
        with fhir_dmp.client() as client:
            _provided(client, original)
            response = provide(client, provide_bundle(replace(original, document=second)))
        assert response.status_code == 409 and "duplicate" in outcome_names(response), \
            f"second ITI-65 of masterIdentifier {original.unique_id}: HTTP {response.status_code} " \
            f"{sorted(outcome_names(response))}"
        assert_fhir_copy(fhir_dmp, original)  # the first document was not overwritten

    check()


@pytest.mark.requirement("BENCH-PDSM-REPLACE", "BENCH-DMP-REPLACE")
def test_replacing_keeps_exactly_one_current_version(team: Team, fhir_dmp: FhirDmp, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(versions=st.lists(document_specs(masked=st.just(False)), min_size=2, max_size=4), data=st.data())
    def check(versions: list[DocumentSpec], data: st.DataObject) -> None:
        by_update = data.draw(st.lists(st.booleans(), min_size=len(versions) - 1, max_size=len(versions) - 1))
        minimal_example("\n".join(f"version {n}{' (conditional update)' if n and by_update[n - 1] else ''}: "
                                   f"{describe(v)}" for n, v in enumerate(versions)))
        specs = [replace(team.spec(patient, b""), document=v) for v in versions]
        with fhir_dmp.client() as client:
            _provided(client, specs[0])
            for (previous, new), update in zip(pairwise(specs), by_update, strict=True):
                if update:
                    response = conditional_update(client, previous.unique_id, simplified_publish(new))
                    assert response.status_code == 201, \
                        f"replacement by conditional update refused: HTTP {response.status_code} {response.text[:600]}"
                else:
                    target = documents(client, patient)[previous.unique_id]["id"]
                    _provided(client, replace(new, replaces=f"DocumentReference/{target}"))
            current = documents(client, patient, "current")
            superseded = documents(client, patient, "superseded")
        chain = [s.unique_id for s in specs]
        assert [u for u in chain if u in current] == chain[-1:], \
            f"current versions after {len(chain) - 1} replacement(s): {[u for u in chain if u in current]}"
        assert set(chain[:-1]) <= set(superseded), \
            f"replaced versions not superseded: {sorted(set(chain[:-1]) - set(superseded))}"
        assert {superseded[u]["status"] for u in chain[:-1]} == {"superseded"}, "status of a replaced version"

    check()


@pytest.mark.requirement("BENCH-PDSM-CROSS", "BENCH-DMP-INTEGRITY", "BENCH-DMP-TD3.2")
def test_a_document_fed_over_one_api_is_the_same_over_the_other(team: Team, fhir_dmp: FhirDmp,
                                                                minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(document=document_specs(), over_fhir=st.booleans())
    def check(document: DocumentSpec, over_fhir: bool) -> None:
        minimal_example(f"fed over {'FHIR (ITI-65)' if over_fhir else 'SOAP (TD2.1)'}\n{describe(document)}")
        spec = replace(team.spec(patient, b""), document=document)
        if over_fhir:
            with fhir_dmp.client() as client:
                _provided(client, spec)
        else:
            registry = team.feed(spec)
            assert registry.success, f"valid submission refused: {error_codes(registry)}"
        assert_soap_copy(team, spec)
        assert_fhir_copy(fhir_dmp, spec)

    check()
