"""What the DMP stores is what was fed: hash, size and bytes; refusals are coded and leave no trace; duplicates,
replacements, archiving, access history and WS-Addressing correlation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from conformance.generate.xds import MUTATIONS, Mutation
from conformance.suites.server_role.team import (
    ALL_STATUSES,
    SUCCESS,
    Team,
    assert_replacement_chain,
    error_codes,
    find,
    sha1,
)
from conformance.xds import Status
from conformance.xds.queries import find_documents


@pytest.fixture(scope="module")
def team(sut_url: str, sut_embedded: bool, lps_identity: Any, synthetic_identities: Any) -> Team:
    return Team.on(sut_url, sut_embedded, lps_identity, synthetic_identities)


@pytest.fixture(scope="module")
def patient(team: Team) -> Any:
    return team.patient()


@pytest.mark.requirement("BENCH-DMP-INTEGRITY", "BENCH-DMP-TD3.2")
def test_fed_document_has_the_hash_size_and_bytes_it_was_fed_with(team: Team, patient: Any) -> None:
    content = "<ClinicalDocument xmlns='urn:hl7-org:v3'><title>intégrité</title></ClinicalDocument>".encode()
    spec = team.spec(patient, content)
    assert team.feed(spec).success
    with team.client() as client:
        entry = find(client, patient)[spec.unique_id]
        retrieved = client.retrieve([spec.unique_id], patient).xds()
    assert (entry.hash, entry.size) == (sha1(content), str(len(content))), \
        f"registry hash/size {entry.hash}/{entry.size}, expected {sha1(content)}/{len(content)}"
    assert [d.content for d in retrieved.documents] == [content], "TD3.2 did not return the fed bytes"


@pytest.mark.requirement("BENCH-DMP-REJECT")
@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name.replace(" ", "-"))
def test_invalid_submission_is_refused_with_its_code_and_leaves_no_trace(team: Team, patient: Any,
                                                                         mutation: Mutation) -> None:
    spec = team.spec(patient, b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>")
    with team.client() as client:
        before = find(client, patient, ALL_STATUSES)
        registry = client.feed(mutation.build(spec, team.identity.xades_signer()), patient).xds()
        after = find(client, patient, ALL_STATUSES)
    assert not registry.success, f"{mutation.name}: the submission was accepted"
    assert error_codes(registry)[:1] == [mutation.expected], \
        f"{mutation.name}: expected {mutation.expected}, got {error_codes(registry)}"
    assert set(after) == set(before), f"{mutation.name}: the refused submission left {set(after) - set(before)}"


@pytest.mark.requirement("BENCH-DMP-DUPLICATE")
def test_duplicate_unique_id_is_refused_and_the_first_document_kept(team: Team, patient: Any) -> None:
    first = team.spec(patient, b"<first/>")
    assert team.feed(first).success
    second = team.spec(patient, b"<second/>", unique_id=first.unique_id)
    registry = team.feed(second)
    assert not registry.success, "a second document with an already registered uniqueId was accepted"
    assert error_codes(registry)[:1] == ["XDSDuplicateUniqueIdInRegistry"], \
        f"expected XDSDuplicateUniqueIdInRegistry, got {error_codes(registry)}"
    with team.client() as client:
        retrieved = client.retrieve([first.unique_id], patient).xds()
    assert [d.content for d in retrieved.documents] == [b"<first/>"]


@pytest.mark.requirement("BENCH-DMP-REPLACE", "BENCH-XDS-RPLC")
def test_replacing_twice_keeps_exactly_one_approved_version(team: Team, patient: Any) -> None:
    specs = [team.spec(patient, f"<version n='{n}'/>".encode()) for n in range(3)]
    assert_replacement_chain(team, patient, specs)


@pytest.mark.requirement("BENCH-DMP-STATUS", "BENCH-XDS-STATUS")
def test_archiving_keeps_the_document_as_archived(team: Team, patient: Any) -> None:
    from conformance.suites.server_role.documents import update_set

    spec = team.spec(patient, b"<archive-me/>")
    assert team.feed(spec).success
    with team.client() as client:
        entry = find(client, patient)[spec.unique_id]
        registry = client.update_status(patient, update_set(patient, team.author, team.identity.structure_id),
                                        entry.id, original_status=Status.APPROVED, new_status=Status.ARCHIVED).xds()
        assert registry.success, f"TD3.3d refused: {error_codes(registry)}"
        assert spec.unique_id in find(client, patient, (Status.ARCHIVED,)), "archived document not found as Archived"
        assert spec.unique_id not in find(client, patient, (Status.DELETED,)), "archiving deleted the document"


@pytest.mark.requirement("BENCH-DMP-HISTORY")
def test_every_find_is_in_the_access_history(team: Team, patient: Any) -> None:
    def history() -> list[dict[str, Any]]:
        with httpx.Client(base_url=team.url, timeout=10.0) as http:
            return list(http.get("/history", params={"patient": patient.cx()}).json())

    before = len(history())
    with team.client() as client:
        find(client, patient)
    after = history()
    assert len(after) > before, "a TD3.1 search left no line in the patient's access history"
    assert any(h["actor"] == team.author and h["transaction"] == "TD3.1" for h in after)


@pytest.mark.requirement("BENCH-DMP-WSA-RESPONSE")
def test_response_relates_to_the_request_message_id(team: Team, patient: Any) -> None:
    from conformance.xds.builders import td31_request

    message_id = f"urn:uuid:{uuid.uuid4()}"
    with team.client() as client:
        outgoing = td31_request(find_documents(patient.cx()), security=client.vihf_factory(patient.cx()),
                                message_id=message_id)
        response = client.send_outgoing("registry", outgoing)
    assert response.message is not None and response.message.relates_to == message_id, \
        f"wsa:RelatesTo is {getattr(response.message, 'relates_to', None)!r}, expected the request's {message_id}"


@pytest.mark.requirement("BENCH-DMP-ERRORS")
def test_search_on_a_patient_without_dmp_is_refused_with_unknown_patient(team: Team) -> None:
    stranger = team.people.patient().ins
    with team.client() as client:
        answer = client.find_documents(stranger).xds()
    assert answer.status != SUCCESS, "FindDocuments on a patient without DMP succeeded"
    assert error_codes(answer)[:1] == ["XDSUnknownPatientId"], \
        f"expected XDSUnknownPatientId, got {error_codes(answer)}"
