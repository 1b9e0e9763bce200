"""XDS.b services of the reference DMP: TD2.1 (ITI-41), TD3.1 (ITI-18), TD3.2 (ITI-43), TD3.3a/b/c/d (ITI-57).

Services read the XDS models of :mod:`conformance.xds`, apply the access rules, call the store and build
responses in the shape of the official examples. Refusals raise :class:`XdsFailure`; the router turns it
into the transaction's response with status Failure and one RegistryError.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from lxml import etree

from conformance.server.access import (
    MASQUE_PS,
    DmpState,
    check_delete,
    check_dmp_access,
    check_feed,
    check_replace,
    check_transaction,
    check_update,
    check_visible,
    feed_confidentiality,
)
from conformance.server.errors import XdsFailure, server_finding
from conformance.server.exchange import (
    Exchange,
    Reply,
    facts_of,
    facts_of_entry,
    same_patient,
    xcn_id,
    xon_id,
)
from conformance.store import Association as AssociationRow
from conformance.store import DocumentEntry as EntryRow
from conformance.store import (
    EntryStatus,
    FindDocumentsQuery,
    FindFoldersQuery,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewFolder,
    NewSubmissionSet,
    Patient,
    StoreError,
    Submission,
)
from conformance.store import Folder as FolderRow
from conformance.store import SubmissionSet as SubmissionSetRow
from conformance.xds import (
    AdhocQueryRequest,
    AdhocQueryResponse,
    AssociationType,
    Author,
    Code,
    ErrorCode,
    ObjectRef,
    ProvideAndRegisterRequest,
    RegistryObjectList,
    RegistryResponse,
    ResponseStatus,
    RetrievedDocument,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
    Slot,
    SubmitObjectsRequest,
    XdsParseError,
)
from conformance.xds import Association as XdsAssociation
from conformance.xds import DocumentEntry as XdsEntry
from conformance.xds import Folder as XdsFolder
from conformance.xds import SubmissionSet as XdsSubmissionSet
from conformance.xds.constants import DOCUMENT_RELATIONSHIPS
from conformance.xds.ebrim import parse_document_entry, parse_folder, parse_submission_set
from conformance.xds.queries import StoredQuery, missing_parameters, parameters_of

VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
STATUS_TRANSITIONS = {  # ITI-57 UpdateAvailabilityStatus transitions the DMP accepts (JDV_J52)
    (EntryStatus.APPROVED, EntryStatus.ARCHIVED), (EntryStatus.ARCHIVED, EntryStatus.APPROVED),
    (EntryStatus.APPROVED, EntryStatus.DELETED), (EntryStatus.ARCHIVED, EntryStatus.DELETED),
}


# --- failures -------------------------------------------------------------------------------------------------

def registry_failure(failure: XdsFailure) -> etree._Element:
    return RegistryResponse.failure(failure.code, failure.context, failure.location).to_element()


def query_failure(failure: XdsFailure) -> etree._Element:
    response = RegistryResponse.failure(failure.code, failure.context, failure.location)
    return AdhocQueryResponse(status=ResponseStatus.FAILURE, errors=response.errors).to_element()


def retrieve_failure(failure: XdsFailure) -> etree._Element:
    response = RetrieveDocumentSetResponse(RegistryResponse.failure(failure.code, failure.context, failure.location))
    return response.to_element()


def _patient_of_call(exchange: Exchange, cx: str | None) -> tuple[Patient, DmpState]:
    """The patient the message is about: it must be the VIHF's patient and have a DMP."""
    vihf_cx = exchange.auth.patient_cx
    if not cx:
        raise XdsFailure(ErrorCode.REGISTRY_METADATA_ERROR, "no patientId in the message")
    if vihf_cx and not same_patient(cx, vihf_cx):
        raise XdsFailure(ErrorCode.PATIENT_ID_DOES_NOT_MATCH,
                         f"patientId {cx} differs from the VIHF resource-id {vihf_cx}")
    patient = exchange.patient(cx)
    if patient is None:
        raise XdsFailure(ErrorCode.UNKNOWN_PATIENT_ID, f"no DMP for patient {cx}")
    return patient, exchange.dmp_state(patient)


# --- TD2.1 / ITI-41 -------------------------------------------------------------------------------------------

def _codes(codes: Iterable[Code]) -> list[str]:
    return [str(code) for code in codes]


def _new_entry(entry: XdsEntry, confidentiality: list[str]) -> NewEntry:
    def text(code: Code | None) -> str | None:
        return str(code) if code is not None else None

    return NewEntry(
        entry_uuid=entry.id, unique_id=entry.unique_id or "", patient_id=entry.patient_id or "",
        class_code=text(entry.class_code), type_code=text(entry.type_code),
        practice_setting_code=text(entry.practice_setting_code),
        facility_type_code=text(entry.healthcare_facility_type_code), format_code=text(entry.format_code),
        creation_time=entry.creation_time, service_start=entry.service_start_time,
        service_stop=entry.service_stop_time, mime_type=entry.mime_type or "application/octet-stream",
        confidentiality_codes=confidentiality, event_codes=_codes(entry.event_codes),
        author_persons=[p for p in (xcn_id(a.person) for a in entry.authors) if p],
        author_institutions=[i for a in entry.authors for i in (xon_id(v) for v in a.institutions) if i],
        legal_authenticator=xcn_id(entry.legal_authenticator), hash=entry.hash,
        size=int(entry.size) if entry.size and entry.size.isdigit() else None,
        metadata={"title": entry.title}, ebrim=etree.tostring(entry.element).decode()
        if entry.element is not None else None)


def _documents_by_entry(exchange: Exchange, request: ProvideAndRegisterRequest,
                        entries: Sequence[XdsEntry]) -> dict[str, XdsEntry]:
    """The DocumentEntry of each ``xdsb:Document``. The official TD2.1 example pairs ``documentME2`` with
    ``DocumentME2`` and the DMP accepted it: a match that differs only by case is accepted with a warning."""
    exact = {e.id: e for e in entries}
    folded = {e.id.casefold(): e for e in entries}
    by_id: dict[str, XdsEntry] = {}
    for key in request.documents:
        entry = exact.get(key) or folded.get(key.casefold())
        if entry is None:
            raise XdsFailure(ErrorCode.MISSING_DOCUMENT_METADATA, f"xdsb:Document {key} has no DocumentEntry")
        if entry.id != key:
            exchange.findings.append(server_finding(
                "BENCH-XDS-DOCUMENT-ID-CASE", f"xdsb:Document id {key!r} matches DocumentEntry {entry.id!r} only "
                "when case is ignored (accepted, as the DMP did for the official TD2.1 example)",
                hint="use exactly the DocumentEntry id as xdsb:Document/@id"))
        by_id[key] = entry
    return by_id


def provide_and_register(exchange: Exchange) -> Reply:
    try:
        request = ProvideAndRegisterRequest.from_message(exchange.message)
    except XdsParseError as exc:
        raise XdsFailure(ErrorCode.REPOSITORY_ERROR, str(exc)) from exc
    if request.unresolved:
        raise XdsFailure(ErrorCode.MISSING_DOCUMENT,
                         f"xdsb:Document {', '.join(request.unresolved)} points to no MIME part")
    metadata = request.metadata
    sset = metadata.submission_set
    if sset is None or not sset.unique_id:
        raise XdsFailure(ErrorCode.REGISTRY_METADATA_ERROR, "the submission has no SubmissionSet with a uniqueId")
    patient, dmp = _patient_of_call(exchange, sset.patient_id)
    by_id = _documents_by_entry(exchange, request, metadata.document_entries)
    for entry in metadata.document_entries:
        if not entry.unique_id:
            raise XdsFailure(ErrorCode.REGISTRY_METADATA_ERROR, f"DocumentEntry {entry.id} has no uniqueId")
    for folder in metadata.folders:
        if not folder.unique_id:
            raise XdsFailure(ErrorCode.REGISTRY_METADATA_ERROR, f"Folder {folder.id} has no uniqueId")
    signature_ids = {e.id for e in metadata.signature_entries()}
    signs_the_set = any(a.target == sset.id for a in metadata.associations_of_type(AssociationType.SIGNS))
    if exchange.settings.require_signature_document and not (signature_ids and signs_the_set):
        raise XdsFailure(ErrorCode.REPOSITORY_METADATA_ERROR,
                         "the submission has no signature DocumentEntry with a signs association to the "
                         "SubmissionSet: the DMP requires the submission set to be signed (XAdES)")
    entries = [_new_entry(e, feed_confidentiality(exchange.caller, dmp, _codes(e.confidentiality_codes)))
               for e in metadata.document_entries]
    documents = [NewDocument(by_id[key].unique_id or "", content, by_id[key].mime_type or "")
                 for key, content in request.documents.items()]
    authored = [facts_of_entry(e) for e in entries if e.entry_uuid not in signature_ids]
    decision = check_feed(exchange.caller, dmp, authored)
    for association in metadata.associations_of_type(AssociationType.RPLC):
        if decision:
            replaced = exchange.store.entries(uuids=[association.target])
            if replaced:
                decision = check_replace(exchange.caller, dmp, facts_of(replaced[0]), authored)
    exchange.record("feed", patient, decision, target=",".join(e.unique_id for e in entries))
    if not decision:
        raise XdsFailure(decision.code or ErrorCode.REPOSITORY_ERROR, decision.reason)
    submission = Submission(
        submission_set=NewSubmissionSet(
            entry_uuid=sset.id, unique_id=sset.unique_id, patient_id=sset.patient_id or "",
            source_id=sset.source_id, submission_time=sset.submission_time,
            content_type_code=str(sset.content_type_code) if sset.content_type_code else None,
            ebrim=etree.tostring(sset.element).decode() if sset.element is not None else None),
        entries=entries, documents=documents,
        associations=[NewAssociation(a.id, a.type, a.source, a.target, {s.name: s.values for s in a.extra_slots})
                      for a in metadata.associations],
        repository_id=exchange.settings.repository_id, submitter_id=exchange.caller.actor_id,
        folders=[NewFolder(f.id, f.unique_id or "", f.patient_id or "", title=f.title, codes=_codes(f.codes),
                           ebrim=etree.tostring(f.element).decode() if f.element is not None else None)
                 for f in metadata.folders])
    try:
        exchange.store.register_submission(submission)
    except StoreError as exc:
        raise XdsFailure(exc.code, str(exc)) from exc
    return Reply(RegistryResponse().to_element())


# --- TD3.1 / ITI-18 -------------------------------------------------------------------------------------------

def _entry_model(row: EntryRow) -> XdsEntry:
    """The stored entry as an XDS model, with the registry-assigned values (ids, status, hash, size…)."""
    if row.ebrim:
        entry = parse_document_entry(etree.fromstring(row.ebrim))
    else:  # an entry stored through the store API (seeding, bulk load): rebuild what the columns hold
        summary = row.metadata_json
        entry = XdsEntry(id=row.entry_uuid, unique_id=row.unique_id, patient_id=row.patient_id,
                         mime_type=row.mime_type, title=summary.get("title"), comments=summary.get("comments"),
                         class_code=_code(row.class_code), type_code=_code(row.type_code),
                         format_code=_code(row.format_code), practice_setting_code=_code(row.practice_setting_code),
                         healthcare_facility_type_code=_code(row.facility_type_code),
                         event_codes=[c for c in map(_code, summary.get("eventCodes", [])) if c],
                         authors=[Author(person=p) for p in summary.get("authorPersons", [])],
                         creation_time=row.creation_time, service_start_time=row.service_start,
                         service_stop_time=row.service_stop)
    entry.id, entry.lid, entry.status, entry.version = row.entry_uuid, row.lid, row.status, str(row.version)
    entry.hash, entry.size = row.sha1, str(row.size) if row.size is not None else None
    entry.repository_unique_id = row.repository_id
    entry.confidentiality_codes = [c for c in map(_code, row.metadata_json.get("confidentialityCodes", [])) if c]
    return entry


def _code(value: str | None) -> Code | None:
    """``code^^scheme`` (the stored form) → Code."""
    if not value:
        return None
    code, _, scheme = value.partition("^^")
    return Code(code, scheme or None)


def _submission_set_model(row: SubmissionSetRow) -> XdsSubmissionSet:
    if row.ebrim:
        sset = parse_submission_set(etree.fromstring(row.ebrim))
    else:
        sset = XdsSubmissionSet(id=row.entry_uuid, unique_id=row.unique_id, patient_id=row.patient_id)
    sset.id, sset.status = row.entry_uuid, EntryStatus.APPROVED.value
    return sset


def _folder_model(row: FolderRow) -> XdsFolder:
    """The stored folder with the registry-assigned values (entryUUID, status, lastUpdateTime)."""
    folder = parse_folder(etree.fromstring(row.ebrim)) if row.ebrim else \
        XdsFolder(id=row.entry_uuid, unique_id=row.unique_id, patient_id=row.patient_id, title=row.title,
                  codes=[c for c in map(_code, row.codes) if c])
    folder.id, folder.status, folder.last_update_time = row.entry_uuid, row.status, row.last_update_time
    return folder


def _association_model(row: AssociationRow) -> XdsAssociation:
    return XdsAssociation(id=row.entry_uuid, type=row.association_type, source=row.source, target=row.target,
                          status=EntryStatus.APPROVED.value,
                          extra_slots=[Slot(k, list(v)) for k, v in row.slots.items()])


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise XdsFailure(ErrorCode.STORED_QUERY_PARAM_NUMBER, f"{name} takes one value, got {len(values)}")
    return values[0] if values else None


def _find_query(params: dict[str, list[str]], limit: int) -> FindDocumentsQuery:
    prefix = "$XDSDocumentEntry"
    return FindDocumentsQuery(
        patient_id=_single(params, f"{prefix}PatientId") or "",
        statuses=params.get(f"{prefix}Status", []), class_codes=params.get(f"{prefix}ClassCode", []),
        type_codes=params.get(f"{prefix}TypeCode", []),
        practice_setting_codes=params.get(f"{prefix}PracticeSettingCode", []),
        facility_type_codes=params.get(f"{prefix}HealthcareFacilityTypeCode", []),
        format_codes=params.get(f"{prefix}FormatCode", []), event_codes=params.get(f"{prefix}EventCodeList", []),
        confidentiality_codes=params.get(f"{prefix}ConfidentialityCode", []),
        author_persons=params.get(f"{prefix}AuthorPerson", []),
        creation_from=_single(params, f"{prefix}CreationTimeFrom"),
        creation_to=_single(params, f"{prefix}CreationTimeTo"),
        service_start_from=_single(params, f"{prefix}ServiceStartTimeFrom"),
        service_start_to=_single(params, f"{prefix}ServiceStartTimeTo"),
        service_stop_from=_single(params, f"{prefix}ServiceStopTimeFrom"),
        service_stop_to=_single(params, f"{prefix}ServiceStopTimeTo"),
        reference_ids=params.get(f"{prefix}ReferenceIdList", []), limit=limit + 1)


def _find_folders_query(params: dict[str, list[str]], limit: int) -> FindFoldersQuery:
    prefix = "$XDSFolder"
    return FindFoldersQuery(
        patient_id=_single(params, f"{prefix}PatientId") or "", statuses=params.get(f"{prefix}Status", []),
        codes=params.get(f"{prefix}CodeList", []), updated_from=_single(params, f"{prefix}LastUpdateTimeFrom"),
        updated_to=_single(params, f"{prefix}LastUpdateTimeTo"), limit=limit + 1)


def _visible(exchange: Exchange, rows: Sequence[EntryRow], known: dict[str, DmpState] | None = None
             ) -> list[EntryRow]:
    """The entries of the VIHF's patient the caller may see (masking, visibility); ``known`` DMP states by CX."""
    states: dict[str, DmpState] = dict(known or {})
    visible = []
    for row in rows:
        if not same_patient(row.patient_id, exchange.auth.patient_cx):
            continue
        if row.patient_id not in states:
            states[row.patient_id] = exchange.dmp_state(exchange.patient(row.patient_id))
        if check_visible(exchange.caller, states[row.patient_id], facts_of(row)):
            visible.append(row)
    return visible


Container = TypeVar("Container", SubmissionSetRow, FolderRow)


def _contents(exchange: Exchange, found: tuple[Container, list[EntryRow], list[AssociationRow]] | None,
              objects: RegistryObjectList) -> Container | None:
    """Get…AndContents: the container of the VIHF's patient, its visible entries and their HasMember
    associations put in ``objects``; None when there is no such container."""
    if found is None or not same_patient(found[0].patient_id, exchange.auth.patient_cx):
        return None
    container, rows, members = found
    visible = _visible(exchange, rows)
    shown = {r.entry_uuid for r in visible}
    objects.document_entries = [_entry_model(r) for r in visible]
    objects.associations = [_association_model(a) for a in members if a.target in shown]
    return container


def _find_access(exchange: Exchange, patient_cx: str, action: str) -> tuple[Patient, DmpState]:
    """TD3.1 on the VIHF's patient: the caller may query this DMP (one access history line either way)."""
    patient, dmp = _patient_of_call(exchange, patient_cx)
    decision = check_transaction(exchange.caller, "TD3.1")
    if decision:
        decision = check_dmp_access(exchange.caller, dmp)
    exchange.record(action, patient, decision)
    if not decision:
        raise XdsFailure(decision.code or ErrorCode.REGISTRY_ERROR, decision.reason)
    return patient, dmp


def stored_query(exchange: Exchange) -> Reply:
    request = AdhocQueryRequest.from_element(exchange.body)
    missing = missing_parameters(request)
    if missing:
        raise XdsFailure(ErrorCode.STORED_QUERY_MISSING_PARAM, f"missing parameter(s): {', '.join(missing)}")
    try:
        params = parameters_of(request)
    except ValueError as exc:
        raise XdsFailure(ErrorCode.REGISTRY_ERROR, f"malformed parameter value: {exc}") from exc
    store, limit = exchange.store, exchange.settings.max_query_results
    objects = RegistryObjectList()
    if request.query_id in (StoredQuery.FIND_DOCUMENTS, StoredQuery.FIND_DOCUMENTS_BY_REFERENCE_ID):
        query = _find_query(params, limit)
        patient, dmp = _find_access(exchange, query.patient_id, "find")
        rows = store.find_documents(query)
        if len(rows) > limit:
            raise XdsFailure(ErrorCode.TOO_MANY_RESULTS, f"more than {limit} entries match: narrow the query")
        objects.document_entries = [_entry_model(r) for r in _visible(exchange, rows, {patient.cx: dmp})]
    elif request.query_id == StoredQuery.FIND_FOLDERS:
        folder_query = _find_folders_query(params, limit)
        _find_access(exchange, folder_query.patient_id, "find folders")
        folders = store.find_folders(folder_query)
        if len(folders) > limit:
            raise XdsFailure(ErrorCode.TOO_MANY_RESULTS, f"more than {limit} folders match: narrow the query")
        objects.folders = [_folder_model(r) for r in folders]
    else:
        exchange.transaction = "TD3.1b"
        objects = _other_query(exchange, request.query_id, params)
    if request.return_type == "ObjectRef":
        objects = RegistryObjectList(object_refs=[ObjectRef(o.id) for o in objects.objects()])
    count = len(objects.object_refs) or len(list(objects.objects()))
    response = AdhocQueryResponse(objects=objects, total_result_count=count, start_index=0)
    return Reply(response.to_element(), outcome=f"Success ({count} objects)")


def _by_id_params(params: dict[str, list[str]], prefix: str) -> tuple[list[str], list[str]]:
    return params.get(f"${prefix}EntryUUID", []), params.get(f"${prefix}UniqueId", [])


def _other_query(exchange: Exchange, query_id: str, params: dict[str, list[str]]) -> RegistryObjectList:
    """GetDocuments (TD3.1b), GetAssociations, GetSubmissionSetAndContents, GetFolders, GetFolderAndContents,
    GetFoldersForDocument, GetRelatedDocuments."""
    store = exchange.store
    patient = exchange.patient()
    dmp = exchange.dmp_state(patient)
    decision = check_dmp_access(exchange.caller, dmp)
    exchange.record(f"query {query_id}", patient or exchange.auth.patient_cx, decision)
    if not decision:
        raise XdsFailure(decision.code or ErrorCode.REGISTRY_ERROR, decision.reason)
    objects = RegistryObjectList()
    if query_id in (StoredQuery.GET_DOCUMENTS, StoredQuery.GET_DOCUMENTS_AND_ASSOCIATIONS):
        uuids, unique_ids = _by_id_params(params, "XDSDocumentEntry")
        rows = _visible(exchange, store.entries(uuids=uuids, unique_ids=unique_ids))
        objects.document_entries = [_entry_model(r) for r in rows]
        if query_id == StoredQuery.GET_DOCUMENTS_AND_ASSOCIATIONS and rows:
            objects.associations = [_association_model(a) for a in store.associations([r.entry_uuid for r in rows])]
    elif query_id == StoredQuery.GET_ASSOCIATIONS:
        visible = {r.entry_uuid for r in _visible(exchange, store.entries(uuids=params.get("$uuid", [])))}
        objects.associations = [_association_model(a) for a in store.associations(sorted(visible))]
    elif query_id == StoredQuery.GET_SUBMISSION_SET_AND_CONTENTS:
        uuids, unique_ids = _by_id_params(params, "XDSSubmissionSet")
        sset = _contents(exchange, store.submission_set_and_contents((uuids or unique_ids)[0]), objects)
        objects.submission_sets = [_submission_set_model(sset)] if sset is not None else []
    elif query_id == StoredQuery.GET_FOLDER_AND_CONTENTS:
        uuids, unique_ids = _by_id_params(params, "XDSFolder")
        folder = _contents(exchange, store.folder_and_contents((uuids or unique_ids)[0]), objects)
        objects.folders = [_folder_model(folder)] if folder is not None else []
    elif query_id == StoredQuery.GET_FOLDERS:
        uuids, unique_ids = _by_id_params(params, "XDSFolder")
        rows = [store.folder(i) for i in [*uuids, *unique_ids]]
        objects.folders = [_folder_model(f) for f in rows
                           if f is not None and same_patient(f.patient_id, exchange.auth.patient_cx)]
    elif query_id == StoredQuery.GET_FOLDERS_FOR_DOCUMENT:
        uuids, unique_ids = _by_id_params(params, "XDSDocumentEntry")
        documents = _visible(exchange, store.entries(uuids=uuids, unique_ids=unique_ids))
        objects.folders = [_folder_model(f) for f in store.folders_of_entries([d.entry_uuid for d in documents])]
    elif query_id == StoredQuery.GET_RELATED_DOCUMENTS:
        uuids, unique_ids = _by_id_params(params, "XDSDocumentEntry")
        origin = _visible(exchange, store.entries(uuids=uuids, unique_ids=unique_ids, latest_only=True))
        if origin:
            types = params.get("$AssociationTypes") or sorted(DOCUMENT_RELATIONSHIPS)
            rows, assocs = store.related_documents(origin[0].entry_uuid, types)
            visible = _visible(exchange, rows)
            shown = {r.entry_uuid for r in visible} | {origin[0].entry_uuid}
            objects.document_entries = [_entry_model(r) for r in [origin[0], *visible]]
            objects.associations = [_association_model(a) for a in assocs if a.source in shown and a.target in shown]
    else:
        raise XdsFailure(ErrorCode.UNKNOWN_STORED_QUERY,
                         f"stored query {query_id} is not supported by the reference DMP "
                         "(FindDocuments, FindDocumentsByReferenceId, FindFolders, GetDocuments, GetDocumentsAndAssociations, GetAssociations, "
                         "GetSubmissionSetAndContents, GetFolders, GetFolderAndContents, GetFoldersForDocument, "
                         "GetRelatedDocuments are)")
    return objects


# --- TD3.2 / ITI-43 -------------------------------------------------------------------------------------------

def retrieve(exchange: Exchange) -> Reply:
    request = RetrieveDocumentSetRequest.from_element(exchange.body)
    if not request.documents:
        raise XdsFailure(ErrorCode.REPOSITORY_ERROR, "RetrieveDocumentSetRequest has no DocumentRequest")
    decision = check_transaction(exchange.caller, "TD3.2")
    if not decision:
        exchange.record("retrieve", exchange.auth.patient_cx, decision)
        raise XdsFailure(decision.code or ErrorCode.REPOSITORY_ERROR, decision.reason)
    response = RetrieveDocumentSetResponse()
    errors = response.response.errors
    for item in request.documents:
        failure = _retrieve_one(exchange, item.repository_unique_id, item.document_unique_id)
        if isinstance(failure, XdsFailure):
            errors.extend(RegistryResponse.failure(failure.code, failure.context, failure.location).errors)
        else:
            response.documents.append(failure)
    if errors:
        response.response.status = ResponseStatus.PARTIAL_SUCCESS if response.documents else ResponseStatus.FAILURE
    body, attachments = response.to_element(), response.attachments()
    outcome = "Success" if not errors else f"{response.response.status.rsplit(':', 1)[-1]} ({errors[0].error_code})"
    return Reply(body, attachments, outcome=outcome, mtom=True)


def _retrieve_one(exchange: Exchange, repository_id: str, unique_id: str) -> RetrievedDocument | XdsFailure:
    if repository_id != exchange.settings.repository_id:
        return XdsFailure(ErrorCode.UNKNOWN_REPOSITORY_ID,
                          f"repository {repository_id} is unknown (this DMP is {exchange.settings.repository_id})")
    document = exchange.store.document(unique_id)
    entry = exchange.store.latest_entry_for_document(unique_id) if document is not None else None
    if document is None or entry is None or not same_patient(entry.patient_id, exchange.auth.patient_cx):
        hint = " (an entryUUID was sent: ITI-43 wants the document uniqueId)" if unique_id.startswith("urn:uuid:") \
            else ""
        exchange.record("retrieve", exchange.auth.patient_cx, target=unique_id, detail="unknown document")
        return XdsFailure(ErrorCode.DOCUMENT_UNIQUE_ID_ERROR, f"{unique_id}{hint}")
    patient = exchange.patient(entry.patient_id)
    decision = check_visible(exchange.caller, exchange.dmp_state(patient), facts_of(entry))
    exchange.record("retrieve", patient, decision, target=unique_id)
    if not decision:
        return XdsFailure(decision.code or ErrorCode.DOCUMENT_UNIQUE_ID_ERROR, f"{unique_id}: {decision.reason}")
    return RetrievedDocument(repository_id, unique_id, document.mime_type, document.content)


# --- TD3.3 / ITI-57 -------------------------------------------------------------------------------------------

def update_document_set(exchange: Exchange) -> Reply:
    """UpdateAvailabilityStatus (archive, unarchive, delete) and new metadata versions (mask, visibility)."""
    metadata = SubmitObjectsRequest.from_element(exchange.body).metadata
    sset = metadata.submission_set
    patient, dmp = _patient_of_call(exchange, sset.patient_id if sset else exchange.auth.patient_cx)
    status_updates = metadata.associations_of_type(AssociationType.UPDATE_AVAILABILITY_STATUS)
    versions = [(a, metadata.by_id(a.target)) for a in metadata.associations_of_type(AssociationType.HAS_MEMBER)
                if a.value("PreviousVersion")]
    if not status_updates and not versions:
        raise XdsFailure(ErrorCode.METADATA_UPDATE_ERROR,
                         "no UpdateAvailabilityStatus association and no DocumentEntry with PreviousVersion")
    plan = [_plan_status(exchange, patient, dmp, a) for a in status_updates]
    plan += [_plan_version(exchange, patient, dmp, a, entry) for a, entry in versions]
    for apply in plan:  # every check passed before the first write
        try:
            apply()
        except StoreError as exc:
            raise XdsFailure(exc.code, str(exc)) from exc
    return Reply(RegistryResponse().to_element())


def _target(exchange: Exchange, entry_uuid: str) -> EntryRow:
    rows = exchange.store.entries(uuids=[entry_uuid])
    if not rows or not same_patient(rows[0].patient_id, exchange.auth.patient_cx):
        raise XdsFailure(ErrorCode.METADATA_UPDATE_ERROR, f"no DocumentEntry {entry_uuid} in this DMP")
    return rows[0]


def _status(value: str | None, what: str) -> EntryStatus:
    try:
        return EntryStatus(value or "")
    except ValueError:
        raise XdsFailure(ErrorCode.METADATA_UPDATE_ERROR, f"{what} {value!r} is not a JDV_J52 status") from None


Step = Callable[[], object]


def _plan_status(exchange: Exchange, patient: Patient, dmp: DmpState, association: XdsAssociation) -> Step:
    row = _target(exchange, association.target)
    original = _status(association.original_status, "OriginalStatus")
    new = _status(association.new_status, "NewStatus")
    if (original, new) not in STATUS_TRANSITIONS:
        raise XdsFailure(ErrorCode.METADATA_UPDATE_ERROR,
                         f"transition {original.value} -> {new.value} is not allowed "
                         "(Approved <-> Archived, Approved/Archived -> Deleted)")
    if row.status != original.value:
        raise XdsFailure(ErrorCode.METADATA_UPDATE_ERROR,
                         f"DocumentEntry {row.entry_uuid} is {row.status}, not the OriginalStatus {original.value}")
    deleting = new is EntryStatus.DELETED
    exchange.transaction = "TD3.3c" if deleting else "TD3.3d"
    decision = (check_delete if deleting else check_update)(exchange.caller, dmp, facts_of(row))
    exchange.record("delete" if deleting else f"status {new.name.lower()}", patient, decision, target=row.unique_id)
    if not decision:
        raise XdsFailure(decision.code or ErrorCode.METADATA_UPDATE_ERROR, decision.reason)
    return lambda: exchange.store.update_status(row.entry_uuid, new, original)


def _plan_version(exchange: Exchange, patient: Patient, dmp: DmpState, association: XdsAssociation,
                  entry: object) -> Step:
    if not isinstance(entry, XdsEntry) or not entry.lid:
        raise XdsFailure(ErrorCode.METADATA_UPDATE_ERROR,
                         f"HasMember {association.id} with PreviousVersion must target a DocumentEntry with a lid")
    previous = [r for r in exchange.store.versions(entry.lid) if r.status == EntryStatus.APPROVED.value]
    if not previous or str(previous[0].version) != association.value("PreviousVersion"):
        raise XdsFailure(ErrorCode.METADATA_VERSION_ERROR,
                         f"no Approved version {association.value('PreviousVersion')} of lid {entry.lid}")
    row = _target(exchange, previous[0].entry_uuid)
    old_codes = {c.partition("^^")[0] for c in row.metadata_json.get("confidentialityCodes", [])}
    new_codes = {c.code for c in entry.confidentiality_codes}
    exchange.transaction = "TD3.3a" if MASQUE_PS in old_codes ^ new_codes else "TD3.3b"
    decision = check_update(exchange.caller, dmp, facts_of(row))
    exchange.record("metadata update", patient, decision, target=row.unique_id,
                    detail=f"confidentiality {sorted(old_codes)} -> {sorted(new_codes)}")
    if not decision:
        raise XdsFailure(decision.code or ErrorCode.METADATA_UPDATE_ERROR, decision.reason)
    update = copy.copy(entry)
    update.unique_id, update.patient_id = row.unique_id, row.patient_id
    new_entry = _new_entry(update, _codes(entry.confidentiality_codes))
    return lambda: exchange.store.new_metadata_version(row.entry_uuid, new_entry, exchange.caller.actor_id)

