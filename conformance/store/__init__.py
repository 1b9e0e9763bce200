"""Persistence of the reference DMP: the only module that writes SQL.

``Store.open("sqlite:///path.db")`` (or a ``postgresql+psycopg://`` URL) creates or upgrades the schema and
returns a :class:`Store` whose typed methods cover patients and DMP status, professionals and structures,
authorizations, atomic ITI-41 submissions (documents + entries + folders + associations, RPLC deprecation),
FindDocuments, FindFolders and the other stored queries, the ITI-66/ITI-67 searches (names, titles and
referenceIdList filtered in SQL through ``search_strings``), status and metadata updates, the access history
and the exchange captures.
Refusals raise :class:`StoreError` subclasses whose ``code`` is the XDS/DMP error code to answer with.
"""

from conformance.store.engine import SCHEMA_VERSION, current_version, make_engine, migrate
from conformance.store.schema import (
    AccessEvent,
    Association,
    Authorization,
    Capture,
    Document,
    DocumentEntry,
    Folder,
    Patient,
    Professional,
    Structure,
    SubmissionSet,
)
from conformance.store.store import Store, canonical_cx, new_uuid, parse_cx
from conformance.store.types import (
    HAS_MEMBER,
    RPLC,
    SIGNS,
    UPDATE_AVAILABILITY_STATUS,
    AccessMode,
    AuthorizationStatus,
    DmpStatus,
    DuplicateUniqueId,
    EntryStatus,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    InvalidSubmission,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewFolder,
    NewSubmissionSet,
    SearchKind,
    StoreError,
    StringModifier,
    Submission,
    SubmissionResult,
    TextMatch,
    UnknownEntry,
    UnknownPatient,
    coded,
    utcnow,
)

__all__ = [
    "HAS_MEMBER", "RPLC", "SCHEMA_VERSION", "SIGNS", "UPDATE_AVAILABILITY_STATUS", "AccessEvent",
    "AccessMode", "Association", "Authorization", "AuthorizationStatus", "Capture", "DmpStatus",
    "Document", "DocumentEntry", "DuplicateUniqueId", "EntryStatus", "FindDocumentsQuery",
    "FindFoldersQuery", "FindSubmissionSetsQuery", "Folder", "InvalidSubmission", "NewAssociation",
    "NewDocument", "NewEntry", "NewFolder", "NewSubmissionSet", "Patient", "Professional", "SearchKind",
    "Store", "StoreError", "StringModifier", "Structure", "Submission", "SubmissionResult",
    "SubmissionSet", "TextMatch", "UnknownEntry", "UnknownPatient", "canonical_cx", "coded",
    "current_version", "make_engine", "migrate", "new_uuid", "parse_cx", "utcnow",
]
