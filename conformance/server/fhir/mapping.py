"""XDS ↔ FHIR equivalences of PDSM4DMP (fhir-pdsm.md §6) over the store's rows.

* entryUUID ↔ ``identifier`` (use official); the logical id (lid, the first entryUUID) without ``urn:uuid:``
  ↔ ``DocumentReference.id``: it stays the same across metadata versions (masking makes a new entryUUID).
* uniqueId ↔ ``masterIdentifier`` (``urn:oid:`` when an OID); patientId CX ↔ ``subject.identifier``
  (``urn:oid:<assigning authority>``); classCode ↔ ``category``; typeCode ↔ ``type``; confidentiality ↔
  ``securityLabel``; formatCode ↔ ``content.format``; healthcareFacilityTypeCode ↔ ``context.facilityType``;
  practiceSettingCode ↔ ``context.practiceSetting``; serviceStart/StopTime ↔ ``context.period``;
  creationTime ↔ ``date`` and ``attachment.creation``; referenceIdList CXi ↔ ``context.related`` Identifiers
  (:func:`reference_cx` / :func:`related_identifier`).
* availabilityStatus Approved / Archived ↔ ``current`` (Archived adds ``isArchived`` = true), Deprecated ↔
  ``superseded``. Deleted entries are not shown.

Coding systems: an OID scheme becomes ``urn:oid:<oid>`` except the few whose FHIR URL is certain (below);
a FHIR system that is neither becomes the stored scheme as is, so documents fed over FHIR round-trip.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from conformance.fhir.terminology import load_terminology
from conformance.server.settings import DMP_OID
from conformance.store import DocumentEntry, EntryStatus, Folder, SubmissionSet, coded
from conformance.store.names import reference_ids, set_facts

PDSM_SD = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
IS_ARCHIVED = PDSM_SD + "pdsm-ext-is-archived"
MHD_SD = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"
DESIGNATION_TYPE = MHD_SD + "ihe-designationType"
SOURCE_ID = MHD_SD + "ihe-sourceId"
AUTHOR_ORG = MHD_SD + "ihe-authorOrg"
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
RFC3986 = "urn:ietf:rfc:3986"
UUID_PREFIX = "urn:uuid:"
OID_PREFIX = "urn:oid:"
OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
# OID ↔ FHIR URL of the code systems whose NOS/HL7 URL is published: the validator's own table, so a document fed
# over SOAP reads back over FHIR with the systems the PDSm value sets list (and the reverse for XDS coding schemes).
SYSTEM_URLS = {oid: load_terminology().system_url(name)
               for oid, name in load_terminology().oids.items() if OID.fullmatch(oid)}
SYSTEM_OIDS = {url: oid for oid, url in SYSTEM_URLS.items()} | {
    load_terminology().system_url("IHE_FORMAT"): "1.3.6.1.4.1.19376.1.2.3"}  # IHE's own URL of the format codes


def system_of(scheme: str | None) -> str | None:
    """The FHIR coding system of an XDS coding scheme."""
    if not scheme:
        return None
    if scheme in SYSTEM_URLS:
        return SYSTEM_URLS[scheme]
    return f"{OID_PREFIX}{scheme}" if OID.fullmatch(scheme) else scheme


def scheme_of(system: str | None) -> str | None:
    """The XDS coding scheme of a FHIR coding system (inverse of :func:`system_of`)."""
    if not system:
        return None
    if system in SYSTEM_OIDS:
        return SYSTEM_OIDS[system]
    return system.removeprefix(OID_PREFIX)


def token_to_coded(token: str) -> str:
    """A FHIR token search value (``system|code``, ``|code`` or ``code``) → the store's ``code^^scheme``."""
    system, sep, code = token.partition("|")
    if not sep:
        return f"{token}^^"
    return coded(code, scheme_of(system))


def codeable(stored: str | None) -> dict[str, Any] | None:
    """``code^^scheme`` → CodeableConcept."""
    if not stored:
        return None
    code, _, scheme = stored.partition("^^")
    coding: dict[str, Any] = {"code": code}
    system = system_of(scheme)
    if system:
        coding = {"system": system, **coding}
    return {"coding": [coding]}


def coded_of(concept: Any) -> str | None:
    """CodeableConcept (first coding) → ``code^^scheme``."""
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return coded(coding["code"], scheme_of(coding.get("system")))
    return None


def fhir_id(entry_uuid: str) -> str:
    return entry_uuid.removeprefix(UUID_PREFIX)


def lid_of(resource_id: str) -> str:
    return f"{UUID_PREFIX}{resource_id}"


def unique_id_value(unique_id: str) -> str:
    return f"{OID_PREFIX}{unique_id}" if OID.fullmatch(unique_id) else unique_id


def unique_id_of(value: str) -> str:
    return value.removeprefix(OID_PREFIX)


def reference_cx(value: str, system: str | None, type_code: str | None = None) -> str:
    """A ``context.related`` Identifier → its referenceIdList CXi (MHD): value ↔ CXi.1, system ↔ the assigning
    authority CXi.4 (``urn:oid:X`` ↔ ``&X&ISO``, another URI ↔ ``&<uri>&URI``), type ↔ CXi.5."""
    oid = (system or "").removeprefix(OID_PREFIX)
    authority = "" if not system else f"&{oid}&ISO" if OID.fullmatch(oid) else f"&{system}&URI"
    return f"{value}^^^{authority}^{type_code or ''}".rstrip("^")


def related_identifier(cx: str) -> dict[str, Any]:
    """A referenceIdList CXi → the ``context.related`` of PDSm (slice referenceIdList: an Identifier whose type
    coding system is ``urn:ietf:rfc:3986``); the inverse of :func:`reference_cx`."""
    parts = cx.split("^")
    authority = (parts[3] if len(parts) > 3 else "").split("&")
    identifier: dict[str, Any] = {}
    if len(parts) > 4 and parts[4]:
        identifier["type"] = {"coding": [{"system": RFC3986, "code": parts[4]}]}
    if len(authority) > 1 and authority[1]:
        iso = len(authority) > 2 and authority[2] == "ISO"
        identifier["system"] = f"{OID_PREFIX}{authority[1]}" if iso else authority[1]
    identifier["value"] = parts[0]
    return {"identifier": identifier}


def subject(patient_cx: str) -> dict[str, Any]:
    ins, _, rest = patient_cx.partition("^^^")
    oid = rest.split("&")[1] if rest.count("&") >= 1 else ""
    return {"identifier": {"system": f"{OID_PREFIX}{oid}", "value": ins}}


def fhir_instant(dtm: str | None) -> str | None:
    """XDS DTM (``yyyyMMddHHmmss`` padded, UTC) → FHIR dateTime."""
    if not dtm or len(dtm) < 8 or not dtm[:8].isdigit():
        return None
    if len(dtm) < 14 or dtm[8:] == "000000":
        return f"{dtm[:4]}-{dtm[4:6]}-{dtm[6:8]}"
    return f"{dtm[:4]}-{dtm[4:6]}-{dtm[6:8]}T{dtm[8:10]}:{dtm[10:12]}:{dtm[12:14]}Z"


def xds_time(value: Any) -> str | None:
    """FHIR date / dateTime / instant → XDS DTM in UTC (as the store compares them)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    if len(value) <= 10:
        return value.replace("-", "")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d%H%M%S")


def hash_base64(sha1_hex: str | None) -> str | None:
    if not sha1_hex:
        return None
    try:
        return base64.b64encode(bytes.fromhex(sha1_hex)).decode("ascii")
    except ValueError:
        return None


def hash_hex(value: Any) -> str | None:
    """``attachment.hash`` (base64 SHA-1) → hex, or None when it is not 20 bytes of base64."""
    if not isinstance(value, str):
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 20 else None


def fhir_status(status: str) -> str:
    return "superseded" if status == EntryStatus.DEPRECATED.value else "current"


def document_reference(row: DocumentEntry, base: str, replaces: Sequence[str] = ()) -> dict[str, Any]:
    """The stored entry as a PDSm DocumentReference; ``replaces`` = logical ids of the entries it replaced."""
    summary = row.metadata_json
    rid = fhir_id(row.lid)
    authors = list(summary.get("authorPersons", []))
    names = {n.get("id"): n for n in summary.get("authorNames", []) if n.get("id")}  # kept at a FHIR feed
    contained = [{"resourceType": "Practitioner", "id": f"author{i}",
                  "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": person}],
                  **({"name": _human_name(names[person])} if person in names else {})}
                 for i, person in enumerate(authors)]
    institutions = list(summary.get("authorInstitutions", []))
    contained += [{"resourceType": "Organization", "id": f"org{i}", "identifier": [{"value": institution}]}
                  for i, institution in enumerate(institutions)]
    # a PDSm author is no Organization: an institution is the organization of a PractitionerRole, with the
    # person of the same rank (the summary keeps the XDS authors' persons and institutions as two lists)
    contained += [{"resourceType": "PractitionerRole", "id": f"role{i}",
                   **({"practitioner": {"reference": f"#author{i}"}} if i < len(authors) else {}),
                   "organization": {"reference": f"#org{i}"}} for i in range(len(institutions))]
    # sourcePatientInfo (1..1 in PDSm): the patient as the DMP knows it, by INS
    contained.append({"resourceType": "Patient", "id": "patient",
                      "identifier": [subject(row.patient_id)["identifier"]]})
    attachment: dict[str, Any] = {"contentType": row.mime_type, "language": summary.get("language") or "fr-FR",
                                  "url": f"{base}/Binary/{rid}"}
    if row.size is not None:
        attachment["size"] = row.size
    if hash_base64(row.sha1):
        attachment["hash"] = hash_base64(row.sha1)
    if summary.get("title"):
        attachment["title"] = summary["title"]
    if fhir_instant(row.creation_time):
        attachment["creation"] = fhir_instant(row.creation_time)
    content: dict[str, Any] = {"attachment": attachment}
    if row.format_code:
        content["format"] = codeable(row.format_code)["coding"][0]  # type: ignore[index]
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference", "id": rid,
        "meta": {"versionId": str(row.version), "profile": [PDSM_SD + "pdsm-comprehensive-document-reference"]},
    }
    if row.status == EntryStatus.ARCHIVED.value:
        resource["extension"] = [{"url": IS_ARCHIVED, "valueBoolean": True}]
    if contained:
        resource["contained"] = contained
    resource.update({
        "masterIdentifier": {"use": "usual", "system": RFC3986, "value": unique_id_value(row.unique_id)},
        "identifier": [{"use": "official", "system": RFC3986, "value": row.entry_uuid}],
        "status": fhir_status(row.status),
    })
    for key, value in (("type", codeable(row.type_code)), ("category", codeable(row.class_code))):
        if value:
            resource[key] = value if key == "type" else [value]
    resource["subject"] = subject(row.patient_id)
    if fhir_instant(row.creation_time):
        resource["date"] = _instant(row.creation_time)
    authors_refs = [{"reference": f"#role{i}" if i < len(institutions) else f"#author{i}"}
                    for i in range(max(len(authors), len(institutions)))]
    if authors_refs:
        resource["author"] = authors_refs
    resource["custodian"] = {"identifier": {"system": RFC3986, "value": f"{OID_PREFIX}{DMP_OID}"}, "display": "DMP"}
    resource["securityLabel"] = [c for c in map(codeable, summary.get("confidentialityCodes", [])) if c]
    if not resource["securityLabel"]:
        del resource["securityLabel"]
    if replaces:
        resource["relatesTo"] = [{"code": "replaces", "target": {"reference": f"DocumentReference/{r}"}}
                                 for r in replaces]
    resource["content"] = [content]
    context: dict[str, Any] = {"sourcePatientInfo": {"reference": "#patient"}}
    period = {k: fhir_instant(v) for k, v in (("start", row.service_start), ("end", row.service_stop))
              if fhir_instant(v)}
    if period:
        context["period"] = period
    for key, value in (("facilityType", row.facility_type_code), ("practiceSetting", row.practice_setting_code)):
        if value:
            context[key] = codeable(value)
    events = [c for c in map(codeable, summary.get("eventCodes", [])) if c]
    if events:
        context["event"] = events
    related = [related_identifier(cx) for cx in reference_ids(row.ebrim)]
    if related:
        context["related"] = related
    resource["context"] = context
    return resource


def _instant(dtm: str | None) -> str | None:
    """``date`` is an instant: a date-only DTM becomes midnight UTC."""
    value = fhir_instant(dtm)
    return f"{value}T00:00:00Z" if value and len(value) == 10 else value


def set_facts_of(row: SubmissionSet) -> dict[str, Any]:
    """Title, source and authorOrg of a stored SubmissionSet (FHIR facts, or read from its ITI-41 ebRIM)."""
    return set_facts(row.metadata_json, row.ebrim)


def _human_name(person: dict[str, Any]) -> list[dict[str, Any]]:
    name = {k: v for k, v in (("family", (person.get("family") or [None])[0]), ("given", person.get("given")))
            if v}
    return [name] if name else []


def _source(row: SubmissionSet, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The contained resources of ``List.source`` (1..1): the author as a PractitionerRole (or Patient), else
    the sending system as a Device."""
    person = facts.get("source") or {}
    identifiers = [{"value": v} for v in person.get("identifiers", [])]
    if person.get("type") == "Patient":
        return [{"resourceType": "Patient", "id": "source", "identifier": identifiers, "name": _human_name(person)}]
    if person:
        practitioner = {"resourceType": "Practitioner", "id": "practitioner", "identifier": identifiers,
                        "name": _human_name(person)}
        return [{"resourceType": "PractitionerRole", "id": "source",
                 "practitioner": {"reference": "#practitioner"}}, practitioner]
    return [{"resourceType": "Device", "id": "source",
             "identifier": [{"system": RFC3986, "value": unique_id_value(row.source_id or "unknown")}]}]


def list_resource(row: SubmissionSet, members: list[str]) -> dict[str, Any]:
    """A stored SubmissionSet as a PDSm SubmissionSet List; ``members`` = logical ids of its documents."""
    facts = set_facts_of(row)
    extension: list[dict[str, Any]] = []
    if row.content_type_code:
        extension.append({"url": DESIGNATION_TYPE, "valueCodeableConcept": codeable(row.content_type_code)})
    if row.source_id:
        extension.append({"url": SOURCE_ID, "valueIdentifier": {"system": RFC3986,
                                                                "value": unique_id_value(row.source_id)}})
    contained = _source(row, facts)
    source: dict[str, Any] = {"reference": "#source"}
    organisation = facts.get("authorOrg")
    if organisation:
        contained.append({"resourceType": "Organization", "id": "org",
                          "identifier": [{"value": v} for v in organisation.get("identifiers", [])],
                          **({"name": organisation["names"][0]} if organisation.get("names") else {})})
        source["extension"] = [{"url": AUTHOR_ORG, "valueReference": {"reference": "#org"}}]
    resource: dict[str, Any] = {
        "resourceType": "List", "id": fhir_id(row.entry_uuid),
        "meta": {"profile": [PDSM_SD + "pdsm-submissionset-comprehensive"]}, "contained": contained,
    }
    if extension:
        resource["extension"] = extension
    resource.update({
        "identifier": [{"use": "usual", "system": RFC3986, "value": unique_id_value(row.unique_id)},
                       {"use": "official", "system": RFC3986, "value": row.entry_uuid}],
        "status": "current", "mode": "working",
    })
    if facts.get("title"):
        resource["title"] = facts["title"]
    resource.update({"code": {"coding": [{"system": MHD_LIST_TYPES, "code": "submissionset"}]},
                     "subject": subject(row.patient_id), "source": source})
    if _instant(row.submission_time):
        resource["date"] = _instant(row.submission_time)
    if members:
        resource["entry"] = [{"item": {"reference": f"DocumentReference/{m}"}} for m in members]
    return resource


def folder_resource(row: Folder, members: list[str]) -> dict[str, Any]:
    """A stored Folder as a PDSm Folder List (codeList ↔ ``designationType``, lastUpdateTime ↔ ``date``);
    ``members`` = logical ids of its documents."""
    resource: dict[str, Any] = {
        "resourceType": "List", "id": fhir_id(row.entry_uuid),
        "meta": {"profile": [PDSM_SD + "pdsm-folder-comprehensive"]},
    }
    codes = [c for c in map(codeable, row.codes) if c]
    if codes:  # designationType is 1..1: the first code (a Folder fed over ITI-41 may have several)
        resource["extension"] = [{"url": DESIGNATION_TYPE, "valueCodeableConcept": codes[0]}]
    resource.update({
        "identifier": [{"use": "usual", "system": RFC3986, "value": unique_id_value(row.unique_id)},
                       {"use": "official", "system": RFC3986, "value": row.entry_uuid}],
        "status": "current", "mode": "working", **({"title": row.title} if row.title else {}),
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": "folder"}]},
        "subject": subject(row.patient_id),
    })
    if _instant(row.last_update_time):
        resource["date"] = _instant(row.last_update_time)
    if members:
        resource["entry"] = [{"item": {"reference": f"DocumentReference/{m}"}} for m in members]
    return resource
