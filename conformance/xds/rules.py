"""DMP rules on XDS metadata and XDS messages (kind ``xds``), from docs/xds-metadata.md and transactions.md.

The model is :class:`XdsCheck`: the parsed body (:mod:`conformance.xds.messages`), the DMP transaction, the
value sets and the profile (``production`` flags test INS OIDs). Each rule yields a located
:class:`~conformance.findings.Violation` that names what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from conformance.findings import Check, Severity, Violation, rules
from conformance.identity import Cx, Hl7V2Error, Xcn, Xon, is_valid_nir
from conformance.identity.nir import INS_C_OID, INS_OIDS
from conformance.identity.oids import is_urn_uuid, oid_problem
from conformance.xds.constants import (
    ALL_ASSOCIATION_TYPES,
    DMP_STATUSES,
    QUERY,
    RIM,
    RS,
    SIGNATURE_CLASS_CODE,
    SIGNATURE_EVENT_CODE,
    SIGNATURE_FORMAT_CODE,
    SIGNATURE_TYPE_CODE,
    STATUS_TRANSITIONS,
    TEST_INS_OIDS,
    WRONG_FORMAT_CODE_SCHEME,
    XDSB,
    AssociationType,
    ErrorCode,
    ErrorSeverity,
    ObjectType,
    Oid,
    ResponseStatus,
    Scheme,
    Status,
)
from conformance.xds.messages import (
    AdhocQueryRequest,
    AdhocQueryResponse,
    ProvideAndRegisterRequest,
    RegistryError,
    RegistryResponse,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
    SubmitObjectsRequest,
    XdsMessage,
)
from conformance.xds.model import Code, DocumentEntry, RegistryObject, RegistryObjectList, SubmissionSet
from conformance.xds.queries import (
    QUERY_NAMES,
    SINGLE_VALUED,
    decode_values,
    missing_parameters,
    parse_code_value,
)
from conformance.xds.valuesets import ValueSet, load_value_sets
from conformance.xml import NAMESPACES, XmlInputError, parse_xml, xpath_of

_DTM = re.compile(r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2})?)?)?)?)?")
_DTM_FORMATS = {4: "%Y", 6: "%Y%m", 8: "%Y%m%d", 10: "%Y%m%d%H", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", re.IGNORECASE)
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
HL7 = NAMESPACES["hl7"]
KNOWN_ERROR_CODES = frozenset(v for k, v in vars(ErrorCode).items() if not k.startswith("_"))
MAX_UNIQUE_ID = 128  # IHE: a DocumentEntry uniqueId (root^extension) is at most 128 characters


@dataclass(slots=True)
class XdsCheck:
    """One XDS message under judgement."""

    body: XdsMessage
    transaction: str | None = None  # "TD2.1", "TD3.1"… when known
    value_sets: dict[str, ValueSet] = field(default_factory=load_value_sets)
    production: bool = False  # production profile: test INS OIDs are errors
    _cda: dict[str, etree._Element | None] = field(default_factory=dict, repr=False, compare=False)

    def cda_of(self, entry: DocumentEntry) -> etree._Element | None:
        """The ``hl7:ClinicalDocument`` sent for ``entry`` in ITI-41 (parsed once), or None when there is none
        or it is not a readable CDA (the CDA validator reports that)."""
        if entry.id not in self._cda:
            content = self.body.documents.get(entry.id) if isinstance(self.body, ProvideAndRegisterRequest) else None
            root = None
            if content is not None and b"ClinicalDocument" in content[:4096]:
                try:
                    root = parse_xml(content).getroot()
                except XmlInputError:
                    root = None
            self._cda[entry.id] = root if root is not None and root.tag == f"{{{HL7}}}ClinicalDocument" else None
        return self._cda[entry.id]

    @property
    def metadata(self) -> RegistryObjectList | None:
        if isinstance(self.body, ProvideAndRegisterRequest | SubmitObjectsRequest):
            return self.body.metadata
        if isinstance(self.body, AdhocQueryResponse):
            return self.body.objects
        return None

    @property
    def is_submission(self) -> bool:
        return isinstance(self.body, ProvideAndRegisterRequest | SubmitObjectsRequest)

    @property
    def is_feed(self) -> bool:
        """ITI-41 (TD2.1): a full submission with documents, HasMember and the signature."""
        return isinstance(self.body, ProvideAndRegisterRequest)

    def entries(self) -> list[DocumentEntry]:
        metadata = self.metadata
        return metadata.document_entries if metadata is not None else []

    def clinical_entries(self) -> list[DocumentEntry]:
        """DocumentEntries other than signatures (value-set rules of clinical documents apply to these)."""
        return [e for e in self.entries() if not is_signature(e)]

    def submission_sets(self) -> list[SubmissionSet]:
        metadata = self.metadata
        return metadata.submission_sets if metadata is not None else []


def is_signature(entry: DocumentEntry) -> bool:
    return entry.class_code is not None and entry.class_code.code == SIGNATURE_CLASS_CODE


# The catalogue requirement (profiles/requirements/*.yaml) each rule implements, where there is one
_REQUIREMENT_OF = {
    **dict.fromkeys(("BENCH-XDS-SS-CONTENTTYPE", "BENCH-XDS-DE-CLASSCODE", "BENCH-XDS-DE-TYPECODE",
                     "BENCH-XDS-DE-FORMATCODE", "BENCH-XDS-FORMATCODE-SCHEME", "BENCH-XDS-DE-FACILITY",
                     "BENCH-XDS-DE-PRACTICE", "BENCH-XDS-DE-CONFIDENTIALITY-COUNT",
                     "BENCH-XDS-DE-CONFIDENTIALITY-VALUESET", "BENCH-XDS-DE-CONFIDENTIALITY-HL7",
                     "BENCH-XDS-DE-CONFIDENTIALITY-DUPLICATE", "BENCH-XDS-CODE-SCHEME"), "BENCH-XDS-CODES"),
    **dict.fromkeys(("BENCH-XDS-SIGNATURE", "BENCH-XDS-SIGNATURE-METADATA"), "BENCH-XDS-SIGNATURE"),
    **dict.fromkeys(("BENCH-XDS-DOC-MISSING", "BENCH-XDS-DOC-METADATA-MISSING", "BENCH-XDS-DOC-CONTENT"),
                    "BENCH-MTOM"),
    **dict.fromkeys(("BENCH-XDS-STATUS-UPDATE", "BENCH-XDS-STATUS-VALUES"), "BENCH-XDS-STATUS"),
    **dict.fromkeys(("BENCH-XDS-RESPONSE-STATUS", "BENCH-XDS-RESPONSE-ERROR"), "BENCH-DMP-ERRORS"),
    "BENCH-XDS-RPLC": "BENCH-XDS-RPLC",
    "BENCH-XDS-XCN-NAMES": "RG_2230",
}


def _register(rule_id: str, title: str, severity: Severity = Severity.ERROR,
              hint: str | None = None, requirement: str | None = None) -> Callable[[Check], Check]:
    return rules.register(rule_id, kind="xds", title=title, severity=severity, hint=hint,
                          requirement=requirement or _REQUIREMENT_OF.get(rule_id))


# --- locations ------------------------------------------------------------------------------------------------

def _where(obj: RegistryObject) -> str:
    if obj.location:
        return obj.location
    kind = {"DocumentEntry": "rim:ExtrinsicObject", "SubmissionSet": "rim:RegistryPackage",
            "Folder": "rim:RegistryPackage", "Association": "rim:Association"}.get(type(obj).__name__, "*")
    return f"//{kind}[@id='{obj.id}']"


def _at(obj: RegistryObject, message: str, step: str = "", severity: Severity | None = None) -> Violation:
    return Violation(f"{_label(obj)}: {message}", location=_where(obj) + step, line=obj.line, severity=severity)


def _label(obj: RegistryObject) -> str:
    return f"{type(obj).__name__} {obj.id!r}"


def _found(element: etree._Element | None, fallback: str, message: str,
           severity: Severity | None = None) -> Violation:
    """A violation at ``element`` (XPath and line) when the message was parsed, else at ``fallback``."""
    if element is None:
        return Violation(message, location=fallback, severity=severity)
    return Violation(message, location=xpath_of(element), line=element.sourceline, severity=severity)


def _child(element: etree._Element | None, tag: str, **attributes: str) -> etree._Element | None:
    """The first descendant ``tag`` of ``element`` whose attributes have the given values, else ``element``
    itself (the nearest located ancestor); None for a model built in memory."""
    if element is None:
        return None
    return next((e for e in element.iter(tag) if all(e.get(k) == v for k, v in attributes.items())), element)


def _slot_step(name: str) -> str:
    return f"/rim:Slot[@name='{name}']"


def _class_step(scheme: str) -> str:
    return f"/rim:Classification[@classificationScheme='{scheme}']"


def _id_step(scheme: str) -> str:
    return f"/rim:ExternalIdentifier[@identificationScheme='{scheme}']"


# --- value helpers --------------------------------------------------------------------------------------------

def dtm_problem(value: str) -> str | None:
    """Why ``value`` is not an XDS DTM (``yyyy[MM[dd[HH[mm[ss]]]]]``, UTC, no offset), or None."""
    if not _DTM.fullmatch(value):
        return f"{value!r} is not yyyy[MM[dd[HH[mm[ss]]]]] (digits only, UTC, no time zone)"
    try:
        datetime.strptime(value, _DTM_FORMATS[len(value)])
    except ValueError:
        return f"{value!r} is not a real date/time"
    return None


def cx_problem(value: str) -> str | None:
    """Why ``value`` is not a DMP patient id (INS as CX ``<NIR>^^^&<INS OID>&ISO^NH``), or None."""
    try:
        cx = Cx.parse(value)
    except Hl7V2Error as exc:
        return str(exc)
    oid = cx.assigning_authority.universal_id
    if oid == INS_C_OID:
        return f"CX.4 is the legacy INS-C OID {INS_C_OID}; the DMP identifies patients by the INS"
    if oid not in INS_OIDS:
        return f"CX.4 OID {oid} is not an INS OID ({', '.join(INS_OIDS)})"
    if cx.identifier_type_code != "NH":
        return f"CX.5 is {cx.identifier_type_code!r}, expected 'NH'"
    return None


def _patient_key(value: str | None) -> tuple[str, str] | None:
    """(CX.1, CX.4 OID): patient ids compare without CX.7 dates."""
    if not value:
        return None
    try:
        cx = Cx.parse(value)
    except Hl7V2Error:
        return (value, "")
    return (cx.id, cx.assigning_authority.universal_id)


def _code_in(code: Code, value_set: ValueSet) -> bool:
    return (code.code, code.scheme) in value_set


def _value_set_violation(obj: RegistryObject, attribute: str, scheme: str, code: Code,
                         value_set: ValueSet) -> Violation | None:
    if _code_in(code, value_set):
        return None
    schemes = value_set.schemes_of(code.code)
    found = f"{code.code!r} (codingScheme {code.scheme!r})"
    expected = (f"codingScheme {' or '.join(sorted(schemes))} for this code" if schemes
                else f"a code of {value_set.name} ({value_set.source})")
    return _at(obj, f"{attribute} {found} is not in {value_set.name}; expected {expected}", _class_step(scheme),
               severity=None if value_set.complete else Severity.WARNING)


# --- SubmissionSet --------------------------------------------------------------------------------------------

@_register("BENCH-XDS-SS-COUNT", "a submission holds exactly one SubmissionSet",
           hint="send one rim:RegistryPackage classified as a SubmissionSet per ITI-41/ITI-57 request")
def ss_count(check: XdsCheck) -> Iterator[Violation]:
    if check.is_submission and len(check.submission_sets()) != 1:
        metadata = check.metadata
        yield _found(metadata.element if metadata else None, "//rim:RegistryObjectList",
                     f"{len(check.submission_sets())} SubmissionSets, expected exactly one")


def _oid_id(obj: RegistryObject, attribute: str, scheme: str, value: str | None) -> Iterator[Violation]:
    if not value:
        yield _at(obj, f"{attribute} is missing (required)", _id_step(scheme))
    elif problem := oid_problem(value):
        yield _at(obj, f"{attribute} {value!r} is not an OID: {problem}", _id_step(scheme))


@_register("BENCH-XDS-SS-UNIQUEID", "SubmissionSet.uniqueId is present and an OID of at most 64 characters",
           hint="set a globally unique OID under the sender's root (e.g. <sourceId>.<n>)")
def ss_unique_id(check: XdsCheck) -> Iterator[Violation]:
    for sset in check.submission_sets():
        yield from _oid_id(sset, "uniqueId", Scheme.SS_UNIQUE_ID, sset.unique_id)


@_register("BENCH-XDS-SS-SOURCEID", "SubmissionSet.sourceId is present and an OID",
           hint="set sourceId to the OID of the sending system")
def ss_source_id(check: XdsCheck) -> Iterator[Violation]:
    for sset in check.submission_sets():
        yield from _oid_id(sset, "sourceId", Scheme.SS_SOURCE_ID, sset.source_id)


@_register("BENCH-XDS-SS-SUBMISSIONTIME", "SubmissionSet.submissionTime is present",
           hint="set submissionTime to the UTC time of the submission (yyyyMMddHHmmss)")
def ss_submission_time(check: XdsCheck) -> Iterator[Violation]:
    for sset in check.submission_sets():
        if not sset.submission_time:
            yield _at(sset, "submissionTime is missing (required)", _slot_step("submissionTime"))


@_register("BENCH-XDS-SS-CONTENTTYPE", "SubmissionSet.contentTypeCode is present and in JDV_J59",
           hint="use a contentTypeCode of JDV_J59-ContentTypeCode-DMP (codingScheme 1.2.250.1.213.2.2)")
def ss_content_type(check: XdsCheck) -> Iterator[Violation]:
    value_set = check.value_sets["J59_content_type_code"]
    for sset in check.submission_sets():
        if sset.content_type_code is None:
            yield _at(sset, "contentTypeCode is missing (required)", _class_step(Scheme.SS_CONTENT_TYPE_CODE))
        elif violation := _value_set_violation(sset, "contentTypeCode", Scheme.SS_CONTENT_TYPE_CODE,
                                               sset.content_type_code, value_set):
            yield violation


@_register("BENCH-XDS-SS-AUTHOR", "the SubmissionSet has one author with an authorPerson",
           hint="classify the SubmissionSet with one author (scheme …a7058bb9…) holding authorPerson")
def ss_author(check: XdsCheck) -> Iterator[Violation]:
    for sset in check.submission_sets():
        if not sset.authors:
            yield _at(sset, "no author (required)", _class_step(Scheme.SS_AUTHOR))
        elif not any(a.person for a in sset.authors):
            yield _at(sset, "the author has no authorPerson", _class_step(Scheme.SS_AUTHOR))


# --- patient ids ----------------------------------------------------------------------------------------------

def _patient_ids(check: XdsCheck) -> Iterator[tuple[RegistryObject, str, str | None]]:
    for sset in check.submission_sets():
        yield sset, Scheme.SS_PATIENT_ID, sset.patient_id
    for entry in check.entries():
        yield entry, Scheme.DE_PATIENT_ID, entry.patient_id


@_register("BENCH-XDS-PATIENTID", "patientId is present and an INS as CX (<NIR>^^^&<INS OID>&ISO^NH)",
           hint="write the INS (qualified NIR/NIA) as <value>^^^&1.2.250.1.213.1.4.8&ISO^NH")
def patient_id(check: XdsCheck) -> Iterator[Violation]:
    for obj, scheme, value in _patient_ids(check):
        if not value:
            yield _at(obj, "patientId is missing (required)", _id_step(scheme))
        elif problem := cx_problem(value):
            yield _at(obj, f"patientId {value!r}: {problem}", _id_step(scheme))


@_register("BENCH-XDS-PATIENTID-KEY", "the INS of patientId has a valid NIR key",
           hint="check the NIR: its key is 97 − (NIR mod 97)")
def patient_id_key(check: XdsCheck) -> Iterator[Violation]:
    for obj, scheme, value in _patient_ids(check):
        if value and cx_problem(value) is None:
            nir = Cx.parse(value).id
            if not is_valid_nir(nir):
                yield _at(obj, f"patientId INS {nir!r} is not a valid NIR/NIA (structure or key)", _id_step(scheme))


@_register("BENCH-XDS-PATIENTID-TEST-OID", "no test INS OID in the production profile",
           hint="test OIDs 1.2.250.1.213.1.4.10/.11 are only for test platforms; use the INS-NIR/NIA OIDs (.8/.9)")
def patient_id_test_oid(check: XdsCheck) -> Iterator[Violation]:
    if not check.production:
        return
    for obj, scheme, value in _patient_ids(check):
        key = _patient_key(value)
        if key is not None and key[1] in TEST_INS_OIDS:
            yield _at(obj, f"patientId uses the test INS OID {key[1]} in a production profile", _id_step(scheme))


@_register("BENCH-XDS-PATIENTID-MATCH", "every DocumentEntry has the SubmissionSet's patientId",
           hint=f"one submission concerns one patient ({ErrorCode.PATIENT_ID_DOES_NOT_MATCH})")
def patient_id_match(check: XdsCheck) -> Iterator[Violation]:
    if not check.is_submission or len(check.submission_sets()) != 1:
        return
    expected = _patient_key(check.submission_sets()[0].patient_id)
    for entry in check.entries():
        found = _patient_key(entry.patient_id)
        if expected and found and found != expected:
            yield _at(entry, f"patientId {entry.patient_id!r} differs from the SubmissionSet's "
                             f"{check.submission_sets()[0].patient_id!r}", _id_step(Scheme.DE_PATIENT_ID))


# --- DocumentEntry: identifiers and simple attributes ---------------------------------------------------------

@_register("BENCH-XDS-DE-UNIQUEID", "DocumentEntry.uniqueId is present: an OID, or OID^extension, ≤ 128 characters",
           hint="use the CDA ClinicalDocument/id: @root, or @root^@extension")
def de_unique_id(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        value = entry.unique_id
        if not value:
            yield _at(entry, "uniqueId is missing (required)", _id_step(Scheme.DE_UNIQUE_ID))
            continue
        root, _, extension = value.partition("^")
        if problem := oid_problem(root):
            yield _at(entry, f"uniqueId root {root!r} is not an OID: {problem}", _id_step(Scheme.DE_UNIQUE_ID))
        elif "^" in value and not extension:
            yield _at(entry, f"uniqueId {value!r} has an empty extension after '^'", _id_step(Scheme.DE_UNIQUE_ID))
        elif len(value) > MAX_UNIQUE_ID:
            yield _at(entry, f"uniqueId has {len(value)} characters, at most {MAX_UNIQUE_ID}",
                      _id_step(Scheme.DE_UNIQUE_ID))


@_register("BENCH-XDS-UNIQUEID-DUPLICATE", "uniqueIds are unique within the message",
           hint=f"give every document and the SubmissionSet its own uniqueId "
                f"({ErrorCode.REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE})")
def unique_id_duplicate(check: XdsCheck) -> Iterator[Violation]:
    if not check.is_submission:
        return
    objects: list[RegistryObject] = [*check.submission_sets(), *check.entries()]
    counts = Counter(getattr(o, "unique_id", None) for o in objects)
    for obj in objects:
        value = getattr(obj, "unique_id", None)
        if value and counts[value] > 1:
            yield _at(obj, f"uniqueId {value!r} is used {counts[value]} times in the submission")


@_register("BENCH-XDS-ID-DUPLICATE", "object ids are unique within the message",
           hint="give each ExtrinsicObject, RegistryPackage and Association its own id")
def id_duplicate(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if metadata is None:
        return
    counts = Counter(o.id for o in metadata.objects())
    reported: set[str] = set()
    for obj in metadata.objects():
        if counts[obj.id] > 1 and obj.id not in reported:
            reported.add(obj.id)
            yield _at(obj, f"id {obj.id!r} is used by {counts[obj.id]} objects")


_TIME_SLOTS = (("creation_time", "creationTime"), ("service_start_time", "serviceStartTime"),
               ("service_stop_time", "serviceStopTime"))


@_register("BENCH-XDS-DTM", "times are XDS DTM values in UTC (yyyy[MM[dd[HH[mm[ss]]]]])",
           hint="write times as yyyyMMddHHmmss in UTC, without a time-zone offset (EX_3.1-1070)")
def dtm_format(check: XdsCheck) -> Iterator[Violation]:
    for sset in check.submission_sets():
        if sset.submission_time and (problem := dtm_problem(sset.submission_time)):
            yield _at(sset, f"submissionTime {problem}", _slot_step("submissionTime"))
    for entry in check.entries():
        for attribute, name in _TIME_SLOTS:
            value = getattr(entry, attribute)
            if value and (problem := dtm_problem(value)):
                yield _at(entry, f"{name} {problem}", _slot_step(name))


@_register("BENCH-XDS-DE-CREATIONTIME", "DocumentEntry.creationTime is present",
           hint="copy the CDA effectiveTime, converted to UTC")
def de_creation_time(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if not entry.creation_time:
            yield _at(entry, "creationTime is missing (required)", _slot_step("creationTime"))


@_register("BENCH-XDS-DE-SERVICETIME", "serviceStartTime is present and not after serviceStopTime",
           hint="copy documentationOf/serviceEvent/effectiveTime low/high, converted to UTC")
def de_service_time(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.clinical_entries():
        start, stop = entry.service_start_time, entry.service_stop_time
        if not start:
            yield _at(entry, "serviceStartTime is missing (required by the DMP)", _slot_step("serviceStartTime"))
        elif stop and not dtm_problem(start) and not dtm_problem(stop):
            width = min(len(start), len(stop))
            if start[:width] > stop[:width]:
                yield _at(entry, f"serviceStartTime {start} is after serviceStopTime {stop}",
                          _slot_step("serviceStopTime"))


@_register("BENCH-XDS-DE-LANGUAGE", "DocumentEntry.languageCode is present and a language tag",
           hint="use fr-FR (art for the signature document)")
def de_language(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if not entry.language_code:
            yield _at(entry, "languageCode is missing (required)", _slot_step("languageCode"))
        elif not _LANGUAGE.fullmatch(entry.language_code):
            yield _at(entry, f"languageCode {entry.language_code!r} is not a language tag (e.g. fr-FR)",
                      _slot_step("languageCode"))


@_register("BENCH-XDS-DE-MIMETYPE", "DocumentEntry.mimeType is present and a media type",
           hint="text/xml for a CDA document and for the XAdES signature")
def de_mime_type(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if not entry.mime_type:
            yield _at(entry, "mimeType attribute is missing (required)")
        elif not _MIME.fullmatch(entry.mime_type):
            yield _at(entry, f"mimeType {entry.mime_type!r} is not a media type (type/subtype)")


@_register("BENCH-XDS-DE-TITLE", "DocumentEntry.title (rim:Name) is present",
           hint="copy the CDA title into rim:Name/rim:LocalizedString/@value")
def de_title(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.clinical_entries():
        if not entry.title:
            yield _at(entry, "title (rim:Name) is missing (required)", "/rim:Name")


@_register("BENCH-XDS-DE-OBJECTTYPE", "DocumentEntry objectType is the stable-document type",
           hint=f"set objectType=\"{ObjectType.STABLE_DOCUMENT_ENTRY}\" (on-demand entries are not used by the DMP)")
def de_object_type(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if entry.object_type != ObjectType.STABLE_DOCUMENT_ENTRY:
            yield _at(entry, f"objectType is {entry.object_type!r}, expected {ObjectType.STABLE_DOCUMENT_ENTRY}")


@_register("BENCH-XDS-DE-SOURCEPATIENTID", "sourcePatientId is present and a CX",
           hint="send the local patient id (IPP) as CX <id>^^^&<OID>&ISO^PI, or the INS")
def de_source_patient_id(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.clinical_entries():
        if not entry.source_patient_id:
            yield _at(entry, "sourcePatientId is missing (required)", _slot_step("sourcePatientId"))
            continue
        try:
            Cx.parse(entry.source_patient_id)
        except Hl7V2Error as exc:
            yield _at(entry, f"sourcePatientId {entry.source_patient_id!r}: {exc}", _slot_step("sourcePatientId"))


_PID = re.compile(r"PID-(3|5|7|8|11|13)\|.*")


@_register("BENCH-XDS-DE-SOURCEPATIENTINFO", "sourcePatientInfo values are PID-n|value with name, birth date and sex",
           Severity.WARNING, hint="send PID-5|FAMILY^Given^^^^^L, PID-7|yyyyMMdd and PID-8|F/M/U")
def de_source_patient_info(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.clinical_entries():
        fields = set()
        for value in entry.source_patient_info:
            if not _PID.fullmatch(value):
                yield _at(entry, f"sourcePatientInfo value {value!r} is not PID-n|…", _slot_step("sourcePatientInfo"),
                          severity=Severity.ERROR)
            fields.add(value.split("|", 1)[0])
        missing = {"PID-5", "PID-7", "PID-8"} - fields
        if missing:
            yield _at(entry, f"sourcePatientInfo lacks {', '.join(sorted(missing))}", _slot_step("sourcePatientInfo"))


@_register("BENCH-XDS-DE-HASH-SIZE", "hash and size, when given, are a SHA-1 hex and a byte count matching the document",
           hint=f"omit hash/size (the registry computes them) or send the exact values ({ErrorCode.NON_IDENTICAL_HASH})")
def de_hash_size(check: XdsCheck) -> Iterator[Violation]:
    documents = check.body.documents if isinstance(check.body, ProvideAndRegisterRequest) else {}
    for entry in check.entries():
        content = documents.get(entry.id)
        if entry.hash is not None:
            if not _SHA1.fullmatch(entry.hash):
                yield _at(entry, f"hash {entry.hash!r} is not 40 hexadecimal characters (SHA-1)", _slot_step("hash"))
            elif content is not None and entry.hash.lower() != hashlib.sha1(content).hexdigest():
                yield _at(entry, f"hash {entry.hash} differs from the SHA-1 of the document "
                                 f"({hashlib.sha1(content).hexdigest()})", _slot_step("hash"))
        if entry.size is not None:
            if not entry.size.isdigit():
                yield _at(entry, f"size {entry.size!r} is not a number of bytes", _slot_step("size"))
            elif content is not None and int(entry.size) != len(content):
                yield _at(entry, f"size {entry.size} differs from the document length ({len(content)} bytes)",
                          _slot_step("size"))


@_register("BENCH-XDS-DE-REGISTRY-SLOTS", "registry responses give hash, size and repositoryUniqueId",
           hint="a registry fills hash, size and repositoryUniqueId in LeafClass query results")
def de_registry_slots(check: XdsCheck) -> Iterator[Violation]:
    if not isinstance(check.body, AdhocQueryResponse):
        return
    for entry in check.entries():
        for attribute, name in (("hash", "hash"), ("size", "size"), ("repository_unique_id", "repositoryUniqueId")):
            if getattr(entry, attribute) is None:
                yield _at(entry, f"{name} is missing from a registry response", _slot_step(name))


# --- DocumentEntry: coded attributes --------------------------------------------------------------------------

def _single_code(check: XdsCheck, attribute: str, label: str, scheme: str, value_set: str | None,
                 entries: Iterable[DocumentEntry]) -> Iterator[Violation]:
    for entry in entries:
        code = getattr(entry, attribute)
        duplicates = [c for c in entry.extra_classifications if c.scheme == scheme]
        if code is None:
            yield _at(entry, f"{label} is missing (required)", _class_step(scheme))
            continue
        if duplicates:
            yield _at(entry, f"{label} appears {len(duplicates) + 1} times, expected once", _class_step(scheme))
        if value_set is not None and (violation := _value_set_violation(entry, label, scheme, code,
                                                                          check.value_sets[value_set])):
            yield violation


@_register("BENCH-XDS-DE-CLASSCODE", "classCode is present once and in JDV_J57-ClassCode-DMP",
           hint="use a classCode of JDV_J57 (codingScheme 1.2.250.1.213.1.1.4.1), derived from the typeCode")
def de_class_code(check: XdsCheck) -> Iterator[Violation]:
    yield from _single_code(check, "class_code", "classCode", Scheme.DE_CLASS_CODE, "J57_class_code", check.entries())


@_register("BENCH-XDS-DE-TYPECODE", "typeCode is present once and in JDV_J07 (XdsTypeCode)",
           hint="copy ClinicalDocument/code; it must be a code of JDV_J07-XdsTypeCode-CISIS")
def de_type_code(check: XdsCheck) -> Iterator[Violation]:
    yield from _single_code(check, "type_code", "typeCode", Scheme.DE_TYPE_CODE, "J07_type_code",
                            check.clinical_entries())


@_register("BENCH-XDS-DE-FORMATCODE", "formatCode is present once and in JDV_J60-FormatCode-DMP",
           hint="use the formatCode of the CDA model (ASS_A11), or urn:ihe:iti:xds-sd:pdf|text:2008 for CDA N1")
def de_format_code(check: XdsCheck) -> Iterator[Violation]:
    yield from _single_code(check, "format_code", "formatCode", Scheme.DE_FORMAT_CODE, "J60_format_code",
                            check.clinical_entries())


@_register("BENCH-XDS-FORMATCODE-SCHEME", "no formatCode under the wrong scheme UUID …-9fdf87b75cc4",
           hint=f"the formatCode scheme is {Scheme.DE_FORMAT_CODE}")
def format_code_scheme(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if any(c.scheme == WRONG_FORMAT_CODE_SCHEME for c in entry.extra_classifications):
            yield _at(entry, f"a classification uses {WRONG_FORMAT_CODE_SCHEME}, a wrong formatCode scheme "
                             "known from a third-party client", _class_step(WRONG_FORMAT_CODE_SCHEME))


@_register("BENCH-XDS-DE-FACILITY", "healthcareFacilityTypeCode is present once and in JDV_J61 (TRE_R02)",
           hint="copy encompassingEncounter/location/healthCareFacility/code (codingScheme 1.2.250.1.71.4.2.4)")
def de_facility(check: XdsCheck) -> Iterator[Violation]:
    yield from _single_code(check, "healthcare_facility_type_code", "healthcareFacilityTypeCode",
                            Scheme.DE_HEALTHCARE_FACILITY_TYPE_CODE, "J61_healthcare_facility_type_code",
                            check.clinical_entries())


@_register("BENCH-XDS-DE-PRACTICE", "practiceSettingCode is present once and in JDV_J62",
           hint="copy serviceEvent/performer/…/standardIndustryClassCode (codingScheme 1.2.250.1.213.1.1.4.9)")
def de_practice(check: XdsCheck) -> Iterator[Violation]:
    yield from _single_code(check, "practice_setting_code", "practiceSettingCode", Scheme.DE_PRACTICE_SETTING_CODE,
                            "J62_practice_setting_code", check.clinical_entries())


@_register("BENCH-XDS-DE-CONFIDENTIALITY-COUNT", "1 to 4 confidentialityCodes",
           hint="one HL7 code (N/R/V) plus up to three DMP visibility codes (MASQUE_PS, INVISIBLE_…)")
def de_confidentiality_count(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        count = len(entry.confidentiality_codes)
        if not 1 <= count <= 4:
            yield _at(entry, f"{count} confidentialityCodes, expected 1 to 4", _class_step(Scheme.DE_CONFIDENTIALITY_CODE))


@_register("BENCH-XDS-DE-CONFIDENTIALITY-VALUESET", "confidentialityCodes are in JDV_J58-ConfidentialityCode-DMP",
           hint="N/R/V in 2.16.840.1.113883.5.25; MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX in "
                "1.2.250.1.213.1.1.4.13")
def de_confidentiality_value_set(check: XdsCheck) -> Iterator[Violation]:
    value_set = check.value_sets["J58_confidentiality_code"]
    for entry in check.entries():
        for code in entry.confidentiality_codes:
            if violation := _value_set_violation(entry, "confidentialityCode", Scheme.DE_CONFIDENTIALITY_CODE, code,
                                                 value_set):
                yield violation


@_register("BENCH-XDS-DE-CONFIDENTIALITY-HL7", "exactly one HL7 confidentialityCode (N, R or V)",
           hint="keep the CDA confidentialityCode; the DMP visibility codes come in addition, not instead")
def de_confidentiality_hl7(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        hl7 = [c for c in entry.confidentiality_codes if c.scheme == Oid.HL7_CONFIDENTIALITY]
        if len(hl7) != 1 and entry.confidentiality_codes:
            yield _at(entry, f"{len(hl7)} HL7 confidentialityCodes ({Oid.HL7_CONFIDENTIALITY}), expected exactly one",
                      _class_step(Scheme.DE_CONFIDENTIALITY_CODE))


@_register("BENCH-XDS-DE-CONFIDENTIALITY-DUPLICATE", "no confidentialityCode is repeated",
           hint="send each visibility code once")
def de_confidentiality_duplicate(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        counts = Counter(c.code for c in entry.confidentiality_codes)
        for code, count in counts.items():
            if count > 1:
                yield _at(entry, f"confidentialityCode {code!r} appears {count} times",
                          _class_step(Scheme.DE_CONFIDENTIALITY_CODE))


@_register("BENCH-XDS-CODE-SCHEME", "every coded attribute has a codingScheme and a display name",
           hint="add Slot codingScheme and Name/LocalizedString to each classification")
def code_scheme(check: XdsCheck) -> Iterator[Violation]:
    def coded(obj: RegistryObject) -> Iterator[tuple[str, str, Code]]:
        if isinstance(obj, SubmissionSet) and obj.content_type_code is not None:
            yield "contentTypeCode", Scheme.SS_CONTENT_TYPE_CODE, obj.content_type_code
        if isinstance(obj, DocumentEntry):
            for attribute, label, scheme in (
                    ("class_code", "classCode", Scheme.DE_CLASS_CODE), ("type_code", "typeCode", Scheme.DE_TYPE_CODE),
                    ("format_code", "formatCode", Scheme.DE_FORMAT_CODE),
                    ("healthcare_facility_type_code", "healthcareFacilityTypeCode",
                     Scheme.DE_HEALTHCARE_FACILITY_TYPE_CODE),
                    ("practice_setting_code", "practiceSettingCode", Scheme.DE_PRACTICE_SETTING_CODE)):
                if getattr(obj, attribute) is not None:
                    yield label, scheme, getattr(obj, attribute)
            for code in obj.confidentiality_codes:
                yield "confidentialityCode", Scheme.DE_CONFIDENTIALITY_CODE, code
            for code in obj.event_codes:
                yield "eventCodeList", Scheme.DE_EVENT_CODE, code

    for obj in [*check.submission_sets(), *check.entries()]:
        for label, scheme, code in coded(obj):
            if not code.code:
                yield _at(obj, f"{label} has an empty nodeRepresentation", _class_step(scheme))
            if not code.scheme:
                yield _at(obj, f"{label} {code.code!r} has no codingScheme slot", _class_step(scheme))
            if not code.display:
                yield _at(obj, f"{label} {code.code!r} has no display name (rim:Name)", _class_step(scheme),
                          severity=Severity.WARNING)


# --- authors and legal authenticator --------------------------------------------------------------------------

def _authors(check: XdsCheck) -> Iterator[tuple[RegistryObject, str, list]]:
    for sset in check.submission_sets():
        yield sset, Scheme.SS_AUTHOR, sset.authors
    for entry in check.entries():
        yield entry, Scheme.DE_AUTHOR, entry.authors


def _persons(check: XdsCheck) -> Iterator[tuple[RegistryObject, str, str, str]]:
    """(object, label, location step, XCN value) for each authorPerson and legalAuthenticator."""
    for obj, scheme, authors in _authors(check):
        for author in authors:
            if author.person:
                yield obj, "authorPerson", _class_step(scheme) + _slot_step("authorPerson"), author.person
    for entry in check.entries():
        if entry.legal_authenticator:
            yield entry, "legalAuthenticator", _slot_step("legalAuthenticator"), entry.legal_authenticator


def _institutions(check: XdsCheck) -> Iterator[tuple[RegistryObject, str, str]]:
    """(object, location step, XON value) for each authorInstitution."""
    for obj, scheme, authors in _authors(check):
        step = _class_step(scheme) + _slot_step("authorInstitution")
        for author in authors:
            for value in author.institutions:
                yield obj, step, value


@_register("BENCH-XDS-DE-AUTHOR", "every DocumentEntry has an author with an authorPerson",
           hint="classify the entry with at least one author (scheme …93606bcf…) holding authorPerson")
def de_author(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if not entry.authors:
            yield _at(entry, "no author (required, 1..*)", _class_step(Scheme.DE_AUTHOR))
        for author in entry.authors:
            if not author.person and not author.institutions:
                yield _at(entry, "an author has neither authorPerson nor authorInstitution", _class_step(Scheme.DE_AUTHOR))


@_register("BENCH-XDS-XCN", "authorPerson and legalAuthenticator are valid XCN with an OID assigning authority",
           hint="write id^FAMILY^Given^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS")
def xcn_format(check: XdsCheck) -> Iterator[Violation]:
    for obj, label, step, value in _persons(check):
        try:
            person = Xcn.parse(value)
        except Hl7V2Error as exc:
            yield _at(obj, f"{label} {value!r}: {exc}", step)
            continue
        if not person.id:
            yield _at(obj, f"{label} {value!r} has no identifier (XCN.1)", step)
        elif not person.assigning_authority.universal_id:
            yield _at(obj, f"{label} {value!r} has no assigning authority (XCN.9 &<OID>&ISO)", step)


@_register("BENCH-XDS-XCN-NAMES", "authorPerson and legalAuthenticator carry family and given names",
           hint="fill XCN.2 (family) and XCN.3 (given): the DMP rejects empty names")
def xcn_names(check: XdsCheck) -> Iterator[Violation]:
    for obj, label, step, value in _persons(check):
        try:
            person = Xcn.parse(value)
        except Hl7V2Error:
            continue  # reported by BENCH-XDS-XCN
        missing = [name for name, text in (("family (XCN.2)", person.family), ("given (XCN.3)", person.given))
                   if not text]
        if missing:
            yield _at(obj, f"{label} {value!r} lacks the {' and '.join(missing)} name", step)


@_register("BENCH-XDS-XON", "authorInstitution is a valid XON with name, OID assigning authority and identifier",
           hint="write NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<structure idNat>")
def xon_format(check: XdsCheck) -> Iterator[Violation]:
    for obj, step, value in _institutions(check):
        try:
            organisation = Xon.parse(value)
        except Hl7V2Error as exc:
            yield _at(obj, f"authorInstitution {value!r}: {exc}", step)
            continue
        if not organisation.name:
            yield _at(obj, f"authorInstitution {value!r} has no name (XON.1)", step)
        if not organisation.organization_identifier or not organisation.assigning_authority.universal_id:
            yield _at(obj, f"authorInstitution {value!r} lacks XON.6 (&<OID>&ISO) or XON.10 (identifier)", step)


_PS_IDNAT_PREFIXES = "0134568"  # ADELI, cabinet, FINESS, SIREN, SIRET, cabinet RPPS, RPPS (docs/xds-metadata.md §6)


@_register("BENCH-XDS-XCN-IDTYPE", "the XCN identifier type matches its assigning authority",
           hint="a professional: &1.2.250.1.71.4.2.1&ISO with IDNPS (idNat starting 0,1,3,4,5,6 or 8); a patient: an "
                "INS OID with NH; a system: RI")
def xcn_identifier_type(check: XdsCheck) -> Iterator[Violation]:
    for obj, label, step, value in _persons(check):
        try:
            person = Xcn.parse(value)
        except Hl7V2Error:
            continue  # reported by BENCH-XDS-XCN
        oid, kind = person.assigning_authority.universal_id, person.identifier_type_code
        if kind == "IDNPS" and oid != Oid.IDNAT_PS:
            yield _at(obj, f"{label} {value!r}: IDNPS with assigning authority {oid}, expected {Oid.IDNAT_PS}", step)
        elif kind == "IDNPS" and person.id[:1] not in _PS_IDNAT_PREFIXES:
            yield _at(obj, f"{label} {value!r}: a PS idNat starts with 0, 1, 3, 4, 5, 6 or 8", step)
        elif kind == "NH" and oid not in INS_OIDS:
            yield _at(obj, f"{label} {value!r}: NH (patient author) needs an INS OID, found {oid}", step)
        elif oid == Oid.IDNAT_PS and kind not in ("IDNPS", "RI"):
            yield _at(obj, f"{label} {value!r}: XCN.13 is {kind!r}; with the PS idNat OID use IDNPS (or RI for a "
                           "system)", step, severity=Severity.WARNING)


@_register("BENCH-XDS-XON-IDTYPE", "the XON identifier type matches its assigning authority",
           hint="a structure: &1.2.250.1.71.4.2.2&ISO with IDNST and the structure idNat in XON.10")
def xon_identifier_type(check: XdsCheck) -> Iterator[Violation]:
    for obj, step, value in _institutions(check):
        try:
            organisation = Xon.parse(value)
        except Hl7V2Error:
            continue  # reported by BENCH-XDS-XON
        oid, kind = organisation.assigning_authority.universal_id, organisation.identifier_type_code
        if (oid == Oid.IDNAT_STRUCTURE) != (kind == "IDNST"):
            yield _at(obj, f"authorInstitution {value!r}: identifier type {kind!r} with assigning authority "
                           f"{oid}; the structure idNat is IDNST with {Oid.IDNAT_STRUCTURE}", step)


@_register("BENCH-XDS-AUTHOR-SPECIALTY", "authorSpecialty is code^display^codingScheme", Severity.WARNING,
           hint="write e.g. G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5")
def author_specialty(check: XdsCheck) -> Iterator[Violation]:
    for obj, scheme, authors in _authors(check):
        for author in authors:
            for value in author.specialties:
                parts = value.split("^")
                if len(parts) != 3 or not parts[0] or oid_problem(parts[2]):
                    yield _at(obj, f"authorSpecialty {value!r} is not code^display^<codingScheme OID>",
                              _class_step(scheme) + _slot_step("authorSpecialty"))


@_register("BENCH-XDS-DE-LEGALAUTH", "a clinical DocumentEntry has a legalAuthenticator",
           hint="copy ClinicalDocument/legalAuthenticator as an XCN")
def de_legal_authenticator(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.clinical_entries():
        if not entry.legal_authenticator:
            yield _at(entry, "legalAuthenticator is missing (required by the DMP)", _slot_step("legalAuthenticator"))


# --- associations, signature, documents -----------------------------------------------------------------------

@_register("BENCH-XDS-ASSOC-TYPE", "association types are XDS association types",
           hint="use HasMember, signs, RPLC (or XFRM/APND/XFRM_RPLC), UpdateAvailabilityStatus")
def association_type(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    for association in metadata.associations if metadata else []:
        if association.type not in ALL_ASSOCIATION_TYPES:
            yield _at(association, f"associationType {association.type!r} is not an XDS association type")


@_register("BENCH-XDS-ASSOC-REFERENCE", "associations point to objects of the message or to registry entryUUIDs",
           hint="sourceObject/targetObject are ids of the submission, or urn:uuid entryUUIDs of the registry")
def association_reference(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if metadata is None or not check.is_submission:
        return
    known = {o.id for o in metadata.objects()}
    for association in metadata.associations:
        for end, value in (("sourceObject", association.source), ("targetObject", association.target)):
            if value not in known and not is_urn_uuid(value):
                yield _at(association, f"{end} {value!r} is neither an object of the submission nor a urn:uuid")


@_register("BENCH-XDS-HASMEMBER", "each new DocumentEntry is a member (HasMember, SubmissionSetStatus=Original)",
           hint="add a HasMember association SubmissionSet → entry with Slot SubmissionSetStatus=Original")
def has_member(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if metadata is None or not check.is_submission or metadata.submission_set is None:
        return
    members = {a.target: a for a in metadata.associations_of_type(AssociationType.HAS_MEMBER)
               if a.source == metadata.submission_set.id}
    for entry in metadata.document_entries:
        association = members.get(entry.id)
        if association is None:
            yield _at(entry, "no HasMember association from the SubmissionSet")
        elif association.submission_set_status != "Original":
            yield _at(association, f"SubmissionSetStatus is {association.submission_set_status!r}, expected "
                                   "'Original' for a submitted entry")


@_register("BENCH-XDS-SIGNATURE", "an ITI-41 submission has one signature DocumentEntry and its signs association",
           hint="add the XAdES signature DocumentEntry and Association signs (signature → SubmissionSet); "
                "the DMP requires the submission set to be signed")
def signature_present(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if not check.is_feed or metadata is None or metadata.submission_set is None:
        return
    signatures = [e for e in metadata.document_entries if is_signature(e)]
    signs = [a for a in metadata.associations_of_type(AssociationType.SIGNS)
             if a.target == metadata.submission_set.id]
    if len(signatures) != 1:
        yield _found(metadata.element, "//rim:RegistryObjectList",
                     f"{len(signatures)} signature DocumentEntries (classCode {SIGNATURE_CLASS_CODE}), expected one")
    if not signs:
        yield _found(metadata.element, "//rim:RegistryObjectList", "no signs association targets the SubmissionSet")
    for association in signs:
        if association.source not in {e.id for e in signatures}:
            yield _at(association, f"the signs association's source {association.source!r} is not the signature "
                                   "DocumentEntry")


@_register("BENCH-XDS-SIGNATURE-METADATA", "the signature DocumentEntry has the XDS digital-signature metadata",
           hint=f"typeCode {SIGNATURE_TYPE_CODE} (ASTM), formatCode {SIGNATURE_FORMAT_CODE} (URN), eventCode "
                f"{SIGNATURE_EVENT_CODE}, mimeType text/xml, languageCode art")
def signature_metadata(check: XdsCheck) -> Iterator[Violation]:
    for entry in check.entries():
        if not is_signature(entry):
            continue
        expected = (("typeCode", entry.type_code, SIGNATURE_TYPE_CODE, Scheme.DE_TYPE_CODE),
                    ("formatCode", entry.format_code, SIGNATURE_FORMAT_CODE, Scheme.DE_FORMAT_CODE))
        for label, code, value, scheme in expected:
            if code is None or code.code != value:
                yield _at(entry, f"signature {label} is {code.code if code else None!r}, expected {value!r}",
                          _class_step(scheme))
        if SIGNATURE_EVENT_CODE not in {c.code for c in entry.event_codes}:
            yield _at(entry, f"signature eventCodeList lacks {SIGNATURE_EVENT_CODE} (Source)",
                      _class_step(Scheme.DE_EVENT_CODE))
        if entry.mime_type != "text/xml":
            yield _at(entry, f"signature mimeType is {entry.mime_type!r}, expected 'text/xml'")


@_register("BENCH-XDS-DOC-MISSING", "each DocumentEntry of ITI-41 has its document (xdsb:Document)",
           hint=f"send one xdsb:Document whose id equals the entry id ({ErrorCode.MISSING_DOCUMENT})")
def document_missing(check: XdsCheck) -> Iterator[Violation]:
    if not isinstance(check.body, ProvideAndRegisterRequest):
        return
    present = set(check.body.documents) | set(check.body.unresolved)
    for entry in check.body.metadata.document_entries:
        if entry.id not in present:
            close = [d for d in present if d.lower() == entry.id.lower()]
            why = f" (a Document has id {close[0]!r}: ids are case-sensitive)" if close else ""
            yield _at(entry, f"no xdsb:Document with id {entry.id!r}{why}")


@_register("BENCH-XDS-DOC-METADATA-MISSING", "each xdsb:Document of ITI-41 has a DocumentEntry",
           hint=f"every Document id must be the id of a DocumentEntry ({ErrorCode.MISSING_DOCUMENT_METADATA})")
def document_metadata_missing(check: XdsCheck) -> Iterator[Violation]:
    if not isinstance(check.body, ProvideAndRegisterRequest):
        return
    ids = {e.id for e in check.body.metadata.document_entries}
    for key in [*check.body.documents, *check.body.unresolved]:
        if key not in ids:
            yield _found(_child(check.body.element, f"{{{XDSB}}}Document", id=key), f"//xdsb:Document[@id='{key}']",
                         f"xdsb:Document id {key!r} matches no DocumentEntry id")


@_register("BENCH-XDS-DOC-CONTENT", "each xdsb:Document's content is present",
           hint="the xop:Include must reference a MIME part of the message")
def document_content(check: XdsCheck) -> Iterator[Violation]:
    if isinstance(check.body, ProvideAndRegisterRequest):
        for key in check.body.unresolved:
            yield _found(_child(check.body.element, f"{{{XDSB}}}Document", id=key), f"//xdsb:Document[@id='{key}']",
                         f"the content of xdsb:Document {key!r} is not in the message")


@_register("BENCH-XDS-RPLC", "an RPLC replaces a registry entry (entryUUID) by a DocumentEntry of the submission",
           hint="RPLC: sourceObject = the new entry's id, targetObject = the replaced entry's urn:uuid entryUUID "
                "(found with TD3.1/TD3.1b), never its uniqueId")
def rplc(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if metadata is None or not check.is_submission:
        return
    entries = {e.id for e in metadata.document_entries}
    for association in metadata.associations_of_type(AssociationType.RPLC):
        if association.source not in entries:
            yield _at(association, f"RPLC sourceObject {association.source!r} is not a DocumentEntry of the submission")
        if not is_urn_uuid(association.target):
            yield _at(association, f"RPLC targetObject {association.target!r} is not an entryUUID (urn:uuid:…)")
        elif association.target in entries:
            yield _at(association, "RPLC targets an entry of the same submission")


@_register("BENCH-XDS-STATUS-UPDATE", "UpdateAvailabilityStatus has OriginalStatus/NewStatus in JDV_J52 and an "
           "allowed transition",
           hint="Approved↔Archived, Approved→Deleted, Archived→Deleted; target = the entry's urn:uuid")
def status_update(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if metadata is None:
        return
    for association in metadata.associations_of_type(AssociationType.UPDATE_AVAILABILITY_STATUS):
        original, new = association.original_status, association.new_status
        for name, value in (("OriginalStatus", original), ("NewStatus", new)):
            if value is None:
                yield _at(association, f"slot {name} is missing", _slot_step(name))
            elif value not in DMP_STATUSES:
                yield _at(association, f"{name} {value!r} is not a JDV_J52 status", _slot_step(name))
        if original in DMP_STATUSES and new in DMP_STATUSES and (original, new) not in STATUS_TRANSITIONS:
            yield _at(association, f"transition {original.rsplit(':', 1)[1]} → {new.rsplit(':', 1)[1]} is not allowed")
        if not is_urn_uuid(association.target):
            yield _at(association, f"targetObject {association.target!r} is not an entryUUID (urn:uuid:…)")


@_register("BENCH-XDS-STATUS-VALUES", "object statuses are JDV_J52 availability statuses",
           hint="Approved, Deprecated, urn:asip:ci-sis:2010:StatusType:Archived or …:Deleted")
def status_values(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    for obj in metadata.objects() if metadata else []:
        if obj.status is not None and obj.status not in DMP_STATUSES | {Status.SUBMITTED}:
            yield _at(obj, f"status {obj.status!r} is not a JDV_J52 availability status")


@_register("BENCH-XDS-VERSION-UPDATE", "a metadata update (TD3.3a/b) names the previous version",
           hint="a new DocumentEntry version keeps the lid and its HasMember carries PreviousVersion=<n>")
def version_update(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if not isinstance(check.body, SubmitObjectsRequest) or metadata is None:
        return
    for association in metadata.associations_of_type(AssociationType.HAS_MEMBER):
        if association.target in {e.id for e in metadata.document_entries}:
            entry = metadata.by_id(association.target)
            previous = association.value("PreviousVersion")
            if previous is None or not previous.isdigit():
                yield _at(association, f"PreviousVersion is {previous!r}, expected the number of the replaced version")
            if entry is not None and not entry.lid:
                yield _at(entry, "a metadata update keeps the logical id: lid is missing")


# --- ITI-18 ---------------------------------------------------------------------------------------------------

@_register("BENCH-XDS-QUERY-ID", "the stored query id is an ITI-18 stored query",
           hint=f"use e.g. FindDocuments urn:uuid:14d4debf-… ({ErrorCode.UNKNOWN_STORED_QUERY})")
def query_id(check: XdsCheck) -> Iterator[Violation]:
    if isinstance(check.body, AdhocQueryRequest) and check.body.query_id not in QUERY_NAMES:
        yield _found(_child(check.body.element, f"{{{RIM}}}AdhocQuery"), "//rim:AdhocQuery",
                     f"AdhocQuery id {check.body.query_id!r} is not a stored query")


@_register("BENCH-XDS-QUERY-PARAMS", "the stored query has its required parameters",
           hint=f"FindDocuments needs $XDSDocumentEntryPatientId and $XDSDocumentEntryStatus "
                f"({ErrorCode.STORED_QUERY_MISSING_PARAM})")
def query_params(check: XdsCheck) -> Iterator[Violation]:
    if isinstance(check.body, AdhocQueryRequest):
        for name in missing_parameters(check.body):
            yield _found(_child(check.body.element, f"{{{RIM}}}AdhocQuery"), "//rim:AdhocQuery",
                         f"required parameter {name} is missing")


@_register("BENCH-XDS-QUERY-SYNTAX", "parameter values are quoted ('…' or ('…','…')) with one value where one is "
           "expected", hint=f"quote strings, list multiple values in parentheses ({ErrorCode.STORED_QUERY_PARAM_NUMBER})")
def query_syntax(check: XdsCheck) -> Iterator[Violation]:
    if not isinstance(check.body, AdhocQueryRequest):
        return
    for name, raw in check.body.parameters.items():
        slot = _child(check.body.element, f"{{{RIM}}}Slot", name=name)
        location = f"//rim:AdhocQuery/rim:Slot[@name='{name}']"
        try:
            values = decode_values(raw)
        except ValueError as exc:
            yield _found(slot, location, f"parameter {name}: {exc}")
            continue
        if name in SINGLE_VALUED and len(values) != 1:
            yield _found(slot, location, f"parameter {name} takes one value, found {len(values)}")
        if name.endswith("PatientId") and values and (problem := cx_problem(values[0])):
            yield _found(slot, location, f"parameter {name} {values[0]!r}: {problem}")


@_register("BENCH-XDS-QUERY-RETURNTYPE", "ResponseOption returnType is LeafClass or ObjectRef",
           hint="set <query:ResponseOption returnType=\"LeafClass\" returnComposedObjects=\"true\"/>")
def query_return_type(check: XdsCheck) -> Iterator[Violation]:
    if isinstance(check.body, AdhocQueryRequest) and check.body.return_type not in ("LeafClass", "ObjectRef"):
        yield _found(_child(check.body.element, f"{{{QUERY}}}ResponseOption"), "//query:ResponseOption",
                     f"returnType {check.body.return_type!r}, expected LeafClass or ObjectRef")


_STATUS_PARAMS = ("$XDSDocumentEntryStatus", "$XDSSubmissionSetStatus", "$XDSFolderStatus")
_CODE_PARAMS = ("ClassCode", "TypeCode", "PracticeSettingCode", "HealthcareFacilityTypeCode", "EventCodeList",
                "ConfidentialityCode", "FormatCode", "ContentType", "CodeList")


Where = tuple[etree._Element | None, str]  # (element of the parsed message, fallback XPath)


def _decoded(check: XdsCheck) -> Iterator[tuple[str, list[str], Where]]:
    """(name, decoded values, where) of each well-formed parameter of an AdhocQueryRequest."""
    if not isinstance(check.body, AdhocQueryRequest):
        return
    for name, raw in check.body.parameters.items():
        try:
            values = decode_values(raw)
        except ValueError:
            continue  # BENCH-XDS-QUERY-SYNTAX reports it
        yield name, values, (_child(check.body.element, f"{{{RIM}}}Slot", name=name),
                             f"//rim:AdhocQuery/rim:Slot[@name='{name}']")


@_register("BENCH-XDS-QUERY-STATUS", "status parameters hold JDV_J52 availability statuses",
           hint="ask for urn:oasis:names:tc:ebxml-regrep:StatusType:Approved (and Deprecated, or the ASIP "
                "Archived/Deleted statuses) as full URNs")
def query_status(check: XdsCheck) -> Iterator[Violation]:
    for name, values, (slot, fallback) in _decoded(check):
        if name in _STATUS_PARAMS:
            for value in values:
                if value not in DMP_STATUSES:
                    yield _found(slot, fallback, f"parameter {name}: {value!r} is not a JDV_J52 status URN")


@_register("BENCH-XDS-QUERY-CODES", "coded parameters are code^^codingScheme",
           hint="write coded values as ('11488-4^^2.16.840.1.113883.6.1')")
def query_codes(check: XdsCheck) -> Iterator[Violation]:
    for name, values, (slot, fallback) in _decoded(check):
        if name.endswith(_CODE_PARAMS):
            for value in values:
                code = parse_code_value(value)
                if not code.code or not code.scheme:
                    yield _found(slot, fallback, f"parameter {name}: {value!r} is not code^^codingScheme")


@_register("BENCH-XDS-QUERY-TIME", "time parameters are DTM values in UTC",
           hint="write times as yyyyMMddHHmmss in UTC, unquoted or quoted")
def query_time(check: XdsCheck) -> Iterator[Violation]:
    for name, values, (slot, fallback) in _decoded(check):
        if name.endswith(("TimeFrom", "TimeTo")):
            for value in values:
                if problem := dtm_problem(value):
                    yield _found(slot, fallback, f"parameter {name}: {problem}")


# --- ITI-43 ---------------------------------------------------------------------------------------------------

def _nth(element: etree._Element | None, tag: str, index: int, child: str) -> etree._Element | None:
    """The ``child`` of the ``index``-th (1-based) ``tag`` under ``element``, or the nearest existing element."""
    if element is None:
        return None
    items = element.findall(tag)
    if index > len(items):
        return element
    found = items[index - 1].find(child)
    return found if found is not None else items[index - 1]


@_register("BENCH-XDS-RETRIEVE-UNIQUEID", "ITI-43 asks for document uniqueIds, not entryUUIDs",
           hint=f"send the DocumentEntry uniqueId (an OID), not its urn:uuid entryUUID "
                f"({ErrorCode.DOCUMENT_UNIQUE_ID_ERROR})")
def retrieve_unique_id(check: XdsCheck) -> Iterator[Violation]:
    if not isinstance(check.body, RetrieveDocumentSetRequest):
        return
    if not check.body.documents:
        yield _found(check.body.element, "//xdsb:RetrieveDocumentSetRequest",
                     "RetrieveDocumentSetRequest has no DocumentRequest")
    for index, request in enumerate(check.body.documents, start=1):
        where = (_nth(check.body.element, f"{{{XDSB}}}DocumentRequest", index, f"{{{XDSB}}}DocumentUniqueId"),
                 f"//xdsb:DocumentRequest[{index}]/xdsb:DocumentUniqueId")
        if is_urn_uuid(request.document_unique_id):
            yield _found(*where, f"DocumentUniqueId {request.document_unique_id!r} is an entryUUID, not a uniqueId")
        elif oid_problem(request.document_unique_id.partition("^")[0]):
            yield _found(*where, f"DocumentUniqueId {request.document_unique_id!r} is not a uniqueId (OID)")


@_register("BENCH-XDS-RETRIEVE-REPOSITORY", "ITI-43 targets the DMP repository", Severity.WARNING,
           hint=f"RepositoryUniqueId is {Oid.DMP_REPOSITORY} for the DMP ({ErrorCode.UNKNOWN_REPOSITORY_ID})")
def retrieve_repository(check: XdsCheck) -> Iterator[Violation]:
    if isinstance(check.body, RetrieveDocumentSetRequest):
        for index, request in enumerate(check.body.documents, start=1):
            if request.repository_unique_id != Oid.DMP_REPOSITORY:
                yield _found(_nth(check.body.element, f"{{{XDSB}}}DocumentRequest", index,
                                  f"{{{XDSB}}}RepositoryUniqueId"),
                             f"//xdsb:DocumentRequest[{index}]/xdsb:RepositoryUniqueId",
                             f"RepositoryUniqueId {request.repository_unique_id!r}, the DMP's is {Oid.DMP_REPOSITORY}")


@_register("BENCH-XDS-RETRIEVE-RESPONSE", "each ITI-43 DocumentResponse names its document and carries its content",
           hint="give RepositoryUniqueId, DocumentUniqueId, mimeType and the document (xop:Include to a MIME part)")
def retrieve_response(check: XdsCheck) -> Iterator[Violation]:
    if not isinstance(check.body, RetrieveDocumentSetResponse):
        return
    for index, document in enumerate(check.body.documents, start=1):
        missing = [name for name, value in (("RepositoryUniqueId", document.repository_unique_id),
                                            ("DocumentUniqueId", document.document_unique_id),
                                            ("mimeType", document.mime_type)) if not value]
        if missing:
            yield _found(_nth(check.body.element, f"{{{XDSB}}}DocumentResponse", index, f"{{{XDSB}}}mimeType"),
                         f"//xdsb:DocumentResponse[{index}]", f"DocumentResponse {index} lacks {', '.join(missing)}")
        if document.content is None:
            yield _found(_nth(check.body.element, f"{{{XDSB}}}DocumentResponse", index, f"{{{XDSB}}}Document"),
                         f"//xdsb:DocumentResponse[{index}]/xdsb:Document",
                         f"DocumentResponse {index} ({document.document_unique_id}) has no document content in the "
                         "message")


# --- responses ------------------------------------------------------------------------------------------------

def _response_parts(check: XdsCheck) -> tuple[str, list[RegistryError], etree._Element | None] | None:
    body = check.body
    if isinstance(body, RegistryResponse | AdhocQueryResponse):
        return body.status, body.errors, body.element
    if isinstance(body, RetrieveDocumentSetResponse):
        return body.response.status, body.response.errors, body.response.element
    return None


_STATUSES = (ResponseStatus.SUCCESS, ResponseStatus.FAILURE, ResponseStatus.PARTIAL_SUCCESS,
             "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:PartialSuccess")


@_register("BENCH-XDS-RESPONSE-STATUS", "the response status is Success, PartialSuccess or Failure, with errors "
           "when not Success", hint="a Failure carries at least one RegistryError; a Success carries no Error")
def response_status(check: XdsCheck) -> Iterator[Violation]:
    parts = _response_parts(check)
    if parts is None:
        return
    status, errors, element = parts
    where = (element, "//*[@status]")
    if status not in _STATUSES:
        yield _found(*where, f"status {status!r} is not a ResponseStatusType")
    elif status == ResponseStatus.FAILURE and not errors:
        yield _found(*where, "status Failure without a RegistryError")
    elif status == ResponseStatus.SUCCESS and any(e.severity == ErrorSeverity.ERROR for e in errors):
        yield _found(*where, "status Success but the RegistryErrorList holds an Error")


@_register("BENCH-XDS-RESPONSE-ERROR", "each RegistryError has a known errorCode, a codeContext and a severity",
           hint="use the XDS error codes (XDSRegistryMetadataError…) and ErrorSeverityType:Error|Warning")
def response_error(check: XdsCheck) -> Iterator[Violation]:
    parts = _response_parts(check)
    if parts is None:
        return
    _, errors, element = parts
    for index, error in enumerate(errors, start=1):
        where = (_nth(element, f"{{{RS}}}RegistryErrorList", 1, f"{{{RS}}}RegistryError[{index}]"),
                 f"//rs:RegistryErrorList/rs:RegistryError[{index}]")
        if error.severity not in (ErrorSeverity.ERROR, ErrorSeverity.WARNING):
            yield _found(*where, f"severity {error.severity!r} is not an ErrorSeverityType")
        if not error.code_context:
            yield _found(*where, f"RegistryError {error.error_code!r} has no codeContext")
        if error.error_code not in KNOWN_ERROR_CODES:
            yield _found(*where, f"errorCode {error.error_code!r} is not a standard XDS error code", Severity.WARNING)


import conformance.xds.coherence  # noqa: E402, F401  (CDA ↔ metadata rules, registered after these)
