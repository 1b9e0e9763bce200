"""Typed XDS.b metadata: SubmissionSet, DocumentEntry, Folder, Association and their parts.

Values are kept as written (strings), so the model is lossless for validation and an ebRIM round-trip
gives an equal model. ``location``/``line`` say where a parsed object was (not compared); ``element`` keeps
the parsed ebRIM element for the few structural checks the model cannot express (not compared either).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from conformance.xds.constants import AssociationType, ObjectType


@dataclass(slots=True)
class Slot:
    name: str
    values: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Code:
    """A coded attribute: ``nodeRepresentation``, the ``codingScheme`` slot and the display name."""

    code: str
    scheme: str | None = None
    display: str | None = None

    def __str__(self) -> str:
        return f"{self.code}^^{self.scheme or ''}"


@dataclass(slots=True)
class Author:
    """An author Classification: authorPerson (XCN), authorInstitution (XON), role, specialty, telecom."""

    person: str | None = None
    institutions: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    specialties: list[str] = field(default_factory=list)
    telecoms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Classification:
    """A Classification the model has no attribute for (kept for round-trip and reporting)."""

    scheme: str | None = None
    node_representation: str | None = None
    classification_node: str | None = None
    name: str | None = None
    slots: list[Slot] = field(default_factory=list)


@dataclass(slots=True)
class ExternalIdentifier:
    scheme: str
    value: str
    name: str | None = None


@dataclass(kw_only=True, slots=True)
class RegistryObject:
    """What every ebRIM object of XDS has: id (entryUUID or symbolic id), lid, status, home, version."""

    id: str
    lid: str | None = None
    status: str | None = None
    home: str | None = None  # homeCommunityId
    version: str | None = None  # rim:VersionInfo/@versionName
    extra_slots: list[Slot] = field(default_factory=list)
    extra_classifications: list[Classification] = field(default_factory=list)
    extra_external_identifiers: list[ExternalIdentifier] = field(default_factory=list)
    location: str | None = field(default=None, compare=False, repr=False)
    line: int | None = field(default=None, compare=False, repr=False)
    element: etree._Element | None = field(default=None, compare=False, repr=False)

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.extra_slots if s.name == name), None)


@dataclass(kw_only=True, slots=True)
class DocumentEntry(RegistryObject):
    """An XDSDocumentEntry (``rim:ExtrinsicObject``)."""

    object_type: str | None = ObjectType.STABLE_DOCUMENT_ENTRY
    mime_type: str | None = None
    unique_id: str | None = None
    patient_id: str | None = None
    title: str | None = None
    comments: str | None = None
    class_code: Code | None = None
    type_code: Code | None = None
    format_code: Code | None = None
    healthcare_facility_type_code: Code | None = None
    practice_setting_code: Code | None = None
    confidentiality_codes: list[Code] = field(default_factory=list)
    event_codes: list[Code] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    creation_time: str | None = None
    service_start_time: str | None = None
    service_stop_time: str | None = None
    language_code: str | None = None
    legal_authenticator: str | None = None
    source_patient_id: str | None = None
    source_patient_info: list[str] = field(default_factory=list)
    hash: str | None = None
    size: str | None = None
    repository_unique_id: str | None = None
    uri: str | None = None
    reference_ids: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class SubmissionSet(RegistryObject):
    """An XDSSubmissionSet (``rim:RegistryPackage`` classified as a submission set)."""

    unique_id: str | None = None
    source_id: str | None = None
    patient_id: str | None = None
    submission_time: str | None = None
    title: str | None = None
    comments: str | None = None
    content_type_code: Code | None = None
    authors: list[Author] = field(default_factory=list)
    intended_recipients: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class Folder(RegistryObject):
    """An XDSFolder (``rim:RegistryPackage`` classified as a folder; not seen in DMP sources)."""

    unique_id: str | None = None
    patient_id: str | None = None
    title: str | None = None
    comments: str | None = None
    codes: list[Code] = field(default_factory=list)
    last_update_time: str | None = None


@dataclass(kw_only=True, slots=True)
class Association(RegistryObject):
    """A ``rim:Association``; its slots (SubmissionSetStatus, OriginalStatus, NewStatus…) stay generic."""

    type: str
    source: str
    target: str

    def value(self, slot_name: str) -> str | None:
        slot = self.slot(slot_name)
        return slot.values[0] if slot is not None and slot.values else None

    @property
    def submission_set_status(self) -> str | None:
        return self.value("SubmissionSetStatus")

    @property
    def original_status(self) -> str | None:
        return self.value("OriginalStatus")

    @property
    def new_status(self) -> str | None:
        return self.value("NewStatus")


@dataclass(slots=True)
class ObjectRef:
    id: str
    home: str | None = None


@dataclass(slots=True)
class RegistryObjectList:
    """The objects of one submission or query result, in document order per type."""

    submission_sets: list[SubmissionSet] = field(default_factory=list)
    document_entries: list[DocumentEntry] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
    object_refs: list[ObjectRef] = field(default_factory=list)
    element: etree._Element | None = field(default=None, compare=False, repr=False)

    @property
    def submission_set(self) -> SubmissionSet | None:
        return self.submission_sets[0] if self.submission_sets else None

    def objects(self) -> Iterator[RegistryObject]:
        yield from self.submission_sets
        yield from self.folders
        yield from self.document_entries
        yield from self.associations

    def by_id(self, object_id: str) -> RegistryObject | None:
        return next((o for o in self.objects() if o.id == object_id), None)

    def associations_of_type(self, association_type: str) -> list[Association]:
        return [a for a in self.associations if a.type == association_type]

    def signature_entries(self) -> list[DocumentEntry]:
        """DocumentEntries that are the source of a ``signs`` association."""
        sources = {a.source for a in self.associations_of_type(AssociationType.SIGNS)}
        return [d for d in self.document_entries if d.id in sources]
