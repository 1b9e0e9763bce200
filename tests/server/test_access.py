"""Access rules, table-driven: every decision, its reason code and its requirement."""

from __future__ import annotations

import pytest

from conformance.server.access import (
    ACCESS_DENIED,
    AUTHOR_MISMATCH,
    DMP_CLOSED,
    UNKNOWN_DOCUMENT,
    UNKNOWN_PATIENT,
    ActorKind,
    AuthMode,
    Caller,
    DmpState,
    DocumentFacts,
    check_author,
    check_delete,
    check_dmp_access,
    check_feed,
    check_replace,
    check_transaction,
    check_update,
    check_visible,
    feed_confidentiality,
)
from conformance.store.types import AccessMode, AuthorizationStatus, DmpStatus, EntryStatus

PS = "899900063480"
OTHER_PS = "810000000002"
STRUCT = "499900063480001"
G = AuthorizationStatus.GRANTED

direct = Caller(PS, STRUCT)
other = Caller(OTHER_PS, "1OTHER")
indirect = Caller("local-user", STRUCT, AuthMode.INDIRECT)
indirect_other = Caller("local-user", "1OTHER", AuthMode.INDIRECT)
break_glass = Caller(OTHER_PS, access_mode=AccessMode.BREAK_GLASS)
regulation = Caller(OTHER_PS, access_mode=AccessMode.REGULATION)
patient = Caller("patient", kind=ActorKind.PATIENT)
representative = Caller("parent", kind=ActorKind.LEGAL_REPRESENTATIVE)

granted = DmpState(authorization=G)
own = DocumentFacts(author_persons=(PS,), author_institutions=(STRUCT,))
masked = DocumentFacts(confidentiality_codes=("N", "MASQUE_PS^^1.2.250.1.213.1.1.4.13"), author_persons=(PS,),
                       author_institutions=(STRUCT,))
invisible_patient = DocumentFacts(confidentiality_codes=("INVISIBLE_PATIENT",))
invisible_reps = DocumentFacts(confidentiality_codes=("INVISIBLE_REPRESENTANTS_LEGAUX",))


@pytest.mark.parametrize(("caller", "dmp", "writing", "allowed", "code"), [
    (direct, granted, False, True, None),
    (direct, DmpState(exists=False), False, False, UNKNOWN_PATIENT),
    (direct, DmpState(status=DmpStatus.CLOSED, authorization=G), False, False, DMP_CLOSED),
    (direct, DmpState(), False, False, ACCESS_DENIED),
    (direct, DmpState(authorization=AuthorizationStatus.REVOKED), False, False, ACCESS_DENIED),
    (direct, DmpState(authorization=AuthorizationStatus.BLOCKED), False, False, ACCESS_DENIED),
    (break_glass, DmpState(), False, True, None),
    (regulation, DmpState(), False, True, None),
    (break_glass, DmpState(authorization=AuthorizationStatus.BLOCKED), False, False, ACCESS_DENIED),
    (break_glass, DmpState(opposes_break_glass=True), False, False, ACCESS_DENIED),
    (regulation, DmpState(opposes_regulation=True), False, False, ACCESS_DENIED),
    (regulation, DmpState(opposes_break_glass=True), False, True, None),
    (patient, DmpState(), False, True, None),
    (patient, DmpState(), True, False, ACCESS_DENIED),
    (representative, DmpState(), False, True, None),
])
def test_dmp_access(caller: Caller, dmp: DmpState, writing: bool, allowed: bool, code: str | None) -> None:
    decision = check_dmp_access(caller, dmp, writing=writing)
    assert (decision.allowed, decision.code) == (allowed, code), decision.reason
    assert bool(decision) is allowed and decision.reason


@pytest.mark.requirement("EX_2.1-1140")
@pytest.mark.parametrize(("caller", "authors", "institutions", "legal", "allowed"), [
    (direct, [PS], [], None, True),
    (direct, ["x"], [STRUCT], PS, True),  # legal authenticator
    (direct, ["x"], [STRUCT], None, False),  # structure alone is not enough in direct mode
    (indirect, [], [STRUCT], None, True),
    (indirect, ["local-user"], ["1OTHER"], None, False),  # person alone is not enough in indirect mode
    (Caller("u", None, AuthMode.INDIRECT_REINFORCED), [], [STRUCT], None, False),
    (Caller("u", STRUCT, AuthMode.INDIRECT_REINFORCED), [], [STRUCT], None, True),
])
def test_author_rule(caller: Caller, authors: list[str], institutions: list[str], legal: str | None,
                     allowed: bool) -> None:
    decision = check_author(caller, authors, institutions, legal)
    assert decision.allowed is allowed and decision.requirement == "EX_2.1-1140"
    if not allowed:
        assert decision.code == AUTHOR_MISMATCH


def test_indirect_author_mismatch_uses_the_dmp_message() -> None:
    assert "Aucun AuthorInstitution" in check_author(indirect_other, [], [STRUCT]).reason


@pytest.mark.requirement("EX_2.1-1140")
@pytest.mark.parametrize(("caller", "dmp", "documents", "allowed", "code"), [
    (direct, granted, [own], True, None),
    (direct, granted, [own, DocumentFacts(author_persons=(OTHER_PS,))], False, AUTHOR_MISMATCH),
    (other, granted, [own], False, AUTHOR_MISMATCH),
    (direct, DmpState(), [own], False, ACCESS_DENIED),
    (indirect, granted, [own], True, None),
    (patient, granted, [own], False, ACCESS_DENIED),
    (direct, DmpState(status=DmpStatus.CLOSED, authorization=G), [own], False, DMP_CLOSED),
])
def test_feed(caller: Caller, dmp: DmpState, documents: list[DocumentFacts], allowed: bool, code: str | None) -> None:
    decision = check_feed(caller, dmp, documents)
    assert (decision.allowed, decision.code) == (allowed, code), decision.reason


@pytest.mark.parametrize(("caller", "replaced", "allowed", "code"), [
    (direct, own, True, None),
    (direct, DocumentFacts(author_persons=(OTHER_PS,)), False, AUTHOR_MISMATCH),
    (direct, DocumentFacts(status=EntryStatus.DEPRECATED.value, author_persons=(PS,)), False,
     "XDSRegistryDeprecatedDocumentError"),
])
def test_replace(caller: Caller, replaced: DocumentFacts, allowed: bool, code: str | None) -> None:
    decision = check_replace(caller, granted, replaced, [own])
    assert (decision.allowed, decision.code) == (allowed, code), decision.reason


patient_doc = DocumentFacts(class_code="90^^1.2.250.1.213.1.1.4.1", author_persons=("patient",))


@pytest.mark.parametrize(("caller", "dmp", "document", "allowed", "code"), [
    (direct, granted, own, True, None),
    (other, DmpState(authorization=G), own, False, AUTHOR_MISMATCH),
    (indirect, granted, own, True, None),
    (indirect_other, granted, own, False, AUTHOR_MISMATCH),
    (direct, granted, patient_doc, False, ACCESS_DENIED),
    (direct, DmpState(authorization=G, attending=True), patient_doc, True, None),
    (direct, DmpState(), own, False, ACCESS_DENIED),
])
def test_delete(caller: Caller, dmp: DmpState, document: DocumentFacts, allowed: bool, code: str | None) -> None:
    decision = check_delete(caller, dmp, document)
    assert (decision.allowed, decision.code) == (allowed, code), decision.reason


@pytest.mark.parametrize(("caller", "document", "allowed"), [
    (direct, own, True),
    (other, own, True),
    (direct, masked, True),  # its author
    (indirect, masked, True),  # the author structure
    (other, masked, False),
    (indirect_other, masked, False),
    (break_glass, masked, True),
    (regulation, masked, True),
    (other, invisible_patient, True),  # professionals still read it
    (other, DocumentFacts(status=EntryStatus.ARCHIVED.value), True),
    (other, DocumentFacts(status=EntryStatus.DEPRECATED.value), True),
    (patient, masked, True),
    (patient, invisible_patient, False),
    (patient, invisible_reps, True),
    (representative, invisible_patient, False),
    (representative, invisible_reps, False),
    (representative, own, True),
])
def test_visibility(caller: Caller, document: DocumentFacts, allowed: bool) -> None:
    dmp = granted if caller.kind is ActorKind.PROFESSIONAL and caller.access_mode is AccessMode.NORMAL \
        else DmpState()
    decision = check_visible(caller, dmp, document)
    assert decision.allowed is allowed, decision.reason
    if not allowed:
        assert decision.code == UNKNOWN_DOCUMENT


def test_break_glass_on_a_masked_document_respects_the_patients_opposition() -> None:
    decision = check_visible(break_glass, DmpState(authorization=G, opposes_break_glass=True), masked)
    assert not decision and decision.code == UNKNOWN_DOCUMENT


def test_visibility_needs_dmp_access_first() -> None:
    assert check_visible(other, DmpState(), own).code == ACCESS_DENIED


@pytest.mark.parametrize(("caller", "document", "allowed"), [
    (direct, masked, True), (other, masked, False), (other, own, True),
])
def test_update_needs_visibility(caller: Caller, document: DocumentFacts, allowed: bool) -> None:
    assert check_update(caller, granted, document).allowed is allowed


@pytest.mark.requirement("EX_0.1-1100")
@pytest.mark.parametrize(("minor", "secret", "codes", "expected"), [
    (True, True, ["N"], ["N", "INVISIBLE_REPRESENTANTS_LEGAUX^^1.2.250.1.213.1.1.4.13"]),
    (True, True, ["INVISIBLE_REPRESENTANTS_LEGAUX"], ["INVISIBLE_REPRESENTANTS_LEGAUX"]),
    (True, False, ["N"], ["N"]),
    (False, True, ["N"], ["N"]),
])
def test_secret_connection_of_a_minor(minor: bool, secret: bool, codes: list[str], expected: list[str]) -> None:
    caller = Caller(PS, secret_connection=secret)
    assert feed_confidentiality(caller, DmpState(minor=minor, authorization=G), codes) == expected
    # the same when the secret connection is recorded on the DMP rather than carried by the VIHF
    on_dmp = DmpState(minor=minor, secret_connection=secret, authorization=G)
    assert feed_confidentiality(Caller(PS), on_dmp, codes) == expected


@pytest.mark.parametrize(("caller", "transaction", "dmp", "allowed"), [
    (direct, "TD0.5", None, False),
    (regulation, "TD0.5", None, True),
    (indirect, "TD0.5", None, True),
    (indirect, "TD3.1", None, False),
    (indirect, "TD3.2", None, False),
    (Caller("u", STRUCT, AuthMode.INDIRECT_REINFORCED), "TD3.2", None, True),
    (indirect, "TD3.1b", None, True),
    (direct, "TD3.1", None, True),
    (direct, "TD1.4", DmpState(), False),
    (direct, "TD1.4", DmpState(attached_to_mes=False), True),
    (direct, "TD1.1", None, False),
])
def test_transaction_modes(caller: Caller, transaction: str, dmp: DmpState | None, allowed: bool) -> None:
    assert check_transaction(caller, transaction, dmp).allowed is allowed
