"""Who may see what: masking, revoked authorizations, deletion by another professional, one patient per search,
authentication modes and VIHF trust (several professionals and patients seeded on the DMP under test)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from conformance.suites.server_role.checks import explain
from conformance.suites.server_role.team import OTHER_PS, SUCCESS, Team, find
from conformance.xds import Status


@pytest.fixture(scope="module")
def team(sut_url: str, sut_embedded: bool, lps_identity: Any, synthetic_identities: Any) -> Team:
    return Team.on(sut_url, sut_embedded, lps_identity, synthetic_identities)


@pytest.fixture(scope="module")
def shared(team: Team) -> Any:
    """A patient whose DMP authorizes the bench's professional and another one, and revokes a third."""
    return team.patient(authorized=[OTHER_PS[0]], revoked=[OTHER_PS[1]])


@pytest.mark.requirement("BENCH-DMP-VISIBILITY")
def test_masked_document_is_hidden_from_another_professional(team: Team, shared: Any) -> None:
    spec = team.spec(shared, b"<masked/>", masked=True)
    assert team.feed(spec).success
    with team.client() as author:
        assert spec.unique_id in find(author, shared), "the author does not see its own masked document"
    with team.client(OTHER_PS[0]) as other:
        assert spec.unique_id not in find(other, shared), "TD3.1 shows a MASQUE_PS document to another professional"
        retrieved = other.retrieve([spec.unique_id], shared).xds()
    assert not retrieved.documents, "TD3.2 gives a MASQUE_PS document to another professional"


@pytest.mark.requirement("BENCH-DMP-AUTHZ")
def test_revoked_authorization_gives_no_access(team: Team, shared: Any) -> None:
    with team.client(OTHER_PS[1]) as revoked:
        response = revoked.find_documents(shared)
    answer = response.xds() if response.fault is None and response.message is not None else None
    assert answer is None or answer.status != SUCCESS, \
        f"a professional whose authorization is revoked searched the DMP ({explain(response)})"


@pytest.mark.requirement("BENCH-DMP-TD3.3c")
def test_a_professional_cannot_delete_another_professionals_document(team: Team, shared: Any) -> None:
    from conformance.suites.server_role.documents import update_set

    spec = team.spec(shared, b"<not-yours/>")
    assert team.feed(spec).success
    with team.client() as author:
        entry = find(author, shared)[spec.unique_id]
    with team.client(OTHER_PS[0]) as other:
        registry = other.update_status(shared, update_set(shared, OTHER_PS[0], team.identity.structure_id), entry.id,
                                       original_status=Status.APPROVED, new_status=Status.DELETED).xds()
    assert not registry.success, "another professional deleted the document"
    with team.client() as author:
        assert spec.unique_id in find(author, shared), "the document is no longer Approved"


@pytest.mark.requirement("BENCH-DMP-ISOLATION")
def test_find_documents_returns_only_the_named_patients_documents(team: Team) -> None:
    first, second = team.patient(), team.patient()
    spec = team.spec(second, b"<someone-else/>")
    assert team.feed(spec).success
    with team.client() as client:
        found = find(client, first)
    assert spec.unique_id not in found, "FindDocuments on one patient returned another patient's document"


@pytest.mark.requirement("BENCH-DMP-MODES")
def test_td31_is_refused_in_indirect_mode(team: Team, suite_pki: Any) -> None:
    from conformance.client import DmpClient, signed_vihf_factory
    from conformance.vihf import AuthMode

    local_user = "ACCUEIL-01"
    patient = team.patient(authorized=[local_user])  # authorized: only the mode may refuse TD3.1
    factory = signed_vihf_factory(suite_pki.structure, mode=AuthMode.INDIRECTE, subject_id=local_user,
                                  structure_id=team.identity.structure_id)
    with DmpClient(team.url, factory) as client:
        response = client.find_documents(patient)
    answer = response.xds() if response.fault is None and response.message is not None else None
    assert answer is None or answer.status != SUCCESS, f"TD3.1 accepted in indirect mode ({explain(response)})"


@pytest.mark.requirement("BENCH-DMP-VIHF-TRUST")
@pytest.mark.parametrize("case", ["unsigned", "expired"])
def test_untrusted_vihf_is_refused(team: Team, shared: Any, case: str) -> None:
    fields: dict[str, Any] = {"signed": False} if case == "unsigned" else \
        {"issue_instant": dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)}
    with team.client(**fields) as client:
        response = client.find_documents(shared)
    assert 400 <= response.status_code < 500 and response.fault is not None, \
        f"{case} VIHF: expected a SOAP fault, got {explain(response)}"
