"""ITI-65 and ITI-105 payloads → the store's :class:`Submission` (the same one ITI-41 registers).

The payload was validated against PDSm before: these functions read what the profiles guarantee and raise
:class:`FhirError` (422) for what they cannot resolve (a Binary, the patient's INS, a replaced document).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from conformance.fhir.profile import conditional_identifiers
from conformance.identity import INS_OIDS
from conformance.server.fhir.mapping import (
    AUTHOR_ORG,
    DESIGNATION_TYPE,
    SOURCE_ID,
    UUID_PREFIX,
    coded_of,
    hash_hex,
    lid_of,
    reference_cx,
    unique_id_of,
    xds_time,
)
from conformance.server.fhir.outcome import FhirError
from conformance.store import (
    HAS_MEMBER,
    RPLC,
    EntryStatus,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewFolder,
    NewSubmissionSet,
    Store,
    Submission,
    canonical_cx,
)
from conformance.xds import Author, Code
from conformance.xds import DocumentEntry as XdsEntry
from conformance.xds.builders import xcn
from conformance.xds.ebrim import document_entry_element


@dataclass(slots=True)
class FedDocument:
    """One DocumentReference of the payload with what the store and the access rules need."""

    entry: NewEntry
    document: NewDocument
    replaces: list[str] = field(default_factory=list)  # entryUUIDs of the replaced (Approved) entries
    full_url: str | None = None
    binary_url: str | None = None  # ITI-65: the fullUrl of the Binary holding the bytes


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _contained(resource: dict[str, Any], reference: Any) -> dict[str, Any] | None:
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    return next((c for c in _list(resource.get("contained"))
                 if isinstance(c, dict) and c.get("id") == ref[1:]), None)


def _identifier_values(resource: dict[str, Any] | None) -> list[str]:
    if not resource:
        return []
    return [i["value"] for i in _list(resource.get("identifier")) if isinstance(i, dict)
            and isinstance(i.get("value"), str)]


def cx_of_identifier(identifier: Any) -> str | None:
    """An INS identifier (``urn:oid:1.2.250.1.213.1.4.x`` | value) → CX."""
    if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
        return None
    oid = str(identifier.get("system") or "").removeprefix("urn:oid:")
    if oid not in INS_OIDS or not identifier["value"].strip():
        return None
    return f"{identifier['value'].strip()}^^^&{oid}&ISO^NH"


def patient_cx(resource: dict[str, Any], bundle_patients: dict[str, dict[str, Any]] | None = None) -> str:
    """The INS of ``subject`` (identifier, ``Patient?identifier=…``, bundle Patient, or ``Patient/<INS>``), else of
    sourcePatientInfo."""
    subject = resource.get("subject") if isinstance(resource.get("subject"), dict) else {}
    candidates: list[Any] = [subject.get("identifier")]
    reference = subject.get("reference")
    if isinstance(reference, str):
        candidates += conditional_identifiers(reference)
        patient = (bundle_patients or {}).get(reference) or _contained(resource, subject)
        candidates += _list((patient or {}).get("identifier"))
    context = resource.get("context") if isinstance(resource.get("context"), dict) else {}
    candidates += _list((_contained(resource, context.get("sourcePatientInfo")) or {}).get("identifier"))
    for candidate in candidates:
        cx = cx_of_identifier(candidate)
        if cx:
            return cx
    if isinstance(reference, str) and reference.startswith("Patient/"):
        ins = reference.removeprefix("Patient/")  # the bench's Patient ids are the INS (test NIR OID)
        return f"{ins}^^^&1.2.250.1.213.1.4.10&ISO^NH"
    raise FhirError(422, "the patient's INS cannot be found: give subject.identifier (urn:oid:1.2.250.1.213.1.4.x) "
                    "or a contained sourcePatientInfo with an INS identifier", expression="DocumentReference.subject")


def _names(person: dict[str, Any] | None) -> dict[str, list[str]]:
    """The family and given names of a Practitioner or Patient (every HumanName)."""
    names = [n for n in _list((person or {}).get("name")) if isinstance(n, dict)]
    return {"family": [n["family"] for n in names if isinstance(n.get("family"), str)],
            "given": [g for n in names for g in _list(n.get("given")) if isinstance(g, str)]}


def _person(resource: dict[str, Any], reference: Any) -> dict[str, Any] | None:
    """A contained author or source as searchable facts: its type, identifiers and names (a PractitionerRole
    stands for its practitioner)."""
    who = _contained(resource, reference)
    if who is None:
        return None
    kind = who.get("resourceType")
    person = _contained(resource, who.get("practitioner")) if kind == "PractitionerRole" else who
    return {"type": kind, "identifiers": _identifier_values(person) or _identifier_values(who), **_names(person)}


def set_facts(resource: dict[str, Any]) -> dict[str, Any]:
    """What ITI-66 searches on a SubmissionSet beyond the XDS columns: title, source (``source``,
    ``source.given/family``) and the source's organisation (``authorOrg``)."""
    source = resource.get("source") if isinstance(resource.get("source"), dict) else {}
    org = next((e.get("valueReference") for e in _list(source.get("extension"))
                if isinstance(e, dict) and e.get("url") == AUTHOR_ORG), None)
    organisation = _contained(resource, org)
    facts: dict[str, Any] = {"title": resource.get("title") if isinstance(resource.get("title"), str) else None,
                             "source": _person(resource, source)}
    if organisation is not None:
        facts["authorOrg"] = {"identifiers": _identifier_values(organisation),
                              "names": [organisation["name"]] if isinstance(organisation.get("name"), str) else []}
    return facts


def _people(resource: dict[str, Any]) -> tuple[list[str], list[str], str | None]:
    """Author person ids, author institution ids and the legal authenticator, from contained resources."""
    persons: list[str] = []
    institutions: list[str] = []
    for reference in _list(resource.get("author")):
        author = _contained(resource, reference) or {}
        kind = author.get("resourceType")
        if kind == "Practitioner":
            persons += _identifier_values(author)[:1]
        elif kind == "PractitionerRole":
            persons += _identifier_values(_contained(resource, author.get("practitioner")))[:1]
            institutions += _identifier_values(_contained(resource, author.get("organization")))[:1]
        elif kind == "Organization":
            institutions += _identifier_values(author)[:1]
    authenticator = _identifier_values(_contained(resource, resource.get("authenticator")))
    return persons, institutions, authenticator[0] if authenticator else None


def _author_names(resource: dict[str, Any]) -> list[dict[str, list[str]]]:
    """The names of the document's authors (``author.given`` / ``author.family`` searches, and the names of
    the contained authors when the document is read), with the author's id."""
    authors = [_person(resource, reference) for reference in _list(resource.get("author"))]
    return [{"id": (a["identifiers"] or [None])[0], "family": a["family"], "given": a["given"]}
            for a in authors if a and (a["family"] or a["given"])]


def _entry_uuid(resource: dict[str, Any], full_url: str | None) -> str:
    for identifier in _list(resource.get("identifier")):
        if isinstance(identifier, dict) and str(identifier.get("value", "")).startswith(UUID_PREFIX):
            return str(identifier["value"])
    return full_url if full_url and full_url.startswith(UUID_PREFIX) else f"{UUID_PREFIX}{uuid.uuid4()}"


def _decode(data: Any, where: str) -> bytes:
    try:
        return base64.b64decode(data if isinstance(data, str) else "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FhirError(422, f"{where} is not valid base64", expression=where) from exc


def _replaced(store: Store, resource: dict[str, Any], cx: str) -> list[str]:
    """``relatesTo`` replaces → the entryUUID of the replaced document's current Approved version."""
    targets = []
    for index, relation in enumerate(_list(resource.get("relatesTo"))):
        if not isinstance(relation, dict) or relation.get("code") != "replaces":
            continue
        target = relation.get("target") if isinstance(relation.get("target"), dict) else {}
        reference = str(target.get("reference") or "")
        master = target.get("identifier", {}).get("value") if isinstance(target.get("identifier"), dict) else None
        rows = store.versions(lid_of(reference.rsplit("/", 1)[-1])) if reference.startswith("DocumentReference/") \
            else store.entries(uuids=[reference]) if reference.startswith(UUID_PREFIX) \
            else store.entries(unique_ids=[unique_id_of(master)], latest_only=True) if isinstance(master, str) else []
        current = [r for r in rows if r.status == EntryStatus.APPROVED.value]
        if not current:
            raise FhirError(422, f"the replaced document {reference or master!r} is not a current document of this "
                            "DMP", expression=f"DocumentReference.relatesTo[{index}].target")
        targets.append(current[0].entry_uuid)
    return targets


def _reference_ids(context: dict[str, Any]) -> list[str]:
    """``context.related`` Identifiers (the PDSm slice referenceIdList) → referenceIdList CXi values; a related
    Reference without an identifier names no referenceIdList entry."""
    values = []
    for related in _list(context.get("related")):
        identifier = related.get("identifier") if isinstance(related, dict) else None
        if not isinstance(identifier, dict) or not str(identifier.get("value") or "").strip():
            continue
        kind = identifier.get("type") if isinstance(identifier.get("type"), dict) else {}
        code = next((c["code"] for c in _list(kind.get("coding")) if isinstance(c, dict)
                     and isinstance(c.get("code"), str)), None)
        system = identifier.get("system")
        values.append(reference_cx(str(identifier["value"]).strip(), system if isinstance(system, str) else None,
                                   code))
    return values


def _xds_code(stored: str | None) -> Code | None:
    code, _, scheme = (stored or "").partition("^^")
    return Code(code, scheme or None) if code else None


def _author_xcn(person: str, names: dict[str, dict[str, Any]]) -> str:
    """An author's XCN: its id with the names the DocumentReference gave (XCN.2 family, XCN.3 given)."""
    known = names.get(person, {})
    return xcn(person, (known.get("family") or [""])[0], " ".join(known.get("given") or []))


def _registry_ebrim(entry: NewEntry, reference_ids: list[str]) -> str:
    """The ITI-41 ExtrinsicObject of a fed entry (MHD → XDS), kept as an ITI-41 feed keeps its own: the one
    representation of the referenceIdList that the SOAP answers, the search strings (ITI-67 ``related``,
    FindDocumentsByReferenceId) and the DocumentReference read back all take it from."""
    names = {n["id"]: n for n in entry.metadata.get("authorNames", [])}
    authors = [Author(person=_author_xcn(person, names)) for person in entry.author_persons]
    xds = XdsEntry(id=entry.entry_uuid, unique_id=entry.unique_id, patient_id=entry.patient_id,
                   mime_type=entry.mime_type, title=entry.metadata.get("title"), authors=authors,
                   class_code=_xds_code(entry.class_code), type_code=_xds_code(entry.type_code),
                   format_code=_xds_code(entry.format_code),
                   healthcare_facility_type_code=_xds_code(entry.facility_type_code),
                   practice_setting_code=_xds_code(entry.practice_setting_code),
                   event_codes=[c for c in map(_xds_code, entry.event_codes) if c],
                   creation_time=entry.creation_time, service_start_time=entry.service_start,
                   service_stop_time=entry.service_stop, reference_ids=reference_ids,
                   language_code=entry.metadata.get("language"), source_patient_id=entry.patient_id,
                   legal_authenticator=_author_xcn(entry.legal_authenticator, names)
                   if entry.legal_authenticator else None)
    return etree.tostring(document_entry_element(etree.Element("metadata"), xds)).decode()


def fed_document(store: Store, resource: dict[str, Any], content: bytes, cx: str,
                 full_url: str | None = None) -> FedDocument:
    """A PDSm DocumentReference and its bytes → the store's entry and document."""
    attachment = next((c["attachment"] for c in _list(resource.get("content"))
                       if isinstance(c, dict) and isinstance(c.get("attachment"), dict)), {})
    content_format = next((c.get("format") for c in _list(resource.get("content")) if isinstance(c, dict)), None)
    context = resource.get("context") if isinstance(resource.get("context"), dict) else {}
    period = context.get("period") if isinstance(context.get("period"), dict) else {}
    persons, institutions, authenticator = _people(resource)
    master = resource.get("masterIdentifier") if isinstance(resource.get("masterIdentifier"), dict) else {}
    unique_id = unique_id_of(str(master.get("value") or ""))
    if not unique_id:
        raise FhirError(422, "masterIdentifier.value (the document uniqueId) is missing",
                        expression="DocumentReference.masterIdentifier")
    mime = str(attachment.get("contentType") or "application/octet-stream")
    size = attachment.get("size")
    entry = NewEntry(
        entry_uuid=_entry_uuid(resource, full_url), unique_id=unique_id, patient_id=cx,
        class_code=next((c for c in map(coded_of, _list(resource.get("category"))) if c), None),
        type_code=coded_of(resource.get("type")), practice_setting_code=coded_of(context.get("practiceSetting")),
        facility_type_code=coded_of(context.get("facilityType")),
        format_code=coded_of({"coding": [content_format]}) if isinstance(content_format, dict) else None,
        creation_time=xds_time(attachment.get("creation") or resource.get("date")),
        service_start=xds_time(period.get("start")), service_stop=xds_time(period.get("end")), mime_type=mime,
        confidentiality_codes=[c for c in map(coded_of, _list(resource.get("securityLabel"))) if c],
        event_codes=[c for c in map(coded_of, _list(context.get("event"))) if c],
        author_persons=persons, author_institutions=institutions, legal_authenticator=authenticator,
        hash=hash_hex(attachment.get("hash")), size=size if isinstance(size, int) else None,
        metadata={**{k: attachment[k] for k in ("title", "language") if isinstance(attachment.get(k), str)},
                  "authorNames": _author_names(resource)})
    entry.ebrim = _registry_ebrim(entry, _reference_ids(context))
    return FedDocument(entry, NewDocument(unique_id, content, mime), _replaced(store, resource, cx), full_url)


@dataclass(slots=True)
class FedFolder:
    """One Folder List of an ITI-65 bundle: a new folder (POST) or the entryUUID of the registered one it adds
    documents to (PUT), and the entryUUIDs (symbolic for documents of the same bundle) of its new documents."""

    folder: NewFolder | None
    members: list[str]
    full_url: str | None = None
    existing: str | None = None

    @property
    def entry_uuid(self) -> str:
        return self.existing or (self.folder.entry_uuid if self.folder else "")


def _submission(sset: NewSubmissionSet, documents: list[FedDocument], repository_id: str,
                submitter: str, folders: list[FedFolder] | None = None) -> Submission:
    associations = [NewAssociation(f"has-member-{i}", HAS_MEMBER, sset.entry_uuid, d.entry.entry_uuid,
                                   {"SubmissionSetStatus": ["Original"]}) for i, d in enumerate(documents)]
    associations += [NewAssociation(f"rplc-{i}-{j}", RPLC, d.entry.entry_uuid, target)
                     for i, d in enumerate(documents) for j, target in enumerate(d.replaces)]
    for i, fed in enumerate(folders or []):
        if fed.folder is not None:
            associations.append(NewAssociation(f"folder-{i}", HAS_MEMBER, sset.entry_uuid, fed.entry_uuid))
        associations += [NewAssociation(f"folder-{i}-member-{j}", HAS_MEMBER, fed.entry_uuid, member)
                         for j, member in enumerate(fed.members)]
    return Submission(submission_set=sset, entries=[d.entry for d in documents],
                      documents=[d.document for d in documents], associations=associations,
                      repository_id=repository_id, submitter_id=submitter,
                      folders=[f.folder for f in folders or [] if f.folder is not None])


def _entries(bundle: dict[str, Any]) -> Iterator[tuple[int, str | None, dict[str, Any], str]]:
    for index, entry in enumerate(_list(bundle.get("entry"))):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
            yield index, entry.get("fullUrl"), entry["resource"], str(request.get("method") or "")


def list_kind(resource: dict[str, Any]) -> str | None:
    """``submissionset`` or ``folder`` for a PDSm List (its MHDlistTypes code), else None."""
    codes = resource.get("code", {}).get("coding", []) if isinstance(resource.get("code"), dict) else []
    kinds = [c.get("code") for c in _list(codes) if isinstance(c, dict)]
    return next((k for k in kinds if k in ("submissionset", "folder")), None) \
        if resource.get("resourceType") == "List" else None


def _unique_id(resource: dict[str, Any]) -> str:
    """The uniqueId (identifier use usual) of a List, or a new 2.25 OID when the sender gave none."""
    identifiers = [i for i in _list(resource.get("identifier")) if isinstance(i, dict)]
    unique = next((str(i.get("value")) for i in identifiers if i.get("use") == "usual"), None)
    return unique_id_of(unique or f"2.25.{uuid.uuid4().int}")


def _registered_folder(store: Store, index: int, request_url: str, resource: dict[str, Any], cx: str) -> str:
    """The entryUUID of the folder a PUT updates: ``List/<id>`` in ``request.url``, else its identifiers."""
    target = request_url.partition("?")[0].rpartition("List/")[2]
    candidates = [lid_of(target)] if target else []
    candidates += [v if v.startswith(UUID_PREFIX) else unique_id_of(v) for v in _identifier_values(resource)]
    folder = next((f for f in map(store.folder, candidates) if f is not None), None)
    if folder is None or canonical_cx(folder.patient_id) != canonical_cx(cx):
        raise FhirError(422, f"no Folder {target or candidates} of this DMP to add documents to",
                        expression=f"Bundle.entry[{index}].request.url")
    return folder.entry_uuid


def _fed_folder(store: Store, index: int, url: str | None, resource: dict[str, Any], cx: str,
                documents: dict[str, FedDocument], patients: dict[str, dict[str, Any]],
                request: dict[str, Any]) -> FedFolder:
    """A Folder List: its items are DocumentReferences of the bundle (fullUrl) or already in the DMP. POST makes
    a new folder; PUT (MHDprovideFolderActions) adds the items that are not yet in the registered folder."""
    if patient_cx(resource, patients) != cx:
        raise FhirError(422, "the Folder's subject differs from the SubmissionSet's",
                        expression=f"Bundle.entry[{index}].resource.subject")
    existing = _registered_folder(store, index, str(request.get("url") or ""), resource, cx) \
        if request.get("method") == "PUT" else None
    filed = {r.lid for r in store.entries(uuids=[a.target for a in store.associations([existing], [HAS_MEMBER])
                                                 if a.source == existing])} if existing else set()
    members = []
    for position, item in enumerate(_list(resource.get("entry"))):
        reference = str((item.get("item") or {}).get("reference") or "") if isinstance(item, dict) else ""
        where = f"Bundle.entry[{index}].resource.entry[{position}].item"
        if reference in documents:
            members.append(documents[reference].entry.entry_uuid)
            continue
        rows = store.versions(lid_of(reference.rsplit("/", 1)[-1])) if reference.startswith("DocumentReference/") \
            else []
        if not rows or canonical_cx(rows[0].patient_id) != canonical_cx(cx) or rows[0].status == EntryStatus.DELETED.value:
            raise FhirError(422, f"Folder item {reference!r} is neither a DocumentReference of the bundle nor a "
                            "document of this DMP", expression=where)
        if rows[0].lid not in filed:
            members.append(rows[0].entry_uuid)
    if existing:
        return FedFolder(None, members, url, existing)
    extensions = {e.get("url"): e for e in _list(resource.get("extension")) if isinstance(e, dict)}
    designation = extensions.get(DESIGNATION_TYPE, {}).get("valueCodeableConcept")
    codes = [c for c in (coded_of({"coding": [coding]}) for coding in _list((designation or {}).get("coding"))) if c]
    title = resource.get("title") if isinstance(resource.get("title"), str) else None
    folder = NewFolder(entry_uuid=_entry_uuid(resource, url), unique_id=_unique_id(resource), patient_id=cx,
                       title=title, codes=codes)
    return FedFolder(folder, members, url)


@dataclass(slots=True)
class ProvidedBundle:
    """An ITI-65 bundle read: the submission, the patient and where each entry's resource lands."""

    submission: Submission
    patient_cx: str
    documents: list[FedDocument]
    entries: list[tuple[int, str | None, dict[str, Any], str]]
    folders: list[FedFolder] = field(default_factory=list)
    updates: dict[int, str] = field(default_factory=dict)  # UpdateDocumentRefs: entry index → request.url


def provided_bundle(store: Store, bundle: dict[str, Any], repository_id: str, submitter: str) -> ProvidedBundle:
    entries = list(_entries(bundle))
    patients = {url: r for _, url, r, _ in entries if r.get("resourceType") == "Patient" and url}
    binaries = {url: r for _, url, r, _ in entries if r.get("resourceType") == "Binary" and url}
    sets = [(url, r) for _, url, r, _ in entries if list_kind(r) == "submissionset"]
    if len(sets) != 1:
        raise FhirError(422, f"an ITI-65 bundle carries exactly one SubmissionSet List, found {len(sets)}",
                        expression="Bundle.entry")
    set_url, set_resource = sets[0]
    cx = patient_cx(set_resource, patients)
    documents = []
    for index, url, resource, method in entries:
        if resource.get("resourceType") != "DocumentReference" or method != "POST":
            continue
        attachment = next((c["attachment"] for c in _list(resource.get("content"))
                           if isinstance(c, dict) and isinstance(c.get("attachment"), dict)), {})
        binary = binaries.get(str(attachment.get("url")))
        if binary is None:
            raise FhirError(422, f"attachment.url {attachment.get('url')!r} names no Binary of the bundle",
                            expression=f"Bundle.entry[{index}].resource.content[0].attachment.url")
        content = _decode(binary.get("data"), f"Bundle.entry[{index}] Binary.data")
        document = fed_document(store, resource, content, patient_cx(resource, patients), url)
        document.binary_url = str(attachment.get("url"))
        documents.append(document)
    by_url = {d.full_url: d for d in documents if d.full_url}
    requests = [e.get("request") if isinstance(e, dict) and isinstance(e.get("request"), dict) else {}
                for e in _list(bundle.get("entry"))]
    folders = [_fed_folder(store, index, url, resource, cx, by_url, patients, requests[index])
               for index, url, resource, _ in entries if list_kind(resource) == "folder"]
    # UpdateDocumentRefs (PDSM4DMP TD2.1): the validator allowed only "superseded" on a replaced document,
    # which the RPLC association of the replacing document does
    updates = {index: str(requests[index].get("url") or "") for index, _, _, method in entries if method == "PATCH"}
    extensions = {e.get("url"): e for e in _list(set_resource.get("extension")) if isinstance(e, dict)}
    source = extensions.get(SOURCE_ID, {}).get("valueIdentifier", {})
    sset = NewSubmissionSet(
        entry_uuid=_entry_uuid(set_resource, set_url), unique_id=_unique_id(set_resource),
        patient_id=cx, source_id=unique_id_of(str(source.get("value"))) if isinstance(source, dict)
        and source.get("value") else None, submission_time=xds_time(set_resource.get("date")),
        content_type_code=coded_of(extensions.get(DESIGNATION_TYPE, {}).get("valueCodeableConcept")),
        metadata=set_facts(set_resource))
    return ProvidedBundle(_submission(sset, documents, repository_id, submitter, folders), cx, documents, entries,
                          folders, updates)


def published_document(store: Store, resource: dict[str, Any], repository_id: str,
                       submitter: str) -> tuple[Submission, FedDocument]:
    """ITI-105: one DocumentReference with inline data; the server makes up its SubmissionSet."""
    cx = patient_cx(resource)
    attachment = next((c["attachment"] for c in _list(resource.get("content"))
                       if isinstance(c, dict) and isinstance(c.get("attachment"), dict)), {})
    fed = fed_document(store, resource, _decode(attachment.get("data"), "DocumentReference.content[0].attachment.data"),
                       cx)
    sset = NewSubmissionSet(entry_uuid=f"{UUID_PREFIX}{uuid.uuid4()}", unique_id=f"2.25.{uuid.uuid4().int}",
                            patient_id=cx, source_id=None, submission_time=fed.entry.creation_time)
    return _submission(sset, [fed], repository_id, submitter), fed
