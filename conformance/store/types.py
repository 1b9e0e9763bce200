"""Value types of the store: statuses, the inputs of a submission, query filters and errors.

They are plain dataclasses so the server builds them from its XDS/VIHF models without the store knowing
about ebRIM or SOAP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


class DmpStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AuthorizationStatus(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"
    BLOCKED = "blocked"  # the patient refused this professional


class EntryStatus(StrEnum):
    """JDV_J52 availability statuses."""

    APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
    ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
    DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"


class AccessMode(StrEnum):
    NORMAL = "normal"
    BREAK_GLASS = "break_glass"
    REGULATION = "regulation"  # centre de régulation / centre 15


class TermKind(StrEnum):
    CONFIDENTIALITY = "confidentiality"
    EVENT = "event"
    AUTHOR_PERSON = "author_person"
    AUTHOR_INSTITUTION = "author_institution"
    LEGAL_AUTHENTICATOR = "legal_authenticator"


class SearchKind(StrEnum):
    """What a row of the search strings holds: the FHIR search parameter it answers (PDSm ITI-67 / ITI-66)."""

    AUTHOR_GIVEN = "author.given"  # DocumentEntry authors, one ``party`` per author
    AUTHOR_FAMILY = "author.family"
    RELATED = "related"  # DocumentEntry referenceIdList (CXi values)
    TITLE = "title"  # SubmissionSet and Folder
    SOURCE = "source"  # SubmissionSet source (its first author): ids, names, organisation ids
    SOURCE_GIVEN = "source.given"
    SOURCE_FAMILY = "source.family"
    AUTHOR_ORG = "authorOrg"


class StringModifier(StrEnum):
    """FHIR string search: starts with, ignoring case and accents (no modifier), ``:exact``, ``:contains``."""

    STARTS = ""
    EXACT = "exact"
    CONTAINS = "contains"


RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
UPDATE_AVAILABILITY_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
# The association types GetRelatedDocuments follows by default.
RELATIONSHIP_TYPES = (RPLC, "urn:ihe:iti:2007:AssociationType:XFRM", "urn:ihe:iti:2007:AssociationType:APND",
                      "urn:ihe:iti:2007:AssociationType:XFRM_RPLC", SIGNS)


SIGNATURE_CLASS_CODE = "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1"  # the signature DocumentEntry of a submission


def coded(code: str, scheme: str | None) -> str:
    """The stored form of a coded value, the same as the ITI-18 parameter form ``code^^scheme``."""
    return f"{code}^^{scheme or ''}"


@dataclass(slots=True)
class NewDocument:
    unique_id: str
    content: bytes
    mime_type: str = "text/xml"


@dataclass(slots=True)
class NewEntry:
    """One DocumentEntry of a submission. ``entry_uuid`` is the submitter's symbolic or urn:uuid id."""

    entry_uuid: str
    unique_id: str
    patient_id: str
    class_code: str | None = None
    type_code: str | None = None
    practice_setting_code: str | None = None
    facility_type_code: str | None = None
    format_code: str | None = None
    creation_time: str | None = None
    service_start: str | None = None
    service_stop: str | None = None
    mime_type: str = "text/xml"
    confidentiality_codes: list[str] = field(default_factory=list)
    event_codes: list[str] = field(default_factory=list)
    author_persons: list[str] = field(default_factory=list)  # XCN.1 ids
    author_institutions: list[str] = field(default_factory=list)  # XON.10 ids
    legal_authenticator: str | None = None
    hash: str | None = None  # when sent: verified against the bytes
    size: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ebrim: str | None = None


@dataclass(slots=True)
class NewSubmissionSet:
    entry_uuid: str
    unique_id: str
    patient_id: str
    source_id: str | None = None
    submission_time: str | None = None
    content_type_code: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ebrim: str | None = None


@dataclass(slots=True)
class NewFolder:
    """One Folder of a submission; ``entry_uuid`` is the submitter's symbolic or urn:uuid id. Its documents
    are HasMember associations of the submission (folder → entry)."""

    entry_uuid: str
    unique_id: str
    patient_id: str
    title: str | None = None
    codes: list[str] = field(default_factory=list)  # codeList as "code^^scheme"
    metadata: dict[str, Any] = field(default_factory=dict)
    ebrim: str | None = None


@dataclass(slots=True)
class NewAssociation:
    entry_uuid: str
    association_type: str
    source: str
    target: str
    slots: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Submission:
    """Everything one ITI-41 stores, in one database transaction."""

    submission_set: NewSubmissionSet
    entries: list[NewEntry]
    documents: list[NewDocument]
    associations: list[NewAssociation]
    repository_id: str
    submitter_id: str | None = None
    folders: list[NewFolder] = field(default_factory=list)


@dataclass(slots=True)
class SubmissionResult:
    submission_set_uuid: str
    entry_uuids: dict[str, str]  # submitted id → stored urn:uuid
    deprecated: list[str] = field(default_factory=list)
    folder_uuids: dict[str, str] = field(default_factory=dict)  # submitted id → stored urn:uuid


@dataclass(slots=True, frozen=True)
class TextMatch:
    """One string (or identifier) search parameter: one of ``values`` matches (OR) with ``modifier``."""

    kind: SearchKind
    values: tuple[str, ...]
    modifier: StringModifier = StringModifier.STARTS


@dataclass(slots=True)
class FindDocumentsQuery:
    """FindDocuments filters; each list is OR-ed, lists are AND-ed (IHE semantics)."""

    patient_id: str
    statuses: list[str] = field(default_factory=lambda: [EntryStatus.APPROVED.value])
    class_codes: list[str] = field(default_factory=list)
    type_codes: list[str] = field(default_factory=list)
    practice_setting_codes: list[str] = field(default_factory=list)
    facility_type_codes: list[str] = field(default_factory=list)
    format_codes: list[str] = field(default_factory=list)
    event_codes: list[str] = field(default_factory=list)
    confidentiality_codes: list[str] = field(default_factory=list)
    author_persons: list[str] = field(default_factory=list)  # may hold % wildcards
    # The DMP lists no signature entries in FindDocuments (none among the 21 of the official TD3.1 response)
    include_signatures: bool = False
    creation_from: str | None = None
    creation_to: str | None = None
    service_start_from: str | None = None
    service_start_to: str | None = None
    service_stop_from: str | None = None
    service_stop_to: str | None = None
    ids: list[str] = field(default_factory=list)  # entryUUIDs, logical ids (lid) or uniqueIds
    author_names: list[TextMatch] = field(default_factory=list)  # all matched by one author
    replacing: list[str] = field(default_factory=list)  # lids of documents the entry replaced (RPLC)
    # referenceIdList CXi values; one matches a stored CXi equal to it or extending it with more components
    reference_ids: list[str] = field(default_factory=list)
    latest_only: bool = False  # one entry per document: no older metadata version
    limit: int | None = None


@dataclass(slots=True)
class FindSubmissionSetsQuery:
    """The SubmissionSets of a patient (ITI-66); lists are OR-ed, filters AND-ed."""

    patient_id: str
    ids: list[str] = field(default_factory=list)  # entryUUIDs or uniqueIds
    source_ids: list[str] = field(default_factory=list)
    content_type_codes: list[str] = field(default_factory=list)  # "code^^scheme", scheme optional
    submitted_from: str | None = None  # submissionTime, From inclusive, To exclusive
    submitted_to: str | None = None
    texts: list[TextMatch] = field(default_factory=list)  # title, source, source names, authorOrg
    limit: int | None = None


@dataclass(slots=True)
class FindFoldersQuery:
    """FindFolders filters (ITI-18) plus the ids ITI-66 searches by; lists are OR-ed, filters AND-ed."""

    patient_id: str
    statuses: list[str] = field(default_factory=lambda: [EntryStatus.APPROVED.value])
    codes: list[str] = field(default_factory=list)  # "code^^scheme", scheme optional
    updated_from: str | None = None  # lastUpdateTime, From inclusive, To exclusive
    updated_to: str | None = None
    ids: list[str] = field(default_factory=list)  # entryUUIDs or uniqueIds
    titles: list[TextMatch] = field(default_factory=list)
    limit: int | None = None


class StoreError(Exception):
    """A refused store operation; ``code`` is the XDS error code the server answers with."""

    code = "XDSRegistryError"

    def __init__(self, message: str, *, code: str | None = None, context: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.context = context or message


class DuplicateUniqueId(StoreError):
    code = "XDSDuplicateUniqueIdInRegistry"


class UnknownEntry(StoreError):
    code = "XDSRegistryError"


class InvalidSubmission(StoreError):
    code = "XDSRegistryMetadataError"


class UnknownPatient(StoreError):
    code = "XDSUnknownPatientId"
