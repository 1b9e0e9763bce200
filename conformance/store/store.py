"""The :class:`Store`: every read and write of the reference DMP, as typed methods.

Rows come back detached (``expire_on_commit=False``) so the server can read them after the session ends.
Every write is one database transaction: a submission stores all its documents, entries and associations
or nothing.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.pool import StaticPool

from conformance.store.engine import make_engine, migrate
from conformance.store.names import entry_strings, folded, folder_strings, set_strings
from conformance.store.schema import (
    AccessEvent,
    Association,
    Authorization,
    Capture,
    Document,
    DocumentEntry,
    EntryTerm,
    Folder,
    Patient,
    Professional,
    SearchString,
    Structure,
    SubmissionSet,
)
from conformance.store.types import (
    HAS_MEMBER,
    RELATIONSHIP_TYPES,
    RPLC,
    SIGNATURE_CLASS_CODE,
    AccessMode,
    AuthorizationStatus,
    DmpStatus,
    DuplicateUniqueId,
    EntryStatus,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    InvalidSubmission,
    NewEntry,
    NewFolder,
    SearchKind,
    StoreError,
    StringModifier,
    Submission,
    SubmissionResult,
    TermKind,
    TextMatch,
    UnknownEntry,
    UnknownPatient,
    utcnow,
)

UUID_PREFIX = "urn:uuid:"


def new_uuid() -> str:
    return f"{UUID_PREFIX}{uuid.uuid4()}"


def parse_cx(cx: str) -> tuple[str, str]:
    """``'NIR^^^&OID&ISO^NH'`` → (NIR, OID); tolerant of missing parts (OID '' when absent)."""
    value = cx.strip().strip("'")
    ident, _, rest = value.partition("^^^")
    authority = rest.split("^", 1)[0]
    parts = authority.split("&")
    oid = parts[1] if len(parts) > 1 else ""
    return ident, oid


def canonical_cx(cx: str) -> str:
    """``NIR^^^&OID&ISO^NH`` whatever extra components were sent (the TD2.1 example adds ``^^20100907``)."""
    ins, oid = parse_cx(cx)
    return f"{ins}^^^&{oid}&ISO^NH"


def _time_key(value: str | None) -> str | None:
    """DTM values compare as strings once right-padded to 14 digits."""
    if not value:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())[:14]
    return digits.ljust(14, "0") if digits else None


def _code_filter(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """OR of coded values; a value without a scheme (``code`` or ``code^^``) matches any scheme."""
    clauses: list[ColumnElement[bool]] = []
    for value in values:
        code, sep, scheme = value.partition("^^")
        clauses.append(column == value if sep and scheme else column.like(f"{code}^^%"))
    return or_(*clauses)


def _text_filter(owner: Any, matches: Sequence[TextMatch]) -> ColumnElement[bool]:
    """FHIR string searches on the search strings of ``owner`` (an entryUUID column): one party (one author)
    matches every parameter (AND), each by one of its values (OR). The party is found by the first parameter,
    the others are looked up beside it."""
    first, *others = matches
    party = aliased(SearchString)
    conditions = [_text_matches(party, first)]
    for match in others:
        found = aliased(SearchString)
        conditions.append(exists().where(found.owner == party.owner, found.party == party.party,
                                         _text_matches(found, match)))
    return exists().where(party.owner == owner, *conditions)


def _text_matches(row: Any, match: TextMatch) -> ColumnElement[bool]:
    if match.modifier is StringModifier.EXACT:
        values = [row.value == v for v in match.values]
    elif match.modifier is StringModifier.CONTAINS:
        values = [row.folded.contains(folded(v), autoescape=True) for v in match.values]
    else:
        values = [row.folded.startswith(folded(v), autoescape=True) for v in match.values]
    return and_(row.kind == match.kind.value, or_(*values))


def _entry_terms(entry: NewEntry) -> list[tuple[str, str]]:
    terms = [(TermKind.CONFIDENTIALITY.value, c) for c in entry.confidentiality_codes]
    terms += [(TermKind.EVENT.value, c) for c in entry.event_codes]
    terms += [(TermKind.AUTHOR_PERSON.value, a) for a in entry.author_persons]
    terms += [(TermKind.AUTHOR_INSTITUTION.value, a) for a in entry.author_institutions]
    if entry.legal_authenticator:
        terms.append((TermKind.LEGAL_AUTHENTICATOR.value, entry.legal_authenticator))
    return terms


def _entry_summary(entry: NewEntry) -> dict[str, Any]:
    """The multi-valued attributes access rules read, kept with the row (the terms table is for filtering)."""
    return {**entry.metadata, "confidentialityCodes": list(entry.confidentiality_codes),
            "eventCodes": list(entry.event_codes), "authorPersons": list(entry.author_persons),
            "authorInstitutions": list(entry.author_institutions),
            "legalAuthenticator": entry.legal_authenticator}


class Store:
    """The reference DMP's persistence. ``Store.open(url)`` creates or upgrades the schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(sqlite_immediate=True), expire_on_commit=False)
        # An in-memory SQLite database is one connection shared by every thread: use it one session at a time.
        self._serial: AbstractContextManager[object] = (
            threading.RLock() if isinstance(engine.pool, StaticPool) else nullcontext())

    @classmethod
    def open(cls, url: str) -> Store:
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        try:
            with self._serial, self._write() as session, session.begin():
                yield session
        except DataError as exc:  # PostgreSQL enforces column widths (SQLite does not): a refusal, not a 500
            raise InvalidSubmission("a value is longer than the registry accepts",
                                    context=str(exc.orig)[:200]) from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._serial, self._read() as session:
            yield session

    # -- structures, professionals, patients ---------------------------------------------------------

    def upsert_structure(self, id_nat: str, name: str = "", sector: str | None = None) -> Structure:
        with self.writing() as s:
            row = s.scalar(select(Structure).where(Structure.id_nat == id_nat))
            if row is None:
                row = Structure(id_nat=id_nat)
                s.add(row)
            row.name, row.sector = name, sector
        return row

    def upsert_professional(self, id_nat: str, **fields: Any) -> Professional:
        with self.writing() as s:
            row = s.scalar(select(Professional).where(Professional.id_nat == id_nat))
            if row is None:
                row = Professional(id_nat=id_nat)
                s.add(row)
            for name, value in fields.items():
                setattr(row, name, value)
        return row

    def professional(self, id_nat: str) -> Professional | None:
        with self.reading() as s:
            return s.scalar(select(Professional).where(Professional.id_nat == id_nat))

    def add_patient(self, ins: str, ins_oid: str, **fields: Any) -> Patient:
        with self.writing() as s:
            row = Patient(ins=ins, ins_oid=ins_oid, **fields)
            s.add(row)
        return row

    def patient(self, ins: str, ins_oid: str | None = None) -> Patient | None:
        """The patient by INS (and OID when given), or by a CX string."""
        if "^" in ins:
            ins, ins_oid = parse_cx(ins)
        with self.reading() as s:
            query = select(Patient).where(Patient.ins == ins)
            if ins_oid:
                query = query.where(Patient.ins_oid == ins_oid)
            return s.scalars(query.limit(1)).first()

    def find_patients(self, family_name: str | None = None, given_name: str | None = None,
                      birth_date: str | None = None, gender: str | None = None, limit: int = 50) -> list[Patient]:
        """PDQ-style search on traits (case-insensitive prefix on names)."""
        with self.reading() as s:
            query = select(Patient)
            if family_name:
                query = query.where(func.upper(Patient.family_name).like(f"{family_name.upper()}%"))
            if given_name:
                query = query.where(func.upper(Patient.given_name).like(f"{given_name.upper()}%"))
            if birth_date:
                query = query.where(Patient.birth_date == birth_date)
            if gender:
                query = query.where(Patient.gender == gender)
            return list(s.scalars(query.order_by(Patient.id).limit(limit)))

    def update_patient(self, patient_pk: int, **fields: Any) -> Patient:
        with self.writing() as s:
            row = s.get(Patient, patient_pk)
            if row is None:
                raise UnknownPatient(f"no patient #{patient_pk}")
            for name, value in fields.items():
                setattr(row, name, value)
        return row

    def close_dmp(self, patient_pk: int) -> Patient:
        return self.update_patient(patient_pk, dmp_status=DmpStatus.CLOSED.value, closed_at=utcnow())

    # -- authorizations --------------------------------------------------------------------------------

    def set_authorization(self, patient_pk: int, professional_id_nat: str, status: AuthorizationStatus,
                          attending: bool | None = None) -> tuple[Authorization, bool]:
        """Grant, revoke or block; returns the row and whether anything changed."""
        with self.writing() as s:
            row = s.scalar(select(Authorization).where(Authorization.patient_id == patient_pk,
                                                       Authorization.professional_id_nat == professional_id_nat))
            now = utcnow()
            if row is None:
                row = Authorization(patient_id=patient_pk, professional_id_nat=professional_id_nat,
                                    status=status.value, attending=bool(attending), started_at=now,
                                    updated_at=now)
                s.add(row)
                return row, True
            changed = row.status != status.value or (attending is not None and row.attending != attending)
            if changed:
                if row.status != AuthorizationStatus.GRANTED and status is AuthorizationStatus.GRANTED:
                    row.started_at = now
                row.status = status.value
                if attending is not None:
                    row.attending = attending
                row.updated_at = now
            return row, changed

    def authorization(self, patient_pk: int, professional_id_nat: str) -> Authorization | None:
        with self.reading() as s:
            return s.scalar(select(Authorization).where(Authorization.patient_id == patient_pk,
                                                        Authorization.professional_id_nat == professional_id_nat))

    def authorizations_of_patient(self, patient_pk: int, statuses: Sequence[AuthorizationStatus] | None = None
                                  ) -> list[tuple[Authorization, Professional | None]]:
        with self.reading() as s:
            query = (select(Authorization, Professional)
                     .outerjoin(Professional, Professional.id_nat == Authorization.professional_id_nat)
                     .where(Authorization.patient_id == patient_pk).order_by(Authorization.id))
            if statuses:
                query = query.where(Authorization.status.in_([st.value for st in statuses]))
            return [(a, p) for a, p in s.execute(query).all()]

    def patients_of_professional(self, professional_id_nat: str) -> list[tuple[Patient, Authorization]]:
        """The DMPs a professional is authorized on (TD0.4)."""
        with self.reading() as s:
            query = (select(Patient, Authorization).join(Authorization, Authorization.patient_id == Patient.id)
                     .where(Authorization.professional_id_nat == professional_id_nat,
                            Authorization.status == AuthorizationStatus.GRANTED.value).order_by(Patient.id))
            return [(p, a) for p, a in s.execute(query).all()]

    # -- submissions -----------------------------------------------------------------------------------

    def register_submission(self, submission: Submission) -> SubmissionResult:
        """Store a whole ITI-41 submission atomically; raises a :class:`StoreError` and stores nothing on error."""
        return self.register_submissions([submission])[0]

    def register_submissions(self, submissions: Sequence[Submission]) -> list[SubmissionResult]:
        """Store several submissions in one database transaction (bulk loading): all or nothing."""
        for submission in submissions:
            _check_submission(submission)
        try:
            with self.writing() as s:
                patients: dict[str, Patient] = {}  # a bulk load feeds the same patients many times
                results = [_insert_submission(s, submission, patients) for submission in submissions]
        except IntegrityError as exc:
            names = sorted(d.unique_id for sub in submissions for d in sub.documents)[:5]
            raise DuplicateUniqueId(
                "a document, SubmissionSet or entry with one of these ids is already registered "
                f"(uniqueIds {', '.join(names)}…)", context=str(exc.orig)[:200]) from exc
        return results

    def new_metadata_version(self, previous_uuid: str, entry: NewEntry, submitter_id: str | None = None) -> str:
        """Store a new metadata version of an entry (same lid, version + 1); the previous one is Deprecated.

        Used by masking and visibility updates (TD3.3a/b): the document bytes are not touched.
        """
        with self.writing() as s:
            previous = s.scalar(select(DocumentEntry).where(DocumentEntry.entry_uuid == previous_uuid)
                                .with_for_update())
            if previous is None:
                raise UnknownEntry(f"no DocumentEntry {previous_uuid}", code="XDSMetadataUpdateError")
            if previous.status != EntryStatus.APPROVED.value:
                raise StoreError(f"DocumentEntry {previous_uuid} is {previous.status}, only an Approved entry "
                                 "can get a new metadata version", code="XDSMetadataVersionError")
            new_id = entry.entry_uuid if entry.entry_uuid.startswith(UUID_PREFIX) else new_uuid()
            previous.status = EntryStatus.DEPRECATED.value
            row = _entry_row(entry, new_id, previous.lid, previous.version + 1, previous.repository_id,
                             previous.sha1, previous.size, submitter_id or previous.submitter_id)
            row.unique_id = previous.unique_id
            row.terms = [EntryTerm(kind=k, value=v) for k, v in _entry_terms(entry)]
            s.add(row)
            s.add_all(entry_strings(new_id, entry.metadata, entry.ebrim))
        return new_id

    def update_status(self, entry_uuid: str, new_status: EntryStatus,
                      original_status: EntryStatus | None = None) -> DocumentEntry:
        """ITI-57 UpdateAvailabilityStatus; checks the original status when given."""
        with self.writing() as s:
            row = s.scalar(select(DocumentEntry).where(DocumentEntry.entry_uuid == entry_uuid).with_for_update())
            if row is None:
                raise UnknownEntry(f"no DocumentEntry {entry_uuid}", code="XDSMetadataUpdateError")
            if original_status is not None and row.status != original_status.value:
                raise StoreError(f"DocumentEntry {entry_uuid} is {row.status}, not {original_status.value}",
                                 code="XDSMetadataUpdateError")
            row.status = new_status.value
        return row

    # -- queries ---------------------------------------------------------------------------------------

    def find_documents(self, query: FindDocumentsQuery) -> list[DocumentEntry]:
        e = DocumentEntry
        conditions: list[ColumnElement[bool]] = [e.patient_id == canonical_cx(query.patient_id)]
        if query.statuses:
            conditions.append(e.status.in_(query.statuses))
        if not query.include_signatures:
            conditions.append(or_(e.class_code.is_(None), e.class_code.not_like(f"{SIGNATURE_CLASS_CODE}^^%")))
        for column, values in ((e.class_code, query.class_codes), (e.type_code, query.type_codes),
                               (e.practice_setting_code, query.practice_setting_codes),
                               (e.facility_type_code, query.facility_type_codes),
                               (e.format_code, query.format_codes)):
            if values:
                conditions.append(_code_filter(column, values))
        for column, low, high in ((e.creation_time, query.creation_from, query.creation_to),
                                  (e.service_start, query.service_start_from, query.service_start_to),
                                  (e.service_stop, query.service_stop_from, query.service_stop_to)):
            if low:
                conditions.append(column >= _time_key(low))
            if high:
                conditions.append(column < _time_key(high))  # IHE: From inclusive, To exclusive
        for kind, values in ((TermKind.EVENT, query.event_codes),
                             (TermKind.CONFIDENTIALITY, query.confidentiality_codes)):
            if values:
                conditions.append(exists().where(EntryTerm.entry_id == e.id, EntryTerm.kind == kind.value,
                                                 _code_filter(EntryTerm.value, values)))
        if query.author_persons:
            conditions.append(exists().where(
                EntryTerm.entry_id == e.id, EntryTerm.kind == TermKind.AUTHOR_PERSON.value,
                or_(*(EntryTerm.value.like(a) for a in query.author_persons))))
        if query.ids:
            conditions.append(or_(e.entry_uuid.in_(query.ids), e.lid.in_(query.ids), e.unique_id.in_(query.ids)))
        if query.author_names:
            conditions.append(_text_filter(e.entry_uuid, query.author_names))
        if query.replacing:
            replaced = aliased(DocumentEntry)
            conditions.append(exists().where(
                Association.source == e.entry_uuid, Association.association_type == RPLC,
                replaced.entry_uuid == Association.target, replaced.lid.in_(query.replacing)))
        if query.reference_ids:
            conditions.append(exists().where(
                SearchString.owner == e.entry_uuid, SearchString.kind == SearchKind.RELATED.value,
                or_(*(or_(SearchString.value == cx, SearchString.value.startswith(f"{cx}^", autoescape=True))
                      for cx in query.reference_ids))))
        if query.latest_only:
            newer = aliased(DocumentEntry)
            conditions.append(~exists().where(newer.lid == e.lid, newer.version > e.version))
        statement = select(e).where(and_(*conditions)).order_by(e.creation_time.desc(), e.id.desc())
        if query.limit:
            statement = statement.limit(query.limit)
        with self.reading() as s:
            return list(s.scalars(statement))

    def entries(self, uuids: Sequence[str] = (), unique_ids: Sequence[str] = (),
                latest_only: bool = False) -> list[DocumentEntry]:
        """GetDocuments by entryUUID and/or uniqueId (all metadata versions unless ``latest_only``)."""
        if not uuids and not unique_ids:
            return []
        e = DocumentEntry
        statement = select(e).where(or_(e.entry_uuid.in_(list(uuids)), e.unique_id.in_(list(unique_ids))))
        with self.reading() as s:
            rows = list(s.scalars(statement.order_by(e.id)))
        if latest_only:
            latest: dict[str, DocumentEntry] = {}
            for row in rows:
                if row.lid not in latest or row.version > latest[row.lid].version:
                    latest[row.lid] = row
            rows = list(latest.values())
        return rows

    def versions(self, lid: str) -> list[DocumentEntry]:
        """Every metadata version of a document (same lid), newest first."""
        with self.reading() as s:
            return list(s.scalars(select(DocumentEntry).where(DocumentEntry.lid == lid)
                                  .order_by(DocumentEntry.version.desc())))

    def members(self, sources: Sequence[str]) -> dict[str, list[DocumentEntry]]:
        """The documents of SubmissionSets or Folders (HasMember from ``sources``), each at its latest metadata
        version (masking makes new versions after the association was registered); three queries in all."""
        if not sources:
            return {}
        with self.reading() as s:
            links = list(s.execute(select(Association.source, DocumentEntry.lid)
                                   .join(DocumentEntry, DocumentEntry.entry_uuid == Association.target)
                                   .where(Association.source.in_(list(sources)),
                                          Association.association_type == HAS_MEMBER)))
            lids = sorted({lid for _, lid in links})
            rows = list(s.scalars(select(DocumentEntry).where(DocumentEntry.lid.in_(lids)))) if lids else []
        latest: dict[str, DocumentEntry] = {}
        for row in rows:
            if row.lid not in latest or row.version > latest[row.lid].version:
                latest[row.lid] = row
        found: dict[str, list[DocumentEntry]] = {source: [] for source in sources}
        for source, lid in links:
            if latest[lid] not in found[source]:
                found[source].append(latest[lid])
        return found

    def associations(self, uuids: Sequence[str], types: Sequence[str] = ()) -> list[Association]:
        """GetAssociations: associations whose source or target is one of ``uuids``."""
        statement = select(Association).where(or_(Association.source.in_(list(uuids)),
                                                  Association.target.in_(list(uuids))))
        if types:
            statement = statement.where(Association.association_type.in_(list(types)))
        with self.reading() as s:
            return list(s.scalars(statement.order_by(Association.id)))

    def submission_set(self, uuid_or_unique_id: str) -> SubmissionSet | None:
        with self.reading() as s:
            return s.scalar(select(SubmissionSet).where(or_(SubmissionSet.entry_uuid == uuid_or_unique_id,
                                                            SubmissionSet.unique_id == uuid_or_unique_id)))

    def submission_set_and_contents(self, uuid_or_unique_id: str
                                    ) -> tuple[SubmissionSet, list[DocumentEntry], list[Association]] | None:
        ss = self.submission_set(uuid_or_unique_id)
        if ss is None:
            return None
        members = [a for a in self.associations([ss.entry_uuid], [HAS_MEMBER]) if a.source == ss.entry_uuid]
        entries = self.entries(uuids=[a.target for a in members])
        return ss, entries, members

    def find_submission_sets(self, query: FindSubmissionSetsQuery) -> list[SubmissionSet]:
        """ITI-66 on SubmissionSets: those of a patient, newest first."""
        ss = SubmissionSet
        statement = select(ss).where(ss.patient_id == canonical_cx(query.patient_id))
        if query.ids:
            statement = statement.where(ss.unique_id.in_(query.ids) | ss.entry_uuid.in_(query.ids))
        if query.source_ids:
            statement = statement.where(ss.source_id.in_(query.source_ids))
        if query.content_type_codes:
            statement = statement.where(_code_filter(ss.content_type_code, query.content_type_codes))
        # submissionTime is kept as received (a DTM of any precision): compared right-padded to 14 digits
        submitted = func.substr(ss.submission_time + "0" * 14, 1, 14)
        if query.submitted_from:
            statement = statement.where(submitted >= _time_key(query.submitted_from))
        if query.submitted_to:
            statement = statement.where(submitted < _time_key(query.submitted_to))
        if query.texts:
            statement = statement.where(_text_filter(ss.entry_uuid, query.texts))
        statement = statement.order_by(ss.id.desc())
        if query.limit:
            statement = statement.limit(query.limit)
        with self.reading() as s:
            return list(s.scalars(statement))

    def folder(self, uuid_or_unique_id: str) -> Folder | None:
        with self.reading() as s:
            return s.scalar(select(Folder).where(or_(Folder.entry_uuid == uuid_or_unique_id,
                                                     Folder.unique_id == uuid_or_unique_id)))

    def find_folders(self, query: FindFoldersQuery) -> list[Folder]:
        """FindFolders (and ITI-66 on folders): the folders of a patient, most recently updated first."""
        f = Folder
        statement = select(f).where(f.patient_id == canonical_cx(query.patient_id))
        if query.statuses:
            statement = statement.where(f.status.in_(query.statuses))
        if query.ids:
            statement = statement.where(f.entry_uuid.in_(query.ids) | f.unique_id.in_(query.ids))
        if query.updated_from:
            statement = statement.where(f.last_update_time >= _time_key(query.updated_from))
        if query.updated_to:
            statement = statement.where(f.last_update_time < _time_key(query.updated_to))
        if query.titles:
            statement = statement.where(_text_filter(f.entry_uuid, query.titles))
        with self.reading() as s:
            rows = list(s.scalars(statement.order_by(f.last_update_time.desc(), f.id.desc())))
        if query.codes:  # codeList is a JSON list: filtered here (a patient has few folders)
            wanted = [c.partition("^^") for c in query.codes]
            rows = [r for r in rows if any(code == have.partition("^^")[0] and scheme in ("", have.partition("^^")[2])
                                           for code, _, scheme in wanted for have in r.codes)]
        return rows[:query.limit] if query.limit else rows

    def folders_of_entries(self, entry_uuids: Sequence[str]) -> list[Folder]:
        """GetFoldersForDocument: the folders holding one of these entries (HasMember)."""
        if not entry_uuids:
            return []
        statement = (select(Folder).join(Association, Association.source == Folder.entry_uuid)
                     .where(Association.target.in_(list(entry_uuids)), Association.association_type == HAS_MEMBER)
                     .distinct().order_by(Folder.id))
        with self.reading() as s:
            return list(s.scalars(statement))

    def folder_and_contents(self, uuid_or_unique_id: str
                            ) -> tuple[Folder, list[DocumentEntry], list[Association]] | None:
        """GetFolderAndContents: the folder, its documents (every version the HasMember points to) and those
        associations."""
        folder = self.folder(uuid_or_unique_id)
        if folder is None:
            return None
        members = [a for a in self.associations([folder.entry_uuid], [HAS_MEMBER]) if a.source == folder.entry_uuid]
        return folder, self.entries(uuids=[a.target for a in members]), members

    def related_documents(self, entry_uuid: str, types: Sequence[str] = RELATIONSHIP_TYPES
                          ) -> tuple[list[DocumentEntry], list[Association]]:
        """GetRelatedDocuments: the entries linked to ``entry_uuid`` by document relationships."""
        assocs = self.associations([entry_uuid], types)
        others = {a.target if a.source == entry_uuid else a.source for a in assocs}
        return self.entries(uuids=sorted(others)), assocs

    def document(self, unique_id: str) -> Document | None:
        with self.reading() as s:
            return s.scalar(select(Document).where(Document.unique_id == unique_id))

    def latest_entry_for_document(self, unique_id: str) -> DocumentEntry | None:
        rows = self.entries(unique_ids=[unique_id], latest_only=True)
        return rows[0] if rows else None

    def count_entries(self, patient_id: str | None = None) -> int:
        with self.reading() as s:
            statement = select(func.count(DocumentEntry.id))
            if patient_id:
                statement = statement.where(DocumentEntry.patient_id == canonical_cx(patient_id))
            return s.scalar(statement) or 0

    def last_dates(self, patient_id: str) -> dict[str, datetime | None]:
        """Last access, last addition and last update of a DMP (TD0.4)."""
        with self.reading() as s:
            last_add = s.scalar(select(func.max(DocumentEntry.created_at))
                                .where(DocumentEntry.patient_id == patient_id))
            last_access = s.scalar(select(func.max(AccessEvent.at)).where(AccessEvent.patient_id == patient_id))
        return {"lastAccessDate": last_access, "lastAddDate": last_add, "lastUpdateDate": last_add}

    # -- access history --------------------------------------------------------------------------------

    def record_access(self, *, actor_id: str, transaction: str, action: str, patient_id: str | None,
                      mode: AccessMode = AccessMode.NORMAL, actor_structure: str | None = None,
                      actor_role: str | None = None, target: str | None = None, outcome: str = "allowed",
                      detail: str | None = None) -> AccessEvent:
        with self.writing() as s:
            row = AccessEvent(actor_id=actor_id, transaction=transaction, action=action, patient_id=patient_id,
                              mode=mode.value, actor_structure=actor_structure, actor_role=actor_role,
                              target=target, outcome=outcome, detail=detail)
            s.add(row)
        return row

    def access_history(self, patient_id: str | None = None, actor_id: str | None = None,
                       limit: int = 1000) -> list[AccessEvent]:
        statement = select(AccessEvent)
        if patient_id:
            statement = statement.where(AccessEvent.patient_id == patient_id)
        if actor_id:
            statement = statement.where(AccessEvent.actor_id == actor_id)
        with self.reading() as s:
            return list(s.scalars(statement.order_by(AccessEvent.id).limit(limit)))

    # -- captures --------------------------------------------------------------------------------------

    def add_capture(self, **fields: Any) -> Capture:
        with self.writing() as s:
            row = Capture(**fields)
            s.add(row)
        return row

    def update_capture(self, capture_id: int, **fields: Any) -> None:
        with self.writing() as s:
            s.execute(update(Capture).where(Capture.id == capture_id).values(**fields))

    def capture(self, capture_id: int) -> Capture | None:
        with self.reading() as s:
            return s.get(Capture, capture_id)

    def captures(self, *, action: str | None = None, transaction: str | None = None, peer: str | None = None,
                 since: datetime | None = None, status_code: int | None = None, after_id: int | None = None,
                 limit: int = 100) -> list[Capture]:
        statement = select(Capture)
        for column, value in ((Capture.action, action), (Capture.transaction, transaction),
                              (Capture.peer, peer), (Capture.status_code, status_code)):
            if value is not None:
                statement = statement.where(column == value)
        if since is not None:
            statement = statement.where(Capture.started_at >= since)
        if after_id is not None:
            statement = statement.where(Capture.id > after_id)
        with self.reading() as s:
            return list(s.scalars(statement.order_by(Capture.id).limit(limit)))

    def purge_captures(self) -> int:
        with self.writing() as s:
            return s.execute(delete(Capture)).rowcount or 0


def _check_submission(submission: Submission) -> None:
    """Structural checks that need no database: duplicates and the entry ↔ document pairing."""
    seen: set[str] = set()
    for entry in submission.entries:
        if entry.unique_id in seen:
            raise InvalidSubmission(f"uniqueId {entry.unique_id} appears twice in the submission",
                                    code="XDSRegistryDuplicateUniqueIdInMessage", context=entry.unique_id)
        seen.add(entry.unique_id)
    documents = [d.unique_id for d in submission.documents]
    if len(set(documents)) != len(documents):
        raise InvalidSubmission("a document appears twice in the submission",
                                code="XDSRepositoryDuplicateUniqueIdInMessage")
    for missing in seen - set(documents):
        raise InvalidSubmission(f"DocumentEntry {missing} has no document part", code="XDSMissingDocument",
                                context=missing)
    for extra in set(documents) - seen:
        raise InvalidSubmission(f"document {extra} has no DocumentEntry", code="XDSMissingDocumentMetadata",
                                context=extra)


def _insert_submission(s: Session, submission: Submission, patients: dict[str, Patient]) -> SubmissionResult:
    ids = {e.entry_uuid: (e.entry_uuid if e.entry_uuid.startswith(UUID_PREFIX) else new_uuid())
           for e in submission.entries}
    ss = submission.submission_set
    ids[ss.entry_uuid] = ss.entry_uuid if ss.entry_uuid.startswith(UUID_PREFIX) else new_uuid()
    documents = {d.unique_id: d for d in submission.documents}
    deprecated: list[str] = []
    patient = patients.get(ss.patient_id) or _open_patient(s, ss.patient_id)
    patients[ss.patient_id] = patient
    for entry in [*submission.entries, *submission.folders]:
        if parse_cx(entry.patient_id) != (patient.ins, patient.ins_oid):
            kind = "Folder" if isinstance(entry, NewFolder) else "DocumentEntry"
            raise InvalidSubmission(f"{kind} {entry.entry_uuid} patientId {entry.patient_id} differs from the "
                                    f"SubmissionSet patientId {ss.patient_id}", code="XDSPatientIdDoesNotMatch")
    folder_ids = {f.entry_uuid: (f.entry_uuid if f.entry_uuid.startswith(UUID_PREFIX) else new_uuid())
                  for f in submission.folders}
    s.add(SubmissionSet(entry_uuid=ids[ss.entry_uuid], unique_id=ss.unique_id,
                        patient_id=canonical_cx(ss.patient_id), source_id=ss.source_id,
                        submission_time=ss.submission_time, content_type_code=ss.content_type_code,
                        metadata_json=ss.metadata, ebrim=ss.ebrim))
    for entry in submission.entries:
        document = documents[entry.unique_id]
        sha1 = hashlib.sha1(document.content).hexdigest()
        size = len(document.content)
        _check_hash_size(entry, sha1, size)
        s.add(Document(unique_id=entry.unique_id, repository_id=submission.repository_id,
                       content=document.content, sha1=sha1, size=size, mime_type=entry.mime_type))
        row = _entry_row(entry, ids[entry.entry_uuid], ids[entry.entry_uuid], 1, submission.repository_id, sha1,
                         size, submission.submitter_id)
        row.terms = [EntryTerm(kind=k, value=v) for k, v in _entry_terms(entry)]
        s.add(row)
        s.add_all(entry_strings(ids[entry.entry_uuid], entry.metadata, entry.ebrim))
    s.add_all(set_strings(ids[ss.entry_uuid], ss.metadata, ss.ebrim))
    now = utcnow().strftime("%Y%m%d%H%M%S")  # XDS: the registry sets lastUpdateTime
    for folder in submission.folders:
        s.add(Folder(entry_uuid=folder_ids[folder.entry_uuid], unique_id=folder.unique_id,
                     patient_id=canonical_cx(folder.patient_id), status=EntryStatus.APPROVED.value,
                     title=folder.title, codes=list(folder.codes), last_update_time=now,
                     submission_set=ids[ss.entry_uuid], metadata_json=folder.metadata, ebrim=folder.ebrim))
        s.add_all(folder_strings(folder_ids[folder.entry_uuid], folder.title))
    ids.update(folder_ids)
    for assoc in submission.associations:
        source, target = ids.get(assoc.source, assoc.source), ids.get(assoc.target, assoc.target)
        if assoc.association_type == RPLC:
            deprecated.append(_deprecate_replaced(s, target, ss.patient_id))
        aid = assoc.entry_uuid if assoc.entry_uuid.startswith(UUID_PREFIX) else new_uuid()
        s.add(Association(entry_uuid=aid, association_type=assoc.association_type, source=source, target=target,
                          slots=assoc.slots))
    _touch_folders(s, {ids.get(a.source, a.source) for a in submission.associations if a.association_type == HAS_MEMBER}
                   - {*folder_ids.values(), ids[ss.entry_uuid]}, ss.patient_id, now)
    return SubmissionResult(submission_set_uuid=ids[ss.entry_uuid],
                            entry_uuids={e.entry_uuid: ids[e.entry_uuid] for e in submission.entries},
                            deprecated=deprecated, folder_uuids=folder_ids)


def _touch_folders(s: Session, sources: set[str], patient_id: str, now: str) -> None:
    """Documents filed in folders registered before: those folders (of the same patient) get a new
    lastUpdateTime (XDS: the registry updates it when a HasMember adds to a folder)."""
    if not sources:
        return
    for folder in s.scalars(select(Folder).where(Folder.entry_uuid.in_(sorted(sources))).with_for_update()):
        if parse_cx(folder.patient_id) != parse_cx(patient_id):
            raise InvalidSubmission(f"Folder {folder.entry_uuid} belongs to another patient",
                                    code="XDSPatientIdDoesNotMatch", context=folder.entry_uuid)
        folder.last_update_time = now


def _check_hash_size(entry: NewEntry, sha1: str, size: int) -> None:
    if entry.hash and entry.hash.lower() != sha1:
        raise InvalidSubmission(f"hash {entry.hash} of {entry.unique_id} differs from the computed {sha1}",
                                code="XDSRepositoryMetadataError", context=entry.unique_id)
    if entry.size is not None and entry.size != size:
        raise InvalidSubmission(f"size {entry.size} of {entry.unique_id} differs from the received {size} bytes",
                                code="XDSRepositoryMetadataError", context=entry.unique_id)


def _open_patient(s: Session, cx: str) -> Patient:
    ins, oid = parse_cx(cx)
    patient = s.scalar(select(Patient).where(Patient.ins == ins, Patient.ins_oid == oid))
    if patient is None:
        raise UnknownPatient(f"no DMP for patient {cx}", context=cx)
    if patient.dmp_status != DmpStatus.OPEN.value:
        raise StoreError(f"the DMP of patient {cx} is closed", code="DMPClosed", context=cx)
    return patient


def _entry_row(entry: NewEntry, entry_uuid: str, lid: str, version: int, repository_id: str,
               sha1: str | None, size: int | None, submitter_id: str | None) -> DocumentEntry:
    return DocumentEntry(
        entry_uuid=entry_uuid, lid=lid, version=version, unique_id=entry.unique_id, repository_id=repository_id,
        status=EntryStatus.APPROVED.value, patient_id=canonical_cx(entry.patient_id), class_code=entry.class_code,
        type_code=entry.type_code, practice_setting_code=entry.practice_setting_code,
        facility_type_code=entry.facility_type_code, format_code=entry.format_code,
        creation_time=_time_key(entry.creation_time), service_start=_time_key(entry.service_start),
        service_stop=_time_key(entry.service_stop), mime_type=entry.mime_type, sha1=sha1, size=size,
        submitter_id=submitter_id, metadata_json=_entry_summary(entry), ebrim=entry.ebrim)


def _deprecate_replaced(s: Session, target_uuid: str, patient_id: str) -> str:
    """RPLC: the replaced entry must be an Approved entry of the same patient; it becomes Deprecated."""
    target = s.scalar(select(DocumentEntry).where(DocumentEntry.entry_uuid == target_uuid).with_for_update())
    if target is None:
        raise InvalidSubmission(f"RPLC target {target_uuid} is not a registered DocumentEntry",
                                code="XDSRegistryMetadataError", context=target_uuid)
    if parse_cx(target.patient_id) != parse_cx(patient_id):
        raise InvalidSubmission(f"RPLC target {target_uuid} belongs to another patient",
                                code="XDSPatientIdDoesNotMatch", context=target_uuid)
    if target.status != EntryStatus.APPROVED.value:
        raise InvalidSubmission(f"RPLC target {target_uuid} is {target.status}, not Approved",
                                code="XDSRegistryDeprecatedDocumentError", context=target_uuid)
    target.status = EntryStatus.DEPRECATED.value
    return target_uuid
