"""The PDSm operations on the reference DMP's store, with the same access rules as the SOAP services.

Each operation takes a :class:`FhirCall` (store, settings, caller, base URL) and returns a FHIR resource (a dict)
or raises :class:`FhirError`. Every read and write leaves one access history line, allowed or refused, like
the SOAP services do (the DMP transaction names are kept: TD2.1 feed, TD3.1 find, TD3.2 retrieve, TD3.3x).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.findings import Finding, Severity
from conformance.server.access import (
    MASQUE_PS,
    Caller,
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
from conformance.server.errors import server_finding
from conformance.server.exchange import Exchange, facts_of, facts_of_entry
from conformance.server.fhir.feed import (
    FedDocument,
    cx_of_identifier,
    list_kind,
    provided_bundle,
    published_document,
)
from conformance.server.fhir.fhirpath_patch import json_patch_of
from conformance.server.fhir.mapping import (
    IS_ARCHIVED,
    UUID_PREFIX,
    coded_of,
    document_reference,
    fhir_id,
    folder_resource,
    lid_of,
    list_resource,
    reference_cx,
    token_to_coded,
    unique_id_of,
)
from conformance.server.fhir.outcome import FhirError, refused, store_refusal
from conformance.server.identity import Authentication
from conformance.server.settings import ServerSettings
from conformance.store import (
    RPLC,
    DocumentEntry,
    EntryStatus,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    Folder,
    NewEntry,
    Patient,
    SearchKind,
    Store,
    StoreError,
    StringModifier,
    Submission,
    SubmissionResult,
    SubmissionSet,
    TextMatch,
)

VISIBLE_STATUSES = (EntryStatus.APPROVED.value, EntryStatus.ARCHIVED.value, EntryStatus.DEPRECATED.value)
FHIR_STATUSES = {"current": (EntryStatus.APPROVED.value, EntryStatus.ARCHIVED.value),
                 "superseded": (EntryStatus.DEPRECATED.value,)}
PATCHABLE = {"securityLabel", "status", "extension", "meta"}  # PDSm st_maj: anything else → 405
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
STRING_MODIFIERS = tuple(m.value for m in StringModifier)
StringSearch = list[tuple[str, str]]  # (modifier, value) of a FHIR string parameter: "", exact or contains


@dataclass(slots=True)
class FhirCall:
    store: Store
    settings: ServerSettings
    caller: Caller
    base: str  # the FHIR base URL as the client reached it
    transaction: str = "TD3.1"
    findings: list[Finding] = field(default_factory=list)

    @property
    def exchange(self) -> Exchange:
        """The SOAP services' :class:`Exchange` for the shared steps (DMP state, access history); a FHIR call
        has no SOAP message and no VIHF, which these steps do not read."""
        return Exchange(self.store, self.settings, None, Authentication(self.caller, None),  # type: ignore[arg-type]
                        self.transaction, self.findings)

    def patient(self, cx: str) -> tuple[Patient, DmpState]:
        patient = self.store.patient(cx)
        if patient is None:
            self.exchange.record("find", cx, detail="unknown patient")
            raise FhirError(404, f"no DMP for patient {cx.split('^', 1)[0]}", expression="patient")
        return patient, self.exchange.dmp_state(patient)

    def record(self, action: str, patient: Patient | str | None, decision: Any = None, *,
               target: str | None = None, detail: str | None = None) -> None:
        self.exchange.record(action, patient, decision, target=target, detail=detail)


# --- helpers ----------------------------------------------------------------------------------------------------

def _values(raw: Sequence[str]) -> list[str]:
    """Repeated parameters and comma-separated alternatives (FHIR OR) flattened. A NUL is refused: the values go
    to SQL, and PostgreSQL text cannot hold one."""
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    if any("\x00" in v for v in values):
        raise FhirError(400, "a search value contains a NUL character")
    return values


def _text_matches(kind: SearchKind, search: StringSearch) -> list[TextMatch]:
    """String parameters for the store: every parameter matches (AND), each by one of its comma-separated
    alternatives (OR)."""
    return [TextMatch(kind, tuple(_values([raw])), StringModifier(modifier)) for modifier, raw in search]


def _too_costly(found: int, limit: int, what: str) -> None:
    """More matches than ``max_query_results``: refused (PDSm has no paging), never cut."""
    if found > limit:
        raise FhirError(422, f"more than {limit} {what} match: narrow the search", code="too-costly")


def string_parameters(parameters: Sequence[tuple[str, str]], name: str) -> StringSearch:
    """The values of string parameter ``name`` with its modifiers (``name:exact=…``) from (key, value) pairs."""
    found = []
    for key, value in parameters:
        base, _, modifier = key.partition(":")
        if base != name:
            continue
        if modifier not in STRING_MODIFIERS:
            raise FhirError(400, f"{key}: only the exact and contains modifiers are supported", expression=key)
        if not value.strip():
            raise FhirError(400, f"{key} needs a value", expression=key)
        found.append((modifier, value))
    return found


def _reference_cx(token: str) -> str:
    """``related`` (``system|value``) → the referenceIdList CXi it names (MHD: value ↔ CXi.1, system ↔ the
    assigning authority CXi.4, ``urn:oid:`` for an ISO one); a bare value names any authority."""
    system, _, value = token.partition("|")
    return reference_cx(value, system) if value else token


def _referenced_ids(values: Sequence[str]) -> set[str]:
    """``Type/id``, ``system|value`` or a bare id → the ids (the bench names professionals and organisations by
    their national id, as it names patients by their INS)."""
    return {v.rsplit("/", 1)[-1].rpartition("|")[2] for v in _values(values)}


def _patient_cx(patient: str | None, patient_identifier: str | None) -> str:
    if patient_identifier:
        system, sep, value = patient_identifier.partition("|")
        cx = cx_of_identifier({"system": system, "value": value}) if sep else None
        if cx is None:
            raise FhirError(400, "patient.identifier must be urn:oid:1.2.250.1.213.1.4.x|<INS> (an INS)",
                            expression="patient.identifier")
        return cx
    if patient:
        ins = patient.rsplit("/", 1)[-1]
        return f"{ins}^^^&1.2.250.1.213.1.4.10&ISO^NH"  # the bench's Patient ids are the INS (test NIR OID)
    raise FhirError(400, "a search needs patient or patient.identifier (MHD minimum)", expression="patient")


def _date_bounds(values: Sequence[str], name: str) -> tuple[str | None, str | None]:
    """FHIR date search values → (from inclusive, to exclusive) as DTM digits."""
    low: str | None = None
    high: str | None = None
    for value in values:
        prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
        digits = "".join(ch for ch in value[2:] if ch.isdigit()) if value[:2] in DATE_PREFIXES else \
            "".join(ch for ch in value if ch.isdigit())
        digits = digits[:14]
        if len(digits) < 4:
            raise FhirError(400, f"{name}={value!r} is not a FHIR date", expression=name)
        start, end = digits.ljust(14, "0"), digits.ljust(14, "9")
        if prefix in ("ge", "gt", "sa", "eq", "ap"):
            low = max(low or start, start)
        if prefix in ("le", "lt", "eb", "eq", "ap"):
            high = min(high or end, end) if prefix != "lt" else min(high or start, start)
        if prefix == "ne":
            raise FhirError(400, f"{name}: the ne prefix is not supported", expression=name)
    return low, high


def _statuses(status: Sequence[str], archived: str | None) -> list[str]:
    wanted = set(VISIBLE_STATUSES)
    codes = _values(status)
    if codes:
        unknown = [c for c in codes if c not in FHIR_STATUSES]
        if unknown:
            raise FhirError(400, f"status {unknown} is not current or superseded", expression="status")
        wanted &= {s for c in codes for s in FHIR_STATUSES[c]}
    if archived is not None:
        if archived not in ("true", "false"):
            raise FhirError(400, "isArchived is true or false", expression="isArchived")
        wanted &= {EntryStatus.ARCHIVED.value} if archived == "true" else \
            {EntryStatus.APPROVED.value, EntryStatus.DEPRECATED.value}
    return sorted(wanted) or ["none"]


def _replaced_ids(store: Store, rows: Sequence[DocumentEntry]) -> dict[str, list[str]]:
    """entryUUID → logical ids of the documents it replaced (RPLC), for all ``rows`` in two queries."""
    sources = {r.entry_uuid for r in rows}
    links = [a for a in store.associations(sorted(sources), [RPLC]) if a.source in sources] if sources else []
    lids = {r.entry_uuid: fhir_id(r.lid) for r in store.entries(uuids=[a.target for a in links])} if links else {}
    replaced: dict[str, list[str]] = {uuid_: [] for uuid_ in sources}
    for link in links:
        if link.target in lids:
            replaced[link.source].append(lids[link.target])
    return replaced


def resources_of(call: FhirCall, rows: Sequence[DocumentEntry]) -> list[dict[str, Any]]:
    replaced = _replaced_ids(call.store, rows)
    return [document_reference(row, call.base, replaced[row.entry_uuid]) for row in rows]


def resource_of(call: FhirCall, row: DocumentEntry) -> dict[str, Any]:
    return resources_of(call, [row])[0]


def searchset(call: FhirCall, resource_type: str, resources: list[dict[str, Any]], total: int,
              self_url: str) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "link": [{"relation": "self", "url": self_url}]}
    entries = [{"fullUrl": f"{call.base}/{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}}
               for r in resources]
    warnings = [f for f in call.findings if f.severity is not Severity.INFO]
    if warnings:
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "search": {"mode": "outcome"},
                        "resource": {"resourceType": "OperationOutcome", "issue": [
                            {"severity": "warning", "code": "informational", "diagnostics": f.message}
                            for f in warnings]}})
    if entries:
        bundle["entry"] = entries
    return bundle


# --- ITI-67 / ITI-66 searches, reads ----------------------------------------------------------------------------

@dataclass(slots=True)
class DocumentSearch:
    patient: str | None = None
    patient_identifier: str | None = None
    status: list[str] = field(default_factory=list)
    identifier: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    setting: list[str] = field(default_factory=list)
    facility: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    security_label: list[str] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    date: list[str] = field(default_factory=list)
    period_start: list[str] = field(default_factory=list)
    period_end: list[str] = field(default_factory=list)
    is_archived: str | None = None
    relatesto: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)  # referenceIdList identifiers, ``system|value``
    author: list[str] = field(default_factory=list)  # author and author.identifier: the author's id
    author_given: StringSearch = field(default_factory=list)
    author_family: StringSearch = field(default_factory=list)
    count: int | None = None

    @classmethod
    def from_parameters(cls, parameters: dict[str, list[str]]) -> DocumentSearch:
        """From FHIR search parameters by name (``POST _search`` form bodies); unknown names are ignored."""
        count = _one(parameters, "_count")
        if count is not None and not (count.isdigit() and int(count) <= 1000):
            raise FhirError(400, "_count is an integer from 0 to 1000", expression="_count")
        many = {name: list(parameters.get(name) or []) for name in (
            "status", "identifier", "type", "category", "setting", "facility", "format", "event", "relatesto", "related")}
        pairs = [(key, value) for key, values in parameters.items() for value in values]
        return cls(patient=_one(parameters, "patient"), patient_identifier=_one(parameters, "patient.identifier"),
                   author=[*parameters.get("author", []), *parameters.get("author.identifier", [])],
                   author_given=string_parameters(pairs, "author.given"),
                   author_family=string_parameters(pairs, "author.family"),
                   security_label=list(parameters.get("security-label") or []),
                   date=[*parameters.get("date", []), *parameters.get("creation", [])],
                   period_start=[*parameters.get("period-start", []), *parameters.get("period", [])],
                   period_end=list(parameters.get("period-end") or []), is_archived=_one(parameters, "isArchived"),
                   count=int(count) if count is not None else None, **many)


def _one(parameters: dict[str, list[str]], name: str) -> str | None:
    """The value of a parameter that takes one (400 when repeated)."""
    values = parameters.get(name) or []
    if len(values) > 1:
        raise FhirError(400, f"{name} takes one value", expression=name)
    return values[0] if values else None


def _reader_access(call: FhirCall, cx: str, action: str) -> tuple[Patient, DmpState]:
    patient, dmp = call.patient(cx)
    decision = check_transaction(call.caller, call.transaction)
    if decision:
        decision = check_dmp_access(call.caller, dmp)
    call.record(action, patient, decision)
    if not decision:
        raise refused(decision.code, decision.reason)
    return patient, dmp


def search_documents(call: FhirCall, search: DocumentSearch, self_url: str) -> dict[str, Any]:
    cx = _patient_cx(search.patient, search.patient_identifier)
    if not search.status:
        call.findings.append(server_finding(
            "BENCH-PDSM-LPS-SEARCH", "ITI-67 search without status (MHD minimum: patient and status)",
            hint="add status=current"))
    patient, dmp = _reader_access(call, cx, "find")
    limit = call.settings.max_query_results
    creation = _date_bounds(_values(search.date), "date")
    start = _date_bounds(_values(search.period_start), "period-start")
    stop = _date_bounds(_values(search.period_end), "period-end")
    identifiers = [unique_id_of(v.partition("|")[2] or v) for v in _values(search.identifier)]
    replaced = [lid_of(v.rsplit("/", 1)[-1]) for v in _values(search.relatesto)]
    query = FindDocumentsQuery(
        patient_id=patient.cx, statuses=_statuses(search.status, search.is_archived),
        class_codes=[token_to_coded(t) for t in _values(search.category)],
        type_codes=[token_to_coded(t) for t in _values(search.type)],
        practice_setting_codes=[token_to_coded(t) for t in _values(search.setting)],
        facility_type_codes=[token_to_coded(t) for t in _values(search.facility)],
        format_codes=[token_to_coded(t) for t in _values(search.format)],
        event_codes=[token_to_coded(t) for t in _values(search.event)],
        confidentiality_codes=[token_to_coded(t) for t in _values(search.security_label)],
        author_persons=sorted(_referenced_ids(search.author)),
        author_names=[*_text_matches(SearchKind.AUTHOR_GIVEN, search.author_given),
                      *_text_matches(SearchKind.AUTHOR_FAMILY, search.author_family)],
        ids=[*identifiers, *(f"{UUID_PREFIX}{i}" for i in identifiers)], replacing=replaced, latest_only=True,
        reference_ids=[_reference_cx(v) for v in _values(search.related)],
        creation_from=creation[0], creation_to=creation[1], service_start_from=start[0],
        service_start_to=start[1], service_stop_from=stop[0], service_stop_to=stop[1], limit=limit + 1)
    rows = call.store.find_documents(query)
    _too_costly(len(rows), limit, "documents")
    visible = [r for r in rows if check_visible(call.caller, dmp, facts_of(r))]
    shown = visible[:search.count] if search.count is not None else visible
    return searchset(call, "DocumentReference", resources_of(call, shown), len(visible), self_url)


def _document(call: FhirCall, resource_id: str, action: str) -> tuple[DocumentEntry, Patient]:
    rows = call.store.versions(lid_of(resource_id))
    if not rows or rows[0].status == EntryStatus.DELETED.value:
        call.record(action, None, target=resource_id, detail="unknown document")
        raise FhirError(404, f"no DocumentReference {resource_id}")
    row = rows[0]
    patient, dmp = call.patient(row.patient_id)
    decision = check_transaction(call.caller, call.transaction)
    if decision:
        decision = check_visible(call.caller, dmp, facts_of(row))
    call.record(action, patient, decision, target=row.unique_id)
    if not decision:
        raise refused(decision.code, decision.reason)
    return row, patient


def read_document(call: FhirCall, resource_id: str) -> dict[str, Any]:
    return resource_of(call, _document(call, resource_id, "read")[0])


def read_binary(call: FhirCall, resource_id: str) -> tuple[bytes, str]:
    call.transaction = "TD3.2"
    row, _ = _document(call, resource_id, "retrieve")
    document = call.store.document(row.unique_id)
    if document is None:
        raise FhirError(404, f"no document bytes for {resource_id}")
    return document.content, document.mime_type or row.mime_type


@dataclass(slots=True)
class ListSearch:
    patient: str | None = None
    patient_identifier: str | None = None
    code: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    identifier: list[str] = field(default_factory=list)
    designation_type: list[str] = field(default_factory=list)
    source_id: list[str] = field(default_factory=list)
    date: list[str] = field(default_factory=list)
    is_archived: str | None = None
    title: StringSearch = field(default_factory=list)
    source: list[str] = field(default_factory=list)  # the source's id (reference or identifier)
    source_given: StringSearch = field(default_factory=list)
    source_family: StringSearch = field(default_factory=list)
    author_org: list[str] = field(default_factory=list)  # the source organisation's id

    @classmethod
    def from_parameters(cls, parameters: dict[str, list[str]]) -> ListSearch:
        """From FHIR search parameters by name (``POST List/_search`` form bodies); unknown names are ignored."""
        pairs = [(key, value) for key, values in parameters.items() for value in values]
        return cls(patient=_one(parameters, "patient"), patient_identifier=_one(parameters, "patient.identifier"),
                   is_archived=_one(parameters, "isArchived"), title=string_parameters(pairs, "title"),
                   source_given=string_parameters(pairs, "source.given"),
                   source_family=string_parameters(pairs, "source.family"),
                   designation_type=list(parameters.get("designationType") or []),
                   source_id=list(parameters.get("sourceId") or []), author_org=list(parameters.get("authorOrg") or []),
                   **{name: list(parameters.get(name) or []) for name in ("code", "status", "identifier", "date",
                                                                          "source")})

    @property
    def about_source(self) -> bool:
        """Parameters only a SubmissionSet can match (a Folder has no source: PDSm ``source`` 0..0)."""
        return bool(self.source_id or self.source or self.source_given or self.source_family or self.author_org)


def search_lists(call: FhirCall, search: ListSearch, self_url: str) -> dict[str, Any]:
    """ITI-66: the patient's SubmissionSets and Folders (``code`` chooses; both when absent)."""
    cx = _patient_cx(search.patient, search.patient_identifier)
    found, dmp = _reader_access(call, cx, "find lists")
    codes = {c.rpartition("|")[2] for c in _values(search.code)} or {"submissionset", "folder"}
    if set(_values(search.status)) - {"current"} or search.is_archived == "true":
        # SubmissionSets and Folders are always current and never archived
        return searchset(call, "List", [], 0, self_url)
    ids = [unique_id_of(v.partition("|")[2] or v) for v in _values(search.identifier)]
    ids += [f"{UUID_PREFIX}{i}" for i in ids]
    designations = [token_to_coded(t) for t in _values(search.designation_type)]
    low, high = _date_bounds(_values(search.date), "date")
    limit = call.settings.max_query_results
    sets: list[SubmissionSet] = []
    folders: list[Folder] = []
    if "submissionset" in codes:
        sources = [unique_id_of(v.partition("|")[2] or v) for v in _values(search.source_id)]
        texts = [*_text_matches(SearchKind.TITLE, search.title),
                 *_text_matches(SearchKind.SOURCE_GIVEN, search.source_given),
                 *_text_matches(SearchKind.SOURCE_FAMILY, search.source_family)]
        texts += [TextMatch(kind, tuple(sorted(_referenced_ids(values))), StringModifier.EXACT)
                  for kind, values in ((SearchKind.SOURCE, search.source), (SearchKind.AUTHOR_ORG, search.author_org))
                  if values]
        sets = call.store.find_submission_sets(FindSubmissionSetsQuery(
            patient_id=found.cx, ids=ids, source_ids=sources, content_type_codes=designations, submitted_from=low,
            submitted_to=high, texts=texts, limit=limit + 1))
    if "folder" in codes and not search.about_source:
        folders = call.store.find_folders(FindFoldersQuery(
            patient_id=found.cx, codes=designations, updated_from=low, updated_to=high, ids=ids,
            titles=_text_matches(SearchKind.TITLE, search.title), limit=limit + 1))
    _too_costly(len(sets) + len(folders), limit, "Lists")
    resources = _lists_of(call, [*sets, *folders], dmp)
    return searchset(call, "List", resources, len(resources), self_url)


def _lists_of(call: FhirCall, rows: Sequence[SubmissionSet | Folder], dmp: DmpState) -> list[dict[str, Any]]:
    """SubmissionSet and Folder Lists with the documents the caller may see."""
    members = call.store.members([r.entry_uuid for r in rows])
    resources = []
    for row in rows:
        visible = sorted(fhir_id(r.lid) for r in members[row.entry_uuid]
                         if r.status != EntryStatus.DELETED.value and check_visible(call.caller, dmp, facts_of(r)))
        resources.append(folder_resource(row, visible) if isinstance(row, Folder) else list_resource(row, visible))
    return resources


def read_list(call: FhirCall, resource_id: str) -> dict[str, Any]:
    row = call.store.submission_set(lid_of(resource_id)) or call.store.folder(lid_of(resource_id))
    if row is None:
        call.record("read list", None, target=resource_id, detail="unknown list")
        raise FhirError(404, f"no List {resource_id}")
    _, dmp = _reader_access(call, row.patient_id, "read list")
    return _lists_of(call, [row], dmp)[0]


# --- ITI-65 / ITI-105 feeds -------------------------------------------------------------------------------------

def _feed(call: FhirCall, submission: Submission, cx: str, documents: list[FedDocument]) -> SubmissionResult:
    """TD2.1 on the store: access and author rules (and on replaced documents), then one atomic registration."""
    patient, dmp = call.patient(cx)
    for document in documents:
        document.entry.confidentiality_codes = feed_confidentiality(call.caller, dmp,
                                                                    document.entry.confidentiality_codes)
    facts = [facts_of_entry(d.entry) for d in documents]
    decision = check_feed(call.caller, dmp, facts)
    for document in documents:
        for target in document.replaces:
            if decision:
                decision = check_replace(call.caller, dmp, facts_of(call.store.entries(uuids=[target])[0]), facts)
    call.record("feed", patient, decision, target=",".join(d.entry.unique_id for d in documents))
    if not decision:
        raise refused(decision.code, decision.reason)
    try:
        return call.store.register_submission(submission)
    except StoreError as exc:
        raise store_refusal(exc) from exc


def provide_bundle(call: FhirCall, bundle: dict[str, Any]) -> dict[str, Any]:
    """ITI-65 → transaction-response, one entry per request entry in the same order."""
    call.transaction = "TD2.1"
    provided = provided_bundle(call.store, bundle, call.settings.repository_id, call.caller.actor_id)
    result = _feed(call, provided.submission, provided.patient_cx, provided.documents)
    by_url = {d.full_url: fhir_id(result.entry_uuids[d.entry.entry_uuid]) for d in provided.documents}
    by_url |= {f.full_url: fhir_id(result.folder_uuids.get(f.entry_uuid, f.entry_uuid)) for f in provided.folders}
    updated = {f.full_url for f in provided.folders if f.existing}
    set_id = fhir_id(result.submission_set_uuid)
    responses = []
    for index, url, resource, method in provided.entries:
        kind = resource.get("resourceType")
        if kind == "DocumentReference" and method == "POST":
            location, status = f"DocumentReference/{by_url.get(url)}/_history/1", "201 Created"
        elif kind == "Binary":
            doc = next((by_url[d.full_url] for d in provided.documents if d.binary_url == url), None)
            location, status = f"Binary/{doc}", "201 Created"
        elif method == "PATCH":  # UpdateDocumentRefs: superseded by the RPLC of the replacing document
            location, status = provided.updates[index], "200 OK"
        elif list_kind(resource) == "folder":
            location, status = f"List/{by_url.get(url)}", "200 OK" if url in updated else "201 Created"
        elif kind == "List":
            location, status = f"List/{set_id}", "201 Created"
        else:
            location, status = f"{kind}", "200 OK"
        responses.append({"response": {"status": status, "location": location}})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}


def publish(call: FhirCall, resource: dict[str, Any]) -> dict[str, Any]:
    """ITI-105 simplified publish → the created DocumentReference."""
    call.transaction = "TD2.1"
    submission, fed = published_document(call.store, resource, call.settings.repository_id, call.caller.actor_id)
    result = _feed(call, submission, fed.entry.patient_id, [fed])
    return resource_of(call, call.store.entries(uuids=[result.entry_uuids[fed.entry.entry_uuid]])[0])


# --- metadata updates (PATCH) -----------------------------------------------------------------------------------

def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise FhirError(422, f"JSON Patch path {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply_json_patch(resource: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 add / remove / replace / test on a copy (move and copy are not needed by PDSm)."""
    if not isinstance(operations, list) or not operations:
        raise FhirError(400, "the body is not a JSON Patch document (a non-empty array of operations)")
    result = copy.deepcopy(resource)
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace", "test") \
                or not isinstance(op.get("path"), str):
            raise FhirError(422, f"JSON Patch operation {index} is not an add, remove, replace or test with a path",
                            expression=f"[{index}]")
        if op["path"] == "":
            raise FhirError(405, "a JSON Patch may not replace the whole resource")
        parts = _pointer(op["path"])
        parent: Any = result
        for part in parts[:-1]:
            parent = _step(parent, part, op["path"])
        _apply(parent, parts[-1], op, index)
    return result


def _step(node: Any, part: str, path: str) -> Any:
    try:
        return node[int(part)] if isinstance(node, list) else node[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise FhirError(422, f"JSON Patch path {path!r} does not exist in the resource") from None


def _apply(parent: Any, key: str, op: dict[str, Any], index: int) -> None:
    kind = op["op"]
    if kind in ("add", "replace", "test") and "value" not in op:
        raise FhirError(422, f"JSON Patch operation {index} ({kind}) has no value", expression=f"[{index}]")
    try:
        if isinstance(parent, list):
            position = len(parent) if key == "-" else int(key)
            if kind == "add":
                parent.insert(position, op["value"])
            elif kind == "remove":
                parent.pop(position)
            elif kind == "replace":
                parent[position] = op["value"]
            elif parent[position] != op["value"]:
                raise FhirError(412, f"JSON Patch test {op['path']} failed")
        elif isinstance(parent, dict):
            if kind == "add":
                parent[key] = op["value"]
            elif kind == "remove":
                del parent[key]
            elif kind == "replace":
                if key not in parent:
                    raise KeyError(key)
                parent[key] = op["value"]
            elif parent.get(key) != op["value"]:
                raise FhirError(412, f"JSON Patch test {op['path']} failed")
        else:
            raise TypeError(key)
    except (KeyError, IndexError, ValueError, TypeError):
        raise FhirError(422, f"JSON Patch path {op['path']!r} does not exist in the resource") from None


def _archived(resource: dict[str, Any]) -> bool:
    return any(isinstance(e, dict) and e.get("url") == IS_ARCHIVED and e.get("valueBoolean") is True
               for e in resource.get("extension") or [])


def patch_document(call: FhirCall, resource_id: str, operations: Any, fhirpath: bool = False) -> dict[str, Any]:
    """PDSm flux 03/04 and PDSM4DMP TD3.3a/b/c/d: securityLabel (mask, visibility), isArchived, status.
    ``operations``: a JSON Patch, or a FHIRPath Patch ``Parameters`` when ``fhirpath``."""
    call.transaction = "TD3.3"
    row, patient = _document(call, resource_id, "read for update")
    before = resource_of(call, row)
    after = apply_json_patch(before, json_patch_of(operations, before) if fhirpath else operations)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if changed - PATCHABLE:
        raise FhirError(405, f"only securityLabel, status and the isArchived extension may change (not "
                        f"{', '.join(sorted(changed - PATCHABLE))})")
    if [e for e in after.get("extension") or [] if not (isinstance(e, dict) and e.get("url") == IS_ARCHIVED)]:
        raise FhirError(405, "only the isArchived extension may be patched")
    dmp = call.exchange.dmp_state(patient)
    labels = [c for c in map(coded_of, after.get("securityLabel") or []) if c] \
        if isinstance(after.get("securityLabel"), list) else None
    if labels is None:
        raise FhirError(422, "securityLabel must stay a list of CodeableConcepts", expression="securityLabel")
    status, archived = after.get("status"), _archived(after)
    plan = []
    if status == "entered-in-error":
        call.transaction = "TD3.3c"
        plan.append(("delete", check_delete, lambda: call.store.update_status(row.entry_uuid, EntryStatus.DELETED)))
    elif status != before.get("status"):
        raise FhirError(422, f"status {status!r}: only entered-in-error (delete, PDSM4DMP TD3.3c) may be set by "
                        "PATCH; superseded comes with a replacement", expression="status")
    old_labels = sorted(row.metadata_json.get("confidentialityCodes", []))
    if status != "entered-in-error" and sorted(labels) != old_labels:
        old_codes = {c.partition("^^")[0] for c in old_labels}
        new_codes = {c.partition("^^")[0] for c in labels}
        call.transaction = "TD3.3a" if MASQUE_PS in old_codes ^ new_codes else "TD3.3b"
        if row.status != EntryStatus.APPROVED.value:
            raise FhirError(422, "only a current, non-archived document gets new confidentiality codes")
        entry = _entry_of_row(row, labels)
        plan.append((f"metadata update {sorted(old_codes)} -> {sorted(new_codes)}", check_update,
                     lambda: call.store.new_metadata_version(row.entry_uuid, entry, call.caller.actor_id)))
    if status != "entered-in-error" and archived != _archived(before):
        call.transaction = "TD3.3d"
        original, new = (EntryStatus.APPROVED, EntryStatus.ARCHIVED) if archived else \
            (EntryStatus.ARCHIVED, EntryStatus.APPROVED)
        plan.append((f"status {new.name.lower()}", check_update, lambda: _set_status(call, row.lid, new, original)))
    for action, rule, _ in plan:
        decision = rule(call.caller, dmp, facts_of(row))
        call.record(action, patient, decision, target=row.unique_id)
        if not decision:
            raise refused(decision.code, decision.reason)
    for _, _, apply in plan:
        try:
            apply()
        except StoreError as exc:
            raise store_refusal(exc) from exc
    latest = call.store.versions(row.lid)[0]
    return resource_of(call, latest)


def _set_status(call: FhirCall, lid: str, new: EntryStatus, original: EntryStatus) -> None:
    latest = call.store.versions(lid)[0]
    call.store.update_status(latest.entry_uuid, new, original)


def _entry_of_row(row: DocumentEntry, confidentiality: list[str]) -> NewEntry:
    """The stored entry as a :class:`NewEntry` with other confidentiality codes (a new metadata version)."""
    summary = row.metadata_json
    return NewEntry(
        entry_uuid=f"{UUID_PREFIX}{uuid.uuid4()}", unique_id=row.unique_id, patient_id=row.patient_id,
        class_code=row.class_code, type_code=row.type_code, practice_setting_code=row.practice_setting_code,
        facility_type_code=row.facility_type_code, format_code=row.format_code, creation_time=row.creation_time,
        service_start=row.service_start, service_stop=row.service_stop, mime_type=row.mime_type,
        confidentiality_codes=confidentiality, event_codes=list(summary.get("eventCodes", [])),
        author_persons=list(summary.get("authorPersons", [])),
        author_institutions=list(summary.get("authorInstitutions", [])),
        legal_authenticator=summary.get("legalAuthenticator"),
        metadata={k: v for k, v in summary.items() if k in ("title", "language", "authorNames")}, ebrim=row.ebrim)


def resolve_identifier(call: FhirCall, identifier: str) -> str:
    """Conditional operations: ``identifier=system|value`` (uniqueId or entryUUID) → the logical id."""
    value = identifier.partition("|")[2] or identifier
    rows = call.store.entries(uuids=[value], unique_ids=[unique_id_of(value)], latest_only=True)
    if not rows:
        raise FhirError(404, f"no DocumentReference with identifier {identifier}", expression="identifier")
    if len({r.lid for r in rows}) > 1:
        raise FhirError(412, f"identifier {identifier} matches several documents", expression="identifier")
    return fhir_id(rows[0].lid)


__all__ = [
    "DocumentSearch",
    "FhirCall",
    "ListSearch",
    "apply_json_patch",
    "patch_document",
    "provide_bundle",
    "publish",
    "read_binary",
    "read_document",
    "read_list",
    "resolve_identifier",
    "search_documents",
    "search_lists",
]
