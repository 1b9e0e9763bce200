"""Authentication and access modes end to end: indirect mode, break-glass, a minor's secret connection."""

from __future__ import annotations

import pytest

from conformance.identity import Ins
from conformance.pki import TestPki
from conformance.server.access import ActorKind, Caller, DmpState, check_visible
from conformance.server.exchange import facts_of
from conformance.server.seed import PatientSeed, seed_patient
from conformance.store import AuthorizationStatus
from conformance.vihf import AuthMode, CodedValue
from conformance.xds import AdhocQueryResponse, RegistryResponse
from conformance.xds.queries import get_documents
from tests.server.conftest import PATIENT, STRANGER, RunningServer
from tests.server.factory import feed_request

BREAK_GLASS = CodedValue("bris_de_glace", "1.2.250.1.213.1.1.4.248", "Accès en mode bris de glace")
MINOR = Ins("210067512345628", PATIENT.oid)


@pytest.mark.requirement("EX_2.1-1140", "RG_3110")
def test_indirect_mode_feeds_as_the_structure_and_uses_td31b_not_td31(dmp: RunningServer) -> None:
    local_user = "ACCUEIL-01"
    patient = dmp.store.patient(PATIENT.cx())
    assert patient is not None
    dmp.store.set_authorization(patient.id, local_user, AuthorizationStatus.GRANTED)
    request, document = feed_request(PATIENT, b"<indirect/>", person_id="899900000001")  # another PS authored it
    with dmp.client(local_user, mode=AuthMode.INDIRECTE, signer="structure") as client:
        fed = client.feed(request, PATIENT).xds()
        search = client.find_documents(PATIENT).xds()
        lookup = client.query(get_documents(unique_ids=[document.unique_id or ""]), PATIENT).xds()
    assert isinstance(fed, RegistryResponse) and fed.success, fed.errors  # the structure is an authorInstitution
    assert search.errors[0].error_code == "DMPAccessDenied" and "indirect" in search.errors[0].code_context
    assert isinstance(lookup, AdhocQueryResponse) and [e.unique_id for e in lookup.objects.document_entries] == [
        document.unique_id]


def test_indirect_mode_needs_the_structure_among_the_authors(dmp: RunningServer) -> None:
    request, _ = feed_request(PATIENT, structure_id="1OTHERSTRUCT")
    with dmp.client("ACCUEIL-01", mode=AuthMode.INDIRECTE, signer="structure") as client:
        fed = client.feed(request, PATIENT).xds()
    assert not fed.success and "Aucun AuthorInstitution" in fed.errors[0].code_context


def test_break_glass_reads_a_masked_document_and_is_traced(dmp: RunningServer) -> None:
    request, document = feed_request(PATIENT, b"<masked-emergency/>", masked=True)
    with dmp.client() as client:
        assert client.feed(request, PATIENT).xds().success
    with dmp.client(STRANGER, purpose=BREAK_GLASS) as client:
        found = client.find_documents(PATIENT).xds()
        retrieved = client.retrieve([document.unique_id or ""], PATIENT).xds()
    assert document.unique_id in {e.unique_id for e in found.objects.document_entries}
    assert retrieved.documents[0].content == b"<masked-emergency/>"
    modes = {h.mode for h in dmp.store.access_history(PATIENT.cx(), actor_id=STRANGER)}
    assert modes == {"break_glass"}


@pytest.mark.requirement("EX_0.1-1100")
def test_a_minors_secret_connection_hides_the_document_from_legal_representatives(dmp: RunningServer) -> None:
    seed_patient(dmp.store, PatientSeed(MINOR.value, MINOR.oid, family_name="JEUNE", minor=True,
                                        authorizations=[(TestPki.PS_ID_NAT, AuthorizationStatus.GRANTED, False)]))
    request, document = feed_request(MINOR, b"<secret/>")
    with dmp.client(confidentiality_code="INVISIBLE_REPRESENTANTS_LEGAUX") as client:
        assert client.feed(request, MINOR).xds().success
    [entry] = dmp.store.entries(unique_ids=[document.unique_id or ""])
    assert "INVISIBLE_REPRESENTANTS_LEGAUX^^1.2.250.1.213.1.1.4.13" in entry.metadata_json["confidentialityCodes"]
    # Legal representatives read through Mon espace santé, not an LPS: the stored entry is judged by the rule.
    dmp_state = DmpState(minor=True)
    parent = Caller("PARENT-1", kind=ActorKind.LEGAL_REPRESENTATIVE)
    assert not check_visible(parent, dmp_state, facts_of(entry))
    assert check_visible(Caller("MINOR", kind=ActorKind.PATIENT), dmp_state, facts_of(entry))
