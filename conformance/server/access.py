"""Access rules of the reference DMP: pure functions on small domain objects.

Each rule returns a :class:`Decision`: allowed or not, the reason in words, the error code the server
answers with and the requirement it implements. Sources: FI526 rights matrix and domain.md §1.2 (masking,
visibility), EX_2.1-1140 (author rule), transactions.md §6. The DMP's own error codes for access refusals
are not public: :data:`ACCESS_DENIED` and :data:`AUTHOR_MISMATCH` are the bench's names (unverified).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from conformance.store.types import AccessMode, AuthorizationStatus, DmpStatus, EntryStatus

MASQUE_PS = "MASQUE_PS"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
INVISIBLE_REPRESENTANTS_LEGAUX = "INVISIBLE_REPRESENTANTS_LEGAUX"
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"  # TRE_A07
PATIENT_CLASS_CODE = "90"  # documents déposés par le patient

ACCESS_DENIED = "DMPAccessDenied"
AUTHOR_MISMATCH = "XDSRepositoryMetadataError"
UNKNOWN_PATIENT = "XDSUnknownPatientId"
DMP_CLOSED = "DMPClosed"
UNKNOWN_DOCUMENT = "XDSDocumentUniqueIdError"


class AuthMode(StrEnum):
    DIRECT = "DIRECTE"
    INDIRECT = "INDIRECTE"
    INDIRECT_REINFORCED = "INDIRECTE_RENFORCEE"


class ActorKind(StrEnum):
    PROFESSIONAL = "professional"
    PATIENT = "patient"
    LEGAL_REPRESENTATIVE = "legal_representative"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls, as the VIHF says: NameID, structure, authentication and access modes."""

    actor_id: str
    structure_id: str | None = None
    auth_mode: AuthMode = AuthMode.DIRECT
    access_mode: AccessMode = AccessMode.NORMAL
    kind: ActorKind = ActorKind.PROFESSIONAL
    role_code: str | None = None
    secret_connection: bool = False  # VIHF confidentiality-code INVISIBLE_REPRESENTANTS_LEGAUX

    @property
    def indirect(self) -> bool:
        return self.auth_mode is not AuthMode.DIRECT


@dataclass(frozen=True, slots=True)
class DmpState:
    """What the rules need to know of a patient's DMP and of the caller's authorization on it."""

    exists: bool = True
    status: DmpStatus = DmpStatus.OPEN
    authorization: AuthorizationStatus | None = None
    attending: bool = False  # the caller is the médecin traitant DMP
    minor: bool = False
    secret_connection: bool = False  # the minor asked for secret access: fed documents hide from representatives
    attached_to_mes: bool = True
    opposes_break_glass: bool = False  # the patient refused break-glass access (OPPOSITION_BRIS_DE_GLACE)
    opposes_regulation: bool = False  # the patient refused access by the centre de régulation (OPPOSITION_ACCES_URGENCE)


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    status: str = EntryStatus.APPROVED.value
    confidentiality_codes: tuple[str, ...] = ()  # plain codes (N, MASQUE_PS…) or code^^scheme
    author_persons: tuple[str, ...] = ()
    author_institutions: tuple[str, ...] = ()
    legal_authenticator: str | None = None
    class_code: str | None = None

    def has_code(self, code: str) -> bool:
        return any(c.partition("^^")[0] == code for c in self.confidentiality_codes)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    code: str | None = None
    requirement: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def allow(reason: str, requirement: str | None = None) -> Decision:
    return Decision(True, reason, None, requirement)


def deny(reason: str, code: str, requirement: str | None = None) -> Decision:
    return Decision(False, reason, code, requirement)


def _special_mode(caller: Caller, dmp: DmpState) -> bool:
    """Break-glass or centre de régulation access, unless the patient opposed that mode."""
    if caller.access_mode is AccessMode.BREAK_GLASS:
        return not dmp.opposes_break_glass
    if caller.access_mode is AccessMode.REGULATION:
        return not dmp.opposes_regulation
    return False


def check_dmp_access(caller: Caller, dmp: DmpState, *, writing: bool = False) -> Decision:
    """May the caller use this DMP at all? Needs a granted authorization (or break-glass / centre 15)."""
    if not dmp.exists:
        return deny("no DMP exists for this patient", UNKNOWN_PATIENT)
    if dmp.status is DmpStatus.CLOSED:
        return deny("the DMP is closed", DMP_CLOSED)
    if caller.kind is not ActorKind.PROFESSIONAL:
        if writing:
            return deny("patients and legal representatives do not feed through an LPS", ACCESS_DENIED)
        return allow("the patient's own record")
    if dmp.authorization is AuthorizationStatus.BLOCKED:
        return deny(f"the patient blocked professional {caller.actor_id}", ACCESS_DENIED)
    if dmp.authorization is AuthorizationStatus.GRANTED:
        return allow("authorization granted")
    if _special_mode(caller, dmp):
        return allow(f"no authorization, but access mode {caller.access_mode.value}")
    if caller.access_mode is not AccessMode.NORMAL:
        return deny(f"the patient opposed access in {caller.access_mode.value} mode", ACCESS_DENIED)
    state = "revoked" if dmp.authorization is AuthorizationStatus.REVOKED else "absent"
    return deny(f"authorization of {caller.actor_id} on this DMP is {state}", ACCESS_DENIED)


def check_author(caller: Caller, authors: Iterable[str], institutions: Iterable[str],
                 legal_authenticator: str | None = None) -> Decision:
    """EX_2.1-1140: direct → NameID is an author or the legal authenticator; indirect → structure is an author's."""
    if caller.indirect:
        institutions = set(institutions)
        if caller.structure_id and caller.structure_id in institutions:
            return allow("the VIHF structure is an authorInstitution", "EX_2.1-1140")
        return deny("Aucun AuthorInstitution ne correspond à l'utilisateur du VIHF "
                    f"(Identifiant_Structure {caller.structure_id!r} not in {sorted(institutions)})",
                    AUTHOR_MISMATCH, "EX_2.1-1140")
    people = set(authors) | ({legal_authenticator} if legal_authenticator else set())
    if caller.actor_id in people:
        return allow("the VIHF NameID is an author or the legal authenticator", "EX_2.1-1140")
    return deny(f"VIHF NameID {caller.actor_id!r} is neither an authorPerson nor the legalAuthenticator "
                f"({sorted(people)})", AUTHOR_MISMATCH, "EX_2.1-1140")


def check_feed(caller: Caller, dmp: DmpState, documents: Iterable[DocumentFacts]) -> Decision:
    """TD2.1: DMP usable for writing, and the author rule on every document of the submission."""
    access = check_dmp_access(caller, dmp, writing=True)
    if not access:
        return access
    for document in documents:
        author = check_author(caller, document.author_persons, document.author_institutions,
                              document.legal_authenticator)
        if not author:
            return author
    return allow("authorized author", "EX_2.1-1140")


def check_replace(caller: Caller, dmp: DmpState, replaced: DocumentFacts,
                  replacements: Iterable[DocumentFacts]) -> Decision:
    """TD2.1b: the author rule on the new documents and on the replaced one; the target must be Approved."""
    feed = check_feed(caller, dmp, replacements)
    if not feed:
        return feed
    if replaced.status != EntryStatus.APPROVED.value:
        return deny(f"the replaced entry is {replaced.status}, not Approved", "XDSRegistryDeprecatedDocumentError")
    return check_author(caller, replaced.author_persons, replaced.author_institutions, replaced.legal_authenticator)


def check_delete(caller: Caller, dmp: DmpState, document: DocumentFacts) -> Decision:
    """TD3.3c: own documents only (the structure's in indirect mode); a patient's document only by the MT."""
    access = check_dmp_access(caller, dmp, writing=True)
    if not access:
        return access
    if document.class_code and document.class_code.partition("^^")[0] == PATIENT_CLASS_CODE:
        if dmp.attending:
            return allow("the médecin traitant may delete a document fed by the patient")
        return deny("only the médecin traitant DMP (or the patient) may delete a patient's document", ACCESS_DENIED)
    return check_author(caller, document.author_persons, document.author_institutions,
                        document.legal_authenticator)


def check_update(caller: Caller, dmp: DmpState, document: DocumentFacts) -> Decision:
    """TD3.3a/b/d (mask, visibility, archive): an authorized professional who can see the document."""
    access = check_dmp_access(caller, dmp, writing=True)
    if not access:
        return access
    return check_visible(caller, dmp, document)


def check_visible(caller: Caller, dmp: DmpState, document: DocumentFacts) -> Decision:
    """Can the caller see this document in TD3.1 results and read it in TD3.2?"""
    access = check_dmp_access(caller, dmp)
    if not access:
        return access
    if caller.kind is ActorKind.PATIENT:
        if document.has_code(INVISIBLE_PATIENT):
            return deny("document not yet visible to the patient (INVISIBLE_PATIENT)", UNKNOWN_DOCUMENT)
        return allow("visible to the patient")
    if caller.kind is ActorKind.LEGAL_REPRESENTATIVE:
        for code in (INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX):
            if document.has_code(code):
                return deny(f"document hidden from legal representatives ({code})", UNKNOWN_DOCUMENT)
        return allow("visible to the legal representatives")
    if document.has_code(MASQUE_PS):
        if check_author(caller, document.author_persons, document.author_institutions,
                        document.legal_authenticator):
            return allow("masked document, read by its author")
        if _special_mode(caller, dmp):
            return allow(f"masked document, read in {caller.access_mode.value} mode")
        return deny("document masked to professionals (MASQUE_PS)", UNKNOWN_DOCUMENT)
    # Archived, deprecated, deleted and invisible-to-patient documents stay readable by professionals (FI526).
    return allow("visible to professionals with consultation rights")


def feed_confidentiality(caller: Caller, dmp: DmpState, codes: Iterable[str]) -> list[str]:
    """Codes to store for a fed document: a minor's secret connection hides it from legal representatives."""
    result = list(codes)
    if dmp.minor and (caller.secret_connection or dmp.secret_connection) and not any(
            c.partition("^^")[0] == INVISIBLE_REPRESENTANTS_LEGAUX for c in result):
        result.append(f"{INVISIBLE_REPRESENTANTS_LEGAUX}^^{VISIBILITY_SCHEME}")
    return result


# Transactions refused outright in some authentication or access modes (FI526, transactions.md §6).
def check_transaction(caller: Caller, transaction: str, dmp: DmpState | None = None) -> Decision:
    if transaction == "TD0.5" and caller.access_mode is not AccessMode.REGULATION and not caller.indirect:
        return deny("TD0.5 (search without INS) is allowed only in régulation mode or indirect mode", ACCESS_DENIED)
    if transaction in ("TD3.1", "TD3.2") and caller.auth_mode is AuthMode.INDIRECT:
        return deny(f"{transaction} is not allowed in indirect authentication mode (use TD3.1b)", ACCESS_DENIED)
    if transaction in ("TD1.3b", "TD1.4") and dmp is not None and dmp.attached_to_mes:
        return deny(f"{transaction} works only on DMPs not attached to Mon espace santé", ACCESS_DENIED)
    if transaction == "TD1.1":
        return deny("DMP creation by an LPS is suspended since 1 July 2021", ACCESS_DENIED)
    return allow(f"{transaction} allowed in this mode")
