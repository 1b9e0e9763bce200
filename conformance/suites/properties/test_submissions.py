"""Properties of TD2.1 → TD3.1 → TD3.2 on generated submissions (one fresh DMP patient per test); the same
properties through the FHIR PDSm API are in ``test_fhir_submissions.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.generate.xds import DocumentSpec, Mutation, document_specs, mutations
from conformance.suites.properties.conftest import describe, live_examples
from conformance.suites.properties.readback import assert_soap_copy
from conformance.suites.server_role.team import (
    ALL_STATUSES,
    Team,
    assert_replacement_chain,
    error_codes,
    find,
)

Note = Callable[[str], None]


@pytest.mark.requirement("BENCH-DMP-INTEGRITY", "BENCH-DMP-TD2.1", "BENCH-DMP-TD3.2")
def test_valid_submission_is_retrievable_byte_for_byte(team: Team, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(document=document_specs())
    def check(document: DocumentSpec) -> None:
        minimal_example(describe(document))
        spec = replace(team.spec(patient, b""), document=document)
        registry = team.feed(spec)
        assert registry.success, f"valid submission refused: {error_codes(registry)}"
        assert_soap_copy(team, spec)

    check()


@pytest.mark.requirement("BENCH-DMP-REJECT", "EX_2.1-1140")
def test_invalid_submission_is_rejected_with_its_code_and_leaves_no_trace(team: Team, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(document=document_specs(), mutation=mutations())
    def check(document: DocumentSpec, mutation: Mutation) -> None:
        minimal_example(f"mutation: {mutation.name} (expects {mutation.expected})\n{describe(document)}")
        spec = replace(team.spec(patient, b""), document=document)
        with team.client() as client:
            before = find(client, patient, ALL_STATUSES)
            registry = client.feed(mutation.build(spec, team.identity.xades_signer()), patient).xds()
            after = find(client, patient, ALL_STATUSES)
            retrieved = client.retrieve([spec.unique_id], patient).xds()
        assert not registry.success, f"{mutation.name}: accepted"
        assert error_codes(registry)[:1] == [mutation.expected], \
            f"{mutation.name}: expected {mutation.expected}, got {error_codes(registry)}"
        assert set(after) == set(before), f"{mutation.name}: the store changed: {set(after) ^ set(before)}"
        assert not retrieved.documents, f"{mutation.name}: the refused document can be retrieved"

    check()


@pytest.mark.requirement("BENCH-DMP-DUPLICATE")
def test_duplicate_unique_ids_are_refused(team: Team, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(first=document_specs(masked=st.just(False)), second=document_specs(masked=st.just(False)))
    def check(first: DocumentSpec, second: DocumentSpec) -> None:
        minimal_example(f"first {describe(first)}\nsecond {describe(second)}")
        original = replace(team.spec(patient, b""), document=first)
        assert team.feed(original).success
        registry = team.feed(replace(original, document=second))
        assert error_codes(registry)[:1] == ["XDSDuplicateUniqueIdInRegistry"], \
            f"second feed of uniqueId {original.unique_id}: {error_codes(registry) or 'accepted'}"
        with team.client() as client:
            retrieved = client.retrieve([original.unique_id], patient).xds()
        assert [d.content for d in retrieved.documents] == [first.content], "the first document was overwritten"

    check()


@pytest.mark.requirement("BENCH-DMP-REPLACE", "BENCH-XDS-RPLC")
def test_replacing_keeps_exactly_one_approved_version(team: Team, minimal_example: Note) -> None:
    patient = team.patient()

    @live_examples()
    @given(versions=st.lists(document_specs(masked=st.just(False)), min_size=2, max_size=4))
    def check(versions: list[DocumentSpec]) -> None:
        minimal_example("\n".join(f"version {n}: {describe(v)}" for n, v in enumerate(versions)))
        assert_replacement_chain(team, patient, [replace(team.spec(patient, b""), document=v) for v in versions])

    check()
