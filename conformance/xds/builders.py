"""LPS-side factory of DMP XDS messages, and the registry/repository responses the reference server sends.

Requests: :func:`td21_request` (ITI-41 with the signature DocumentEntry and its ``signs`` association),
:func:`td31_request` (ITI-18), :func:`td32_request` (ITI-43), :func:`td33_status_request` (ITI-57, TD3.3c
delete / TD3.3d archive). Responses: :func:`registry_response`, :func:`query_response`,
:func:`retrieve_response`. Each returns an :class:`OutgoingMessage` whose :meth:`~OutgoingMessage.to_http`
gives the HTTP body and Content-Type (MTOM, as the DMP's registry and repository services use).

Metadata helpers: :func:`document_entry_from_cda` maps a CDA header to a DocumentEntry
(docs/cda-cisis.md §11), :func:`new_submission_set`, :func:`signature_entry`. The XAdES signature is
produced by a :data:`SignatureHook`: :func:`xades_signer` (key and certificate of the structure seal) gives the
real signature of :mod:`conformance.xades`; without keys, the default hook writes an unsigned placeholder with the
manifest of document digests (it does not pass the ``xades`` checks).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from conformance.identity import Cx, Hd, Xcn, Xon
from conformance.soap import WSA_ANONYMOUS, Attachment, build_envelope, build_mtom, new_message_id
from conformance.xades import build_signature_document
from conformance.xds.constants import (
    INS_OIDS,
    SIGNATURE_CLASS_CODE,
    SIGNATURE_EVENT_CODE,
    SIGNATURE_FORMAT_CODE,
    SIGNATURE_TYPE_CODE,
    Action,
    AssociationType,
    Oid,
    Status,
)
from conformance.xds.messages import (
    AdhocQueryRequest,
    AdhocQueryResponse,
    DocumentRequest,
    ProvideAndRegisterRequest,
    RegistryResponse,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
    SubmitObjectsRequest,
)
from conformance.xds.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    RegistryObjectList,
    Slot,
    SubmissionSet,
)
from conformance.xds.times import hl7_ts_to_utc, utc_now_dtm
from conformance.xml import NAMESPACES, parse_xml

HL7 = NAMESPACES["hl7"]
DS = NAMESPACES["ds"]


@dataclass(slots=True)
class OutgoingMessage:
    """A SOAP envelope ready to send, with its MTOM attachments."""

    envelope: etree._Element
    action: str
    message_id: str
    attachments: list[Attachment] = field(default_factory=list)

    def to_http(self) -> tuple[bytes, str]:
        """(body, Content-Type): always MTOM, as the DMP registry and repository bindings are."""
        return build_mtom(self.envelope, self.attachments, action=self.action)


def _request(body: etree._Element, action: str, attachments: list[Attachment] | None = None, *,
             security: etree._Element | None = None, to: str | None = "",
             message_id: str | None = None) -> OutgoingMessage:
    message_id = message_id or new_message_id()
    envelope = build_envelope(body, action=action, message_id=message_id, to=to, security=security)
    return OutgoingMessage(envelope, action, message_id, attachments or [])


def _response(body: etree._Element, action: str, relates_to: str | None,
              attachments: list[Attachment] | None = None) -> OutgoingMessage:
    message_id = new_message_id()
    envelope = build_envelope(body, action=action, message_id=message_id, to=WSA_ANONYMOUS, reply_to=None,
                              relates_to=relates_to)
    return OutgoingMessage(envelope, action, message_id, attachments or [])


# --- time and identifiers ---------------------------------------------------------------------------------

def new_oid(root: str) -> str:
    """A fresh OID under ``root`` (UUID as a decimal arc, as IHE allows: ``2.25.<int>`` style)."""
    return f"{root}.{uuid.uuid4().int % 10**20}"


def xcn(identifier: str, family: str, given: str, root: str = Oid.IDNAT_PS, type_code: str = "IDNPS") -> str:
    """HL7 v2 XCN of a professional: ``id^family^given^^^^^^&root&ISO^D^^^IDNPS`` (escaped)."""
    return Xcn(identifier, family, given, assigning_authority=Hd.iso(root), name_type_code="D",
               identifier_type_code=type_code).format()


def xon(name: str, identifier: str, root: str = Oid.IDNAT_STRUCTURE, type_code: str = "IDNST") -> str:
    """HL7 v2 XON of an organisation: ``name^^^^^&root&ISO^IDNST^^^id`` (escaped)."""
    return Xon(name, Hd.iso(root), type_code, identifier).format()


def cx(identifier: str, root: str, type_code: str = "NH") -> str:
    """HL7 v2 CX: ``id^^^&root&ISO^NH``."""
    return Cx(identifier, Hd.iso(root), type_code).format()


# --- metadata from a CDA document ---------------------------------------------------------------------------

def _attr(root: etree._Element, path: str, name: str) -> str | None:
    found = root.find(path, {"h": HL7})
    return found.get(name) if found is not None else None


def _code_of(element: etree._Element | None) -> Code | None:
    if element is None or element.get("code") is None:
        return None
    return Code(element.get("code", ""), element.get("codeSystem"), element.get("displayName"))


def _person(entity: etree._Element, person_tag: str) -> str | None:
    identifier = entity.find("h:id", {"h": HL7})
    name = entity.find(f"h:{person_tag}/h:name", {"h": HL7})
    if identifier is None:
        return None
    family = name.findtext("h:family", "", {"h": HL7}).strip() if name is not None else ""
    given = name.findtext("h:given", "", {"h": HL7}).strip() if name is not None else ""
    return xcn(identifier.get("extension", ""), family, given, identifier.get("root", Oid.IDNAT_PS))


def document_entry_from_cda(cda: bytes, *, entry_id: str, class_code: Code, format_code: Code,
                            practice_setting_code: Code | None = None,
                            healthcare_facility_type_code: Code | None = None,
                            extra_confidentiality: Sequence[Code] = (), mime_type: str = "text/xml",
                            comments: str | None = None) -> DocumentEntry:
    """DocumentEntry metadata from the CDA header (docs/cda-cisis.md §11).

    classCode and formatCode are passed in (they come from ANS association tables, not the header);
    ``extra_confidentiality`` adds the DMP visibility codes (MASQUE_PS…) next to the CDA confidentialityCode.
    """
    root = parse_xml(cda).getroot()
    ns = {"h": HL7}
    doc_id = root.find("h:id", ns)
    unique_id = None
    if doc_id is not None:
        unique_id = doc_id.get("root", "")
        if doc_id.get("extension"):
            unique_id += "^" + doc_id.get("extension", "")
    patient_ids = root.findall("h:recordTarget/h:patientRole/h:id", ns)
    ins = next((i for i in patient_ids if i.get("root") in INS_OIDS), None)
    local = next((i for i in patient_ids if i is not ins), ins)
    patient = root.find("h:recordTarget/h:patientRole/h:patient", ns)
    info: list[str] = []
    if patient is not None:
        family = patient.findtext("h:name/h:family", "", ns).strip()
        given = patient.findtext("h:name/h:given", "", ns).strip()
        info.append(f"PID-5|{family}^{given}^^^^^L")
        birth = _attr(patient, "h:birthTime", "value")
        if birth:
            info.append(f"PID-7|{birth[:8]}")
        gender = _attr(patient, "h:administrativeGenderCode", "code")
        if gender:
            info.append(f"PID-8|{gender}")
    authors: list[Author] = []
    for assigned in root.findall("h:author/h:assignedAuthor", ns):
        organisation = assigned.find("h:representedOrganization", ns)
        if organisation is None:
            organisation = root.find("h:custodian/h:assignedCustodian/h:representedCustodianOrganization", ns)
        institutions = []
        if organisation is not None and organisation.find("h:id", ns) is not None:
            org_id = organisation.find("h:id", ns)
            institutions.append(xon(organisation.findtext("h:name", "", ns).strip(), org_id.get("extension", ""),
                                    org_id.get("root", Oid.IDNAT_STRUCTURE)))
        specialty = _code_of(assigned.find("h:code", ns))
        authors.append(Author(person=_person(assigned, "assignedPerson"), institutions=institutions,
                              specialties=[f"{specialty.code}^{specialty.display or ''}^{specialty.scheme or ''}"]
                              if specialty else []))
    legal = root.find("h:legalAuthenticator/h:assignedEntity", ns)
    facility = _code_of(root.find("h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code", ns))
    practice = _code_of(root.find("h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity/"
                                  "h:representedOrganization/h:standardIndustryClassCode", ns))
    confidentiality = _code_of(root.find("h:confidentialityCode", ns))
    start = _attr(root, "h:documentationOf/h:serviceEvent/h:effectiveTime/h:low", "value")
    stop = _attr(root, "h:documentationOf/h:serviceEvent/h:effectiveTime/h:high", "value")
    created = _attr(root, "h:effectiveTime", "value")
    return DocumentEntry(
        id=entry_id, mime_type=mime_type, unique_id=unique_id,
        patient_id=cx(ins.get("extension", ""), ins.get("root", "")) if ins is not None else None,
        source_patient_id=cx(local.get("extension", ""), local.get("root", ""),
                             "NH" if local is ins else "PI") if local is not None else None,
        source_patient_info=info, title=root.findtext("h:title", None, ns), comments=comments,
        class_code=class_code, type_code=_code_of(root.find("h:code", ns)), format_code=format_code,
        healthcare_facility_type_code=facility or healthcare_facility_type_code,
        practice_setting_code=practice or practice_setting_code,
        confidentiality_codes=[c for c in [confidentiality, *extra_confidentiality] if c is not None],
        event_codes=[c for c in (_code_of(e) for e in root.findall("h:documentationOf/h:serviceEvent/h:code", ns))
                     if c is not None],
        authors=authors, creation_time=hl7_ts_to_utc(created) if created else None,
        service_start_time=hl7_ts_to_utc(start) if start else None,
        service_stop_time=hl7_ts_to_utc(stop) if stop else None,
        language_code=_attr(root, "h:languageCode", "code"),
        legal_authenticator=_person(legal, "assignedPerson") if legal is not None else None,
    )


def new_submission_set(*, patient_id: str, author: Author, content_type_code: Code, source_id: str,
                       title: str | None = None, comments: str | None = None, set_id: str = "SubmissionSet01",
                       unique_id: str | None = None, now: datetime | None = None) -> SubmissionSet:
    return SubmissionSet(id=set_id, unique_id=unique_id or new_oid(source_id), source_id=source_id,
                         patient_id=patient_id, submission_time=utc_now_dtm(now), title=title, comments=comments,
                         content_type_code=content_type_code, authors=[author])


def signature_entry(submission_set: SubmissionSet, template: DocumentEntry, *, entry_id: str = "Signature01",
                    unique_id: str | None = None) -> DocumentEntry:
    """The signature DocumentEntry of a submission (docs/xds-metadata.md §7), from a document's metadata."""
    now = submission_set.submission_time
    return replace(
        template, id=entry_id, unique_id=unique_id or new_oid(submission_set.source_id or "1.2.250.1.999"),
        mime_type="text/xml", title="Source", comments=None, language_code="art",
        class_code=Code(SIGNATURE_CLASS_CODE, "URN", "Digital Signature"),
        type_code=Code(SIGNATURE_TYPE_CODE, "ASTM", "Full Document"),
        format_code=Code(SIGNATURE_FORMAT_CODE, "URN", "Default Signature Style"),
        event_codes=[Code(SIGNATURE_EVENT_CODE, "1.2.840.10065.1.12", "Source")],
        confidentiality_codes=[c for c in template.confidentiality_codes],
        creation_time=now, service_start_time=now, service_stop_time=now,
        source_patient_id=submission_set.patient_id, source_patient_info=[],
        authors=list(submission_set.authors), hash=None, size=None, repository_unique_id=None,
        extra_slots=[], extra_classifications=[], extra_external_identifiers=[],
        location=None, line=None, element=None)


SignatureHook = Callable[[RegistryObjectList, Mapping[str, bytes]], bytes]


def placeholder_signature(metadata: RegistryObjectList, documents: Mapping[str, bytes]) -> bytes:
    """An unsigned XAdES skeleton: ``ds:Manifest Id="IHEManifest"`` with one SHA-256 Reference per document
    (``urn:oid:<uniqueId>``). The VIHF/XAdES layer replaces it with a real signature."""
    signature = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    manifest = etree.SubElement(etree.SubElement(signature, f"{{{DS}}}Object"), f"{{{DS}}}Manifest",
                                Id="IHEManifest")
    for entry in metadata.document_entries:
        if entry.id not in documents:
            continue
        reference = etree.SubElement(manifest, f"{{{DS}}}Reference", URI=f"urn:oid:{entry.unique_id}")
        etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
        etree.SubElement(reference, f"{{{DS}}}DigestValue").text = base64.b64encode(
            hashlib.sha256(documents[entry.id]).digest()).decode()
    return etree.tostring(signature, encoding="UTF-8")


def xades_signer(key: rsa.RSAPrivateKey, cert: x509.Certificate, *, algorithm: str = "rsa-sha256") -> SignatureHook:
    """A :data:`SignatureHook` producing the real XAdES document (:mod:`conformance.xades`) signed with
    ``key``/``cert`` (the structure seal), over every document and the SubmissionSet."""
    def sign(metadata: RegistryObjectList, documents: Mapping[str, bytes]) -> bytes:
        signed = [(e.unique_id or "", documents[e.id]) for e in metadata.document_entries if e.id in documents]
        submission_set = metadata.submission_set
        return build_signature_document(signed, submission_set.unique_id or "" if submission_set else "", key, cert,
                                        algorithm=algorithm)
    return sign


def submission(submission_set: SubmissionSet, documents: Sequence[tuple[DocumentEntry, bytes]], *,
               signer: SignatureHook = placeholder_signature,
               signature_id: str = "Signature01") -> ProvideAndRegisterRequest:
    """A complete TD2.1 submission: HasMember per entry (Original), the signature entry and ``signs``."""
    metadata = RegistryObjectList(submission_sets=[submission_set])
    contents: dict[str, bytes] = {}
    for entry, content in documents:
        metadata.document_entries.append(entry)
        contents[entry.id] = content
    signature = signature_entry(submission_set, documents[0][0], entry_id=signature_id)
    signature_bytes = signer(metadata, contents)
    metadata.document_entries.append(signature)
    contents[signature.id] = signature_bytes
    for index, entry in enumerate(metadata.document_entries, start=1):
        metadata.associations.append(Association(
            id=f"assoc{index}", type=AssociationType.HAS_MEMBER, source=submission_set.id, target=entry.id,
            extra_slots=[Slot("SubmissionSetStatus", ["Original"])]))
    metadata.associations.append(Association(id=f"assoc{len(metadata.document_entries) + 1}",
                                             type=AssociationType.SIGNS, source=signature.id,
                                             target=submission_set.id))
    return ProvideAndRegisterRequest(metadata, contents)


def replacement_association(new_entry_id: str, old_entry_uuid: str, association_id: str = "rplc1") -> Association:
    """TD2.1b: RPLC from the new DocumentEntry to the replaced entry's **entryUUID**."""
    return Association(id=association_id, type=AssociationType.RPLC, source=new_entry_id, target=old_entry_uuid)


# --- requests -----------------------------------------------------------------------------------------------

def td21_request(request: ProvideAndRegisterRequest, *, security: etree._Element | None = None,
                 message_id: str | None = None) -> OutgoingMessage:
    return _request(request.to_element(), Action.ITI41, request.attachments(), security=security,
                    message_id=message_id)


def td31_request(query: AdhocQueryRequest, *, security: etree._Element | None = None,
                 message_id: str | None = None) -> OutgoingMessage:
    return _request(query.to_element(), Action.ITI18, security=security, message_id=message_id)


def td32_request(document_unique_ids: Sequence[str], *, repository_unique_id: str = Oid.DMP_REPOSITORY,
                 security: etree._Element | None = None, message_id: str | None = None) -> OutgoingMessage:
    request = RetrieveDocumentSetRequest([DocumentRequest(repository_unique_id, u) for u in document_unique_ids])
    return _request(request.to_element(), Action.ITI43, security=security, message_id=message_id)


def status_update(submission_set: SubmissionSet, entry_uuid: str, original_status: str, new_status: str,
                  association_id: str = "association1") -> SubmitObjectsRequest:
    """ITI-57 UpdateAvailabilityStatus of one DocumentEntry (TD3.3c: → Deleted; TD3.3d: ↔ Archived)."""
    association = Association(id=association_id, type=AssociationType.UPDATE_AVAILABILITY_STATUS,
                              source=submission_set.id, target=entry_uuid,
                              extra_slots=[Slot("OriginalStatus", [original_status]), Slot("NewStatus", [new_status])])
    return SubmitObjectsRequest(RegistryObjectList(submission_sets=[submission_set], associations=[association]))


def td33_status_request(submission_set: SubmissionSet, entry_uuid: str, *, original_status: str = Status.APPROVED,
                        new_status: str = Status.DELETED, security: etree._Element | None = None,
                        message_id: str | None = None) -> OutgoingMessage:
    update = status_update(submission_set, entry_uuid, original_status, new_status)
    return _request(update.to_element(), Action.ITI57, security=security, message_id=message_id)


def metadata_update(submission_set: SubmissionSet, entry: DocumentEntry, previous_version: str,
                    association_id: str = "assoc1") -> SubmitObjectsRequest:
    """TD3.3a/b: a new DocumentEntry version (same lid) with HasMember ``PreviousVersion`` (ITI-57)."""
    association = Association(id=association_id, type=AssociationType.HAS_MEMBER, source=submission_set.id,
                              target=entry.id, extra_slots=[Slot("SubmissionSetStatus", ["Original"]),
                                                            Slot("PreviousVersion", [previous_version])])
    return SubmitObjectsRequest(RegistryObjectList(submission_sets=[submission_set], document_entries=[entry],
                                                   associations=[association]))


def td33_metadata_update_request(submission_set: SubmissionSet, entry: DocumentEntry, previous_version: str, *,
                                 security: etree._Element | None = None,
                                 message_id: str | None = None) -> OutgoingMessage:
    update = metadata_update(submission_set, entry, previous_version)
    return _request(update.to_element(), Action.ITI57, security=security, message_id=message_id)


# --- responses ----------------------------------------------------------------------------------------------

_RESPONSE_ACTIONS = {Action.ITI41: Action.ITI41_RESPONSE, Action.ITI57: Action.ITI57_RESPONSE,
                     Action.ITI18: Action.ITI18_RESPONSE, Action.ITI43: Action.ITI43_RESPONSE}


def response_action(request_action: str) -> str:
    return _RESPONSE_ACTIONS.get(request_action, request_action + "Response")


def registry_response(response: RegistryResponse, *, request_action: str = Action.ITI41,
                      relates_to: str | None = None) -> OutgoingMessage:
    """ITI-41 / ITI-57 response."""
    return _response(response.to_element(), response_action(request_action), relates_to)


def query_response(response: AdhocQueryResponse, *, relates_to: str | None = None) -> OutgoingMessage:
    return _response(response.to_element(), Action.ITI18_RESPONSE, relates_to)


def retrieve_response(response: RetrieveDocumentSetResponse, *, relates_to: str | None = None) -> OutgoingMessage:
    return _response(response.to_element(), Action.ITI43_RESPONSE, relates_to, response.attachments())


__all__ = [
    "OutgoingMessage",
    "SignatureHook",
    "cx",
    "document_entry_from_cda",
    "hl7_ts_to_utc",
    "metadata_update",
    "new_oid",
    "new_submission_set",
    "placeholder_signature",
    "query_response",
    "registry_response",
    "replacement_association",
    "response_action",
    "retrieve_response",
    "signature_entry",
    "status_update",
    "submission",
    "td21_request",
    "td31_request",
    "td32_request",
    "td33_metadata_update_request",
    "td33_status_request",
    "utc_now_dtm",
    "xades_signer",
    "xcn",
    "xon",
]
