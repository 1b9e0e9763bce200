"""The tables of the reference DMP (SQLAlchemy 2 typed ORM).

Why indexed columns beside the JSON metadata: ITI-18 filters on patient, status, codes and times; they
must stay fast at 100k entries, so each filtered attribute has its own indexed column, and the multi-valued
ones (confidentiality codes, event codes, authors) live in :class:`EntryTerm`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from conformance.store.types import (
    AccessMode,
    AuthorizationStatus,
    DmpStatus,
    utcnow,
)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SchemaVersion(Base):
    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Structure(Base):
    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_nat: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    sector: Mapped[str | None] = mapped_column(String(64))  # Secteur_Activite code


class Professional(Base):
    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_nat: Mapped[str] = mapped_column(String(64), unique=True)
    family_name: Mapped[str] = mapped_column(String(200), default="")
    given_name: Mapped[str] = mapped_column(String(200), default="")
    role_code: Mapped[str | None] = mapped_column(String(32))  # TRE_G15 profession
    specialty_code: Mapped[str | None] = mapped_column(String(64))  # e.g. G15_10/SM26
    specialty_label: Mapped[str | None] = mapped_column(String(200))
    structure_id_nat: Mapped[str | None] = mapped_column(String(64))


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    ins: Mapped[str] = mapped_column(String(32))  # NIR or NIA
    ins_oid: Mapped[str] = mapped_column(String(64))
    family_name: Mapped[str] = mapped_column(String(200), default="")
    given_name: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[str | None] = mapped_column(String(8))  # yyyyMMdd
    gender: Mapped[str | None] = mapped_column(String(1))  # M / F / U
    traits: Mapped[dict[str, Any]] = mapped_column(default=dict)  # other traits: birth place, telecoms, address…
    dmp_status: Mapped[str] = mapped_column(String(16), default=DmpStatus.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_connection: Mapped[bool] = mapped_column(Boolean, default=False)
    attached_to_mes: Mapped[bool] = mapped_column(Boolean, default=True)
    internet_account: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("ins", "ins_oid", name="uq_patient_ins"),)

    @property
    def cx(self) -> str:
        """The patient id as an HL7 v2 CX, as XDS and the VIHF carry it."""
        return f"{self.ins}^^^&{self.ins_oid}&ISO^NH"


class Authorization(Base):
    __tablename__ = "authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    professional_id_nat: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=AuthorizationStatus.GRANTED)
    attending: Mapped[bool] = mapped_column(Boolean, default=False)  # médecin traitant DMP
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("patient_id", "professional_id_nat", name="uq_authorization"),
                      Index("ix_authorization_professional", "professional_id_nat", "status"))


class Document(Base):
    """The bytes of one document in the repository; uniqueId is UNIQUE so concurrent feeds store one."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    unique_id: Mapped[str] = mapped_column(String(128), unique=True)
    repository_id: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha1: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(128))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentEntry(Base):
    """One metadata version of a document (a new entryUUID per version, the same lid)."""

    __tablename__ = "document_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    lid: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    unique_id: Mapped[str] = mapped_column(String(128), index=True)
    repository_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(80))
    patient_id: Mapped[str] = mapped_column(String(128))  # CX
    class_code: Mapped[str | None] = mapped_column(String(160))  # "code^^scheme"
    type_code: Mapped[str | None] = mapped_column(String(160))
    practice_setting_code: Mapped[str | None] = mapped_column(String(160))
    facility_type_code: Mapped[str | None] = mapped_column(String(160))
    format_code: Mapped[str | None] = mapped_column(String(255))
    creation_time: Mapped[str | None] = mapped_column(String(14))  # yyyyMMddHHmmss, right-padded with 0
    service_start: Mapped[str | None] = mapped_column(String(14))
    service_stop: Mapped[str | None] = mapped_column(String(14))
    mime_type: Mapped[str] = mapped_column(String(128), default="text/xml")
    sha1: Mapped[str | None] = mapped_column(String(40))
    size: Mapped[int | None] = mapped_column(Integer)
    submitter_id: Mapped[str | None] = mapped_column(String(64))  # who fed it (VIHF NameID)
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    ebrim: Mapped[str | None] = mapped_column(Text)  # the ExtrinsicObject as received, for faithful LeafClass
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Written with the entry (one batched insert, no flush per entry); never loaded: the JSON has the values.
    terms: Mapped[list[EntryTerm]] = relationship(lazy="raise", cascade="save-update")

    __table_args__ = (
        Index("ix_entry_patient_status_creation", "patient_id", "status", "creation_time"),
        Index("ix_entry_class", "class_code"),
        Index("ix_entry_type", "type_code"),
        Index("ix_entry_practice", "practice_setting_code"),
        Index("ix_entry_facility", "facility_type_code"),
        Index("ix_entry_format", "format_code"),
        Index("ix_entry_service", "patient_id", "service_start", "service_stop"),
    )


class EntryTerm(Base):
    """A multi-valued, filterable attribute of an entry: confidentiality, event code, author, institution."""

    __tablename__ = "entry_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("document_entries.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(255))

    __table_args__ = (Index("ix_term_kind_value", "kind", "value", "entry_id"),
                      Index("ix_term_entry", "entry_id", "kind"))


class SearchString(Base):
    """A name, title or id the FHIR string searches match (author.family, title, source…) of a DocumentEntry,
    SubmissionSet or Folder (``owner``: its entryUUID). Why a table: those values are inside the kept FHIR facts
    or the ebRIM, which SQL cannot filter, and a filter after the row limit loses matches. ``folded`` is the
    value without case and accents, computed in Python so SQLite and PostgreSQL compare the same strings;
    ``party`` groups the names of one author (author.given and author.family must match the same person)."""

    __tablename__ = "search_strings"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    party: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_search_string_owner", "owner", "kind", "party"),)


class SubmissionSet(Base):
    __tablename__ = "submission_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    unique_id: Mapped[str] = mapped_column(String(128), unique=True)
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    source_id: Mapped[str | None] = mapped_column(String(128))
    submission_time: Mapped[str | None] = mapped_column(String(14))
    content_type_code: Mapped[str | None] = mapped_column(String(160))
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    ebrim: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Folder(Base):
    """An XDS Folder (ITI-41 RegistryPackage, ITI-65 Folder List); its documents are HasMember associations."""

    __tablename__ = "folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    unique_id: Mapped[str] = mapped_column(String(128), unique=True)
    patient_id: Mapped[str] = mapped_column(String(128), index=True)  # canonical CX
    status: Mapped[str] = mapped_column(String(80))
    title: Mapped[str | None] = mapped_column(String(255))
    codes: Mapped[list[Any]] = mapped_column(default=list)  # codeList as "code^^scheme"
    last_update_time: Mapped[str | None] = mapped_column(String(14))  # set by the registry (DTM, UTC)
    submission_set: Mapped[str] = mapped_column(String(64))  # entryUUID of the SubmissionSet that created it
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    ebrim: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Association(Base):
    __tablename__ = "associations"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    association_type: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    slots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccessEvent(Base):
    """One line of the patient's access history: who did what on which DMP, in which mode."""

    __tablename__ = "access_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True)  # CX
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_structure: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    transaction: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16), default=AccessMode.NORMAL)
    target: Mapped[str | None] = mapped_column(String(128))  # document uniqueId or entryUUID
    outcome: Mapped[str] = mapped_column(String(16), default="allowed")
    detail: Mapped[str | None] = mapped_column(Text)


class Capture(Base):
    """One HTTP exchange with the reference DMP, kept raw with its findings."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    peer: Mapped[str | None] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    action: Mapped[str | None] = mapped_column(String(255), index=True)
    transaction: Mapped[str | None] = mapped_column(String(16), index=True)
    request_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    response_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response_body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    identity: Mapped[dict[str, Any]] = mapped_column(default=dict)  # VIHF subject, structure, mode, patient
    findings: Mapped[list[Any]] = mapped_column(default=list)
    outcome: Mapped[str | None] = mapped_column(String(128))  # e.g. Success, an XDS error code, a fault code
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # transport validators ran
