"""Hand-written PDSm / DMP rules (kind "fhir"): what the StructureDefinitions cannot express.

The expressionless PDSm constraints (``constr-bind-*``) keep their keys; our own rules are ``BENCH-PDSM-…``.
Each rule reads a :class:`~conformance.fhir.validator.FhirModel` and yields located violations.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.artefacts import DEFAULT_CISIS_URL
from conformance.fhir.profile import conditional_identifiers
from conformance.findings import Severity, Violation, rules
from conformance.identity import is_valid_nir, loinc_corrected

if TYPE_CHECKING:  # the validator imports this module: a run-time import would be circular
    from conformance.fhir.terminology import LocalValueSet
    from conformance.fhir.validator import FhirModel

_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
INS_SYSTEMS = {f"urn:oid:1.2.250.1.213.1.4.{n}": kind for n, kind in
               ((8, "INS-NIR"), (9, "INS-NIA"), (10, "INS-NIR-TEST"), (11, "INS-NIR-DEMO"))}
V3_CONFIDENTIALITY = {"N", "R", "V"}
DMP_VISIBILITY = {"MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"}
# a literal reference to the recipient's Patient (relative or absolute): the DMP resolves it, the bench cannot
_PATIENT_LITERAL = re.compile(r"^([a-z][a-z0-9+.-]*://[^?#\s]+/)?Patient/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$")
ITI105_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-simplified-publish"
# The DMP value sets each coded element must come from (PDSM4DMP; JDV_J6x are the DMP restrictions). The type
# code follows JDV_J07 as the SOAP side does (BENCH-XDS-DE-TYPECODE): the CI-SIS package gives its complete list.
JDV_DMP = {
    ("type",): "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS",
    ("category",): "https://mos.esante.gouv.fr/NOS/JDV_J57-ClassCode-DMP/FHIR/JDV-J57-ClassCode-DMP",
    ("content", "format"): "https://mos.esante.gouv.fr/NOS/JDV_J60-FormatCode-DMP/FHIR/JDV-J60-FormatCode-DMP",
    ("context", "facilityType"):
        "https://mos.esante.gouv.fr/NOS/JDV_J02-XdsHealthcareFacilityTypeCode-CISIS/FHIR/JDV-J02-XdsHealthcareFacilityTypeCode-CISIS",
    ("context", "practiceSetting"):
        "https://mos.esante.gouv.fr/NOS/JDV_J04-XdsPracticeSettingCode-CISIS/FHIR/JDV-J04-XdsPracticeSettingCode-CISIS",
}


# ---------------------------------------------------------------- navigation helpers


def _document_references(model: FhirModel) -> Iterator[tuple[dict[str, Any], str]]:
    for resource, path in model.resources():
        if resource.get("resourceType") == "DocumentReference":
            yield resource, path


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _get(value: Any, key: str) -> Any:
    """``value[key]`` when ``value`` is an object, else None: rules read damaged input too."""
    return value.get(key) if isinstance(value, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _concepts(resource: dict[str, Any], path: tuple[str, ...], base: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(CodeableConcept or Coding, FHIRPath) of every value at ``path`` (lists indexed as in the instance)."""
    frontier: list[tuple[Any, str]] = [(resource, base)]
    for part in path:
        following = []
        for item, where in frontier:
            if not isinstance(item, dict) or part not in item:
                continue
            value = item[part]
            if isinstance(value, list):
                following.extend((v, f"{where}.{part}[{i}]") for i, v in enumerate(value))
            else:
                following.append((value, f"{where}.{part}"))
        frontier = following
    yield from ((concept, where) for concept, where in frontier if isinstance(concept, dict))


def _codings(concept: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(coding, path suffix) of a CodeableConcept (``.coding[i]``) or of a Coding itself (no suffix)."""
    codings = concept.get("coding") if "coding" in concept else [concept]
    for index, coding in enumerate(_as_list(codings)):
        if isinstance(coding, dict):
            yield coding, f".coding[{index}]" if "coding" in concept else ""


def _coded(resource: dict[str, Any], path: tuple[str, ...], base: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(coding, FHIRPath) of every coding at ``path``."""
    for concept, where in _concepts(resource, path, base):
        for coding, suffix in _codings(concept):
            yield coding, where + suffix


def _attachments(resource: dict[str, Any], path: str) -> Iterator[tuple[dict[str, Any], str]]:
    for index, content in enumerate(_as_list(resource.get("content"))):
        if isinstance(content, dict) and isinstance(content.get("attachment"), dict):
            yield content["attachment"], f"{path}.content[{index}].attachment"


def _decode(data: Any) -> bytes | None:
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary_for(model: FhirModel, url: str) -> dict[str, Any] | None:
    target = model.run.by_url.get(url)  # fullUrl, or Binary/<id> of a bundled Binary
    return target if isinstance(target, dict) and target.get("resourceType") == "Binary" else None


def _is_transaction(model: FhirModel) -> bool:
    return model.resource.get("resourceType") == "Bundle" and model.resource.get("type") == "transaction"


# ---------------------------------------------------------------- identifiers


@rules.register("BENCH-PDSM-MASTERID", kind="fhir", title="masterIdentifier (XDS uniqueId) is a urn:oid: or urn:uuid: URI",
                hint="write the document uniqueId as urn:oid:<OID> (or urn:uuid:<UUID>) with system urn:ietf:rfc:3986")
def master_identifier(model: FhirModel) -> Iterator[Violation]:
    for resource, path in _document_references(model):
        identifier = resource.get("masterIdentifier")
        if not isinstance(identifier, dict):
            continue
        value = identifier.get("value")
        if not isinstance(value, str) or not (_OID.match(value) or _UUID.match(value)):
            yield Violation(f"masterIdentifier.value is {value!r}; expected urn:oid:<OID> or urn:uuid:<UUID>",
                            location=f"{path}.masterIdentifier.value")


@rules.register("BENCH-PDSM-ENTRYUUID", kind="fhir", title="entryUUID identifiers are well-formed urn:uuid: values",
                hint="generate a UUID (RFC 4122) and write it as urn:uuid:<8-4-4-4-12 hex>")
def entry_uuid(model: FhirModel) -> Iterator[Violation]:
    for resource, path in model.resources():
        if resource.get("resourceType") not in ("DocumentReference", "List"):
            continue
        for index, identifier in enumerate(_as_list(resource.get("identifier"))):
            if isinstance(identifier, dict) and identifier.get("use") == "official":
                value = identifier.get("value")
                if not isinstance(value, str) or not _UUID.match(value):
                    yield Violation(f"entryUUID identifier value {value!r} is not a urn:uuid: UUID",
                                    location=f"{path}.identifier[{index}].value")


@rules.register("BENCH-PDSM-SUBMISSIONSET-UNIQUEID", kind="fhir",
                title="the submission set of an ITI-65 bundle carries a urn:oid: uniqueId",
                hint="add identifier {use: usual, system: urn:ietf:rfc:3986, value: urn:oid:<OID>} to the List")
def submission_set_unique_id(model: FhirModel) -> Iterator[Violation]:
    if not _is_transaction(model):
        return
    for resource, path in model.resources():
        if resource.get("resourceType") != "List" or not _is_submission_set(resource):
            continue
        usual = [i for i in _as_list(resource.get("identifier")) if isinstance(i, dict) and i.get("use") == "usual"]
        if not any(isinstance(i.get("value"), str) and _OID.match(i["value"]) for i in usual):
            yield Violation("the SubmissionSet has no uniqueId identifier (use usual, urn:oid: value)",
                            location=f"{path}.identifier")


def _is_submission_set(resource: dict[str, Any]) -> bool:
    return any(_get(c, "code") == "submissionset" for c in _as_list(_get(resource.get("code"), "coding")))


# ---------------------------------------------------------------- attachments


@rules.register("constr-bind-attachmenturl", kind="fhir",
                title="in ITI-65, attachment.url points to a Binary entry of the same bundle",
                hint="set attachment.url to the fullUrl (urn:uuid:…) of the Binary entry carrying the document")
def attachment_url(model: FhirModel) -> Iterator[Violation]:
    if not _is_transaction(model):
        return
    for resource, path in _document_references(model):
        for attachment, where in _attachments(resource, path):
            url = attachment.get("url")
            if isinstance(url, str) and _binary_for(model, url) is None:
                yield Violation(f"attachment.url {url!r} does not point to a Binary entry of the bundle",
                                location=f"{where}.url")


def _attachment_bytes(model: FhirModel, attachment: dict[str, Any]) -> bytes | None:
    if "data" in attachment:
        return _decode(attachment.get("data"))
    url = attachment.get("url")
    binary = _binary_for(model, url) if isinstance(url, str) else None
    return _decode(binary.get("data")) if binary else None


@rules.register("BENCH-PDSM-SIZE", kind="fhir", title="attachment.size equals the size of the document bytes",
                hint="set size to the number of bytes of the decoded document")
def attachment_size(model: FhirModel) -> Iterator[Violation]:
    for resource, path in _document_references(model):
        for attachment, where in _attachments(resource, path):
            data = _attachment_bytes(model, attachment)
            size = attachment.get("size")
            if data is not None and isinstance(size, int) and size != len(data):
                yield Violation(f"stated attachment size {size} does not match the actual size {len(data)}",
                                location=where)


@rules.register("BENCH-PDSM-HASH", kind="fhir", title="attachment.hash is the base64 SHA-1 of the document bytes",
                hint="hash = base64(SHA-1(decoded document bytes))")
def attachment_hash(model: FhirModel) -> Iterator[Violation]:
    for resource, path in _document_references(model):
        for attachment, where in _attachments(resource, path):
            data = _attachment_bytes(model, attachment)
            stated = attachment.get("hash")
            if data is None or not isinstance(stated, str):
                continue
            actual = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
            if stated != actual:
                yield Violation(f"the hash does not match the data (stated {stated!r}, actual {actual!r})",
                                location=where)


def _media_type(value: str) -> str:
    """A MIME type as MIME compares it: case-insensitive, no spaces around the parameters."""
    return ";".join(part.strip() for part in value.lower().split(";"))


@rules.register("BENCH-PDSM-CONTENTTYPE", kind="fhir",
                title="attachment.contentType equals the contentType of the Binary its url points to",
                hint="the XDS mimeType is one value: give the attachment and the Binary the same contentType, the "
                     "MIME type of the document bytes")
def attachment_content_type(model: FhirModel) -> Iterator[Violation]:
    for resource, path in _document_references(model):
        for attachment, where in _attachments(resource, path):
            url = attachment.get("url")
            binary = _binary_for(model, url) if isinstance(url, str) else None
            stated, actual = _str(attachment.get("contentType")), _str(_get(binary, "contentType"))
            if stated and actual and _media_type(stated) != _media_type(actual):
                yield Violation(f"attachment.contentType is {stated!r} but the Binary {url} it points to is "
                                f"{actual!r}: the document has one MIME type (XDS mimeType)", location=where)


@rules.register("BENCH-PDSM-ITI105", kind="fhir", title="ITI-105: the document is inline (data 1..1, url 0..0)",
                hint="ITI-105 carries the document in attachment.data (base64) and no url")
def iti105_inline(model: FhirModel) -> Iterator[Violation]:
    if model.resource.get("resourceType") != "DocumentReference" or ITI105_PROFILE not in model.profiles:
        return
    for attachment, where in _attachments(model.resource, "DocumentReference"):
        if "data" not in attachment:
            yield Violation("attachment.data is missing: ITI-105 publishes the document inline", location=where)
        elif _decode(attachment["data"]) is None:
            yield Violation("attachment.data is not valid base64", location=f"{where}.data")
        if "url" in attachment:
            yield Violation("attachment.url must be absent in ITI-105", location=f"{where}.url")


# ---------------------------------------------------------------- codes


def _system_rule(key: str, elements: list[str], preferred_in_iti105: bool = False) -> None:
    """Register the expressionless constraint ``key``: codings of ``elements`` come from allowed code systems.

    A failed constraint is reported at the element that carries it (the CodeableConcept or Coding), as HL7
    validators do; the message names the offending coding. ``preferred_in_iti105``: the ITI-105 profile only
    recommends these systems (its own constraint, e.g. constr-bind-ProducteurDoc-simplified), so a warning."""

    def check(model: FhirModel) -> Iterator[Violation]:
        table = model.terminology.element_systems
        recommended = preferred_in_iti105 and ITI105_PROFILE in model.profiles
        for resource, path in _document_references(model):
            for element in elements:
                names = table[element]["systems"]
                allowed = model.terminology.systems_of(names)
                for concept, where in _concepts(resource, tuple(element.split(".")[1:]), path):
                    for coding, suffix in _codings(concept):
                        system = coding.get("system")
                        if _str(system) not in allowed:
                            yield Violation(
                                f"{element}: {where}{suffix} is {system}#{coding.get('code')}; its code system is "
                                f"not allowed, expected one of {', '.join(names)}", location=where,
                                hint=f"replace {where}{suffix} (system {system!r}, code {coding.get('code')!r}) by a "
                                     f"code of {' or '.join(names)}",
                                severity=Severity.WARNING if recommended and path == "DocumentReference" else None)

    rules.register(key, kind="fhir", title=f"{key}: coded values of {', '.join(elements)} come from the "
                   "terminologies PDSm lists", hint="use a code of the CI-SIS terminology named by the constraint")(check)


_system_rule("constr-bind-type", ["DocumentReference.type"])
_system_rule("constr-bind-category", ["DocumentReference.category"])
_system_rule("constr-bind-format", ["DocumentReference.content.format"])
_system_rule("constr-bind-ProducteurDoc", ["DocumentReference.context.facilityType",
                                           "DocumentReference.context.practiceSetting"], preferred_in_iti105=True)


def _partial_hint(name: str, value_set: LocalValueSet) -> str:
    """What to do about a code outside a partial list: import the CI-SIS package when it has the whole list."""
    if value_set.svs is None:
        return f"check the code against {name} as published by the ANS: the CI-SIS package does not carry it"
    return (f"check the code against {name}; for the complete list ({value_set.svs}, a code outside it is then an "
            f"error) import the CI-SIS package: `dmp-conformance profiles import PATH|URL` (default URL "
            f"{DEFAULT_CISIS_URL})")


@rules.register("BENCH-PDSM-JDV", kind="fhir", severity=Severity.WARNING,
                title="type, class, format, facility and practice setting codes belong to the DMP value sets",
                hint="pick the code from the DMP JDV (J07 type, J57 class, J60 format, J02/J61 facility, J04 setting)")
def dmp_value_sets(model: FhirModel) -> Iterator[Violation]:
    """A code outside a complete list (the CI-SIS package's JDV, or a list the bench holds whole) is an error, as
    the DMP refuses it (and as BENCH-XDS-DE-TYPECODE says over SOAP); outside a partial copy, a warning."""
    for resource, path in _document_references(model):
        for element, url in JDV_DMP.items():
            value_set = model.terminology.value_set(url)
            if value_set is None:
                continue
            for coding, where in _coded(resource, element, path):
                if value_set.has_coding(coding.get("system"), coding.get("code")):
                    continue
                name, where = url.rsplit("/", 1)[-1], f"{where}.code"
                found = f"{'.'.join(element)} {coding.get('system')}#{coding.get('code')}"
                if value_set.complete:
                    yield Violation(f"{found} is not in {name}; expected a code of {name}", location=where,
                                    severity=Severity.ERROR)
                else:
                    yield Violation(f"{found} is not in the bench's copy of {name}, a partial list: unknown to the "
                                    "bench, not known to be wrong", location=where, hint=_partial_hint(name, value_set))


@rules.register("BENCH-PDSM-LOINC-CHECK", kind="fhir", title="LOINC codes carry a correct mod-10 check digit",
                hint="a LOINC code ends with a check digit: the code was probably mistyped; copy it from LOINC")
def loinc_check(model: FhirModel) -> Iterator[Violation]:
    loinc = model.terminology.systems_of(["LOINC"])
    for coding, where in model.typed("Coding"):
        code = _get(coding, "code") if _str(_get(coding, "system")) in loinc else None
        if isinstance(code, str) and (corrected := loinc_corrected(code)) and corrected != code:
            yield Violation(f"LOINC code {code} has check digit {code[-1]}, expected {corrected[-1]} ({corrected})",
                            location=f"{where}.code")


@rules.register("BENCH-PDSM-SECLABEL", kind="fhir",
                title="securityLabel: one HL7 confidentiality code (N/R/V) plus optional DMP visibility codes (TRE_A07)",
                hint="use v3-Confidentiality N, R or V, and TRE_A07 MASQUE_PS / INVISIBLE_PATIENT / "
                     "INVISIBLE_REPRESENTANTS_LEGAUX for DMP visibility")
def security_label(model: FhirModel) -> Iterator[Violation]:
    terminology = model.terminology
    v3, tre_a07 = terminology.system_url("V3_CONFIDENTIALITY"), terminology.system_url("TRE_A07")
    for resource, path in _document_references(model):
        if "securityLabel" not in resource:
            continue
        confidentiality = 0
        for coding, where in _coded(resource, ("securityLabel",), path):
            system, code = _str(coding.get("system")), _str(coding.get("code"))
            if system == v3 and code in V3_CONFIDENTIALITY:
                confidentiality += 1
            elif not (system == tre_a07 and code in DMP_VISIBILITY):
                yield Violation(f"security label {system}#{code} is neither an HL7 confidentiality code (N/R/V) nor a "
                                "DMP visibility code of TRE_A07", location=where)
        if confidentiality != 1:
            yield Violation(f"exactly one HL7 confidentiality code (N/R/V) is required, found {confidentiality}",
                            location=f"{path}.securityLabel")


# ---------------------------------------------------------------- replacement, patient


@rules.register("constr-bind-relatesTo", kind="fhir",
                title="replacement: one relatesTo 'replaces' targeting a DocumentReference",
                hint="a replacing DocumentReference carries exactly one relatesTo {code: replaces, target: "
                     "Reference(DocumentReference)}")
def relates_to(model: FhirModel) -> Iterator[Violation]:
    patches = _is_transaction(model) and any(
        _get(_get(e, "request"), "method") == "PATCH" for e in _as_list(model.resource.get("entry")))
    for resource, path in _document_references(model):
        replaces = [(i, r) for i, r in enumerate(_as_list(resource.get("relatesTo")))
                    if isinstance(r, dict) and r.get("code") == "replaces"]
        if len(replaces) > 1:
            yield Violation(f"{len(replaces)} relatesTo 'replaces'; a document replaces one document",
                            location=f"{path}.relatesTo")
        for index, relation in replaces:
            reference = _get(relation.get("target"), "reference")
            if isinstance(reference, str) and not (reference.startswith("DocumentReference/") or
                                                   reference.startswith("urn:") or "/DocumentReference/" in reference):
                yield Violation(f"relatesTo.target {reference!r} is not a DocumentReference",
                                location=f"{path}.relatesTo[{index}].target")
        if patches and resource.get("status") != "superseded" and not replaces:
            yield Violation("the bundle supersedes a document (PATCH entry) but this DocumentReference has no "
                            "relatesTo 'replaces'", location=f"{path}.relatesTo")


def _patients(model: FhirModel) -> Iterator[tuple[dict[str, Any], str]]:
    for resource, path in model.resources():
        if resource.get("resourceType") == "Patient":
            yield resource, path
        for index, inner in enumerate(_as_list(resource.get("contained"))):
            if isinstance(inner, dict) and inner.get("resourceType") == "Patient":
                yield inner, f"{path}.contained[{index}]"


def _is_nss(identifier: Any) -> bool:
    """NSS shares the INS-NIR system OID but is typed NH (FR Core slices on type and use): not an INS."""
    return "NH" in {_str(_get(c, "code")) for c in _as_list(_get(_get(identifier, "type"), "coding"))}


def _is_ins(identifier: Any) -> bool:
    """An INS identifier (INS-NIR, INS-NIA or a test INS) with a value."""
    return (_str(_get(identifier, "system")) in INS_SYSTEMS and bool(_str(_get(identifier, "value")))
            and not _is_nss(identifier))


@rules.register("BENCH-PDSM-INS", kind="fhir", title="INS identifiers on a Patient are NIR/NIA with a valid key",
                hint="the INS is the 13-character NIR/NIA plus its 2-digit key (97 − NIR mod 97; 2A→19, 2B→18)")
def ins_identifier(model: FhirModel) -> Iterator[Violation]:
    for patient, path in _patients(model):
        for index, identifier in enumerate(_as_list(patient.get("identifier"))):
            system = _str(_get(identifier, "system"))
            if system not in INS_SYSTEMS or _is_nss(identifier):
                continue
            value = identifier.get("value")
            if not isinstance(value, str) or not is_valid_nir(value):
                yield Violation(f"{INS_SYSTEMS[system]} {value!r} is not a 15-character NIR with a "
                                "valid key", location=f"{path}.identifier[{index}].value")


def _subject_has_ins(subject: Any, container: dict[str, Any], bundle_patients: dict[str, dict[str, Any]]) -> bool:
    """Whether ``subject`` gives the patient's INS: its identifier, a Patient of the payload it points to (contained or
    a bundle entry), a conditional reference by INS, or a literal reference to a Patient of the recipient (which
    the recipient resolves: not judged offline)."""
    if _is_ins(_get(subject, "identifier")):
        return True
    reference = _str(_get(subject, "reference"))
    if reference is None:
        return False
    if reference.startswith("#"):
        target = next((c for c in _as_list(container.get("contained")) if _get(c, "id") == reference[1:]), None)
    else:
        target = bundle_patients.get(reference)
    if isinstance(target, dict):
        return target.get("resourceType") == "Patient" and any(map(_is_ins, _as_list(target.get("identifier"))))
    return any(map(_is_ins, conditional_identifiers(reference))) or bool(_PATIENT_LITERAL.match(reference))


def _published_subjects(model: FhirModel) -> Iterator[tuple[dict[str, Any], str]]:
    """(resource, FHIRPath) of what a publication maps to XDS objects: the DocumentReferences and Lists of an ITI-65
    transaction, the DocumentReference of an ITI-105."""
    if _is_transaction(model):
        for index, _, resource in _entries(model):
            if resource.get("resourceType") in ("DocumentReference", "List"):
                yield resource, f"Bundle.entry[{index}].resource"
    elif model.resource.get("resourceType") == "DocumentReference" and ITI105_PROFILE in model.profiles:
        yield model.resource, "DocumentReference"


@rules.register("BENCH-PDSM-PATIENTID", kind="fhir",
                title="ITI-65/ITI-105: each subject gives the patient's INS, the XDS patientId (required)",
                hint="give subject.identifier {system: urn:oid:1.2.250.1.213.1.4.8 (INS-NIR), .9 (INS-NIA) or .10/.11 "
                     "(test INS), value: <INS>}, or reference the DMP patient: Patient?identifier=<INS system>|<INS>, "
                     "Patient/<id>, or a bundled or contained Patient carrying the INS")
def patient_id(model: FhirModel) -> Iterator[Violation]:
    """PDSm only types subject (1..1 Reference(fr-core-patient)); the XDS mapping needs the INS from it: patientId is
    required and is the DMP patient, whereas sourcePatientInfo is the producer's view of the patient (XDS
    sourcePatientInfo / sourcePatientId), which must not stand in for it."""
    bundle_patients = {key: resource for _, entry, resource in _entries(model) if resource.get("resourceType") == "Patient"
                       for key in (_str(_get(entry, "fullUrl")), f"Patient/{resource.get('id')}") if key}
    for resource, path in _published_subjects(model):
        subject = resource.get("subject")
        if subject is None or _subject_has_ins(subject, resource, bundle_patients):
            continue
        source = _str(_get(_get(resource.get("context"), "sourcePatientInfo"), "reference")) or ""
        aside = " (the INS of the contained sourcePatientInfo is the producer's view of the patient, XDS " \
                "sourcePatientInfo, not the patientId)" if source.startswith("#") and _subject_has_ins(
                    {"reference": source}, resource, bundle_patients) else ""
        yield Violation(f"subject {json.dumps(subject, ensure_ascii=False)} gives no INS: the XDS patientId (required) "
                        f"cannot be derived from it{aside}", location=f"{path}.subject")


# ---------------------------------------------------------------- ITI-65 bundle consistency


def _entries(model: FhirModel) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    """(index, entry, resource) of the bundle entries that carry a resource."""
    for index, entry in enumerate(_as_list(model.resource.get("entry"))):
        resource = _get(entry, "resource")
        if isinstance(resource, dict):
            yield index, entry, resource


@rules.register("BENCH-PDSM-REQUEST-URL", kind="fhir", title="ITI-65: each POST entry's request.url is its resource type",
                hint="write request {method: POST, url: <ResourceType>} (e.g. url DocumentReference)")
def request_url(model: FhirModel) -> Iterator[Violation]:
    if not _is_transaction(model):
        return
    for index, entry, resource in _entries(model):
        request = _get(entry, "request")
        if _get(request, "method") == "POST" and _get(request, "url") != resource.get("resourceType"):
            yield Violation(f"POST of a {resource.get('resourceType')} with request.url {_get(request, 'url')!r}",
                            location=f"Bundle.entry[{index}].request.url")


@rules.register("BENCH-PDSM-ITI65-CONTENT", kind="fhir",
                title="ITI-65: at least one DocumentReference, each listed in the SubmissionSet, every item in the bundle",
                hint="list every DocumentReference and Folder of the bundle in SubmissionSet.entry.item (by fullUrl)")
def submission_set_content(model: FhirModel) -> Iterator[Violation]:
    if not _is_transaction(model):
        return
    submission = next(((i, r) for i, _, r in _entries(model)
                       if r.get("resourceType") == "List" and _is_submission_set(r)), None)
    members = {_str(_get(entry, "fullUrl")): (index, resource) for index, entry, resource in _entries(model)
               if resource.get("resourceType") == "DocumentReference"
               or (resource.get("resourceType") == "List" and not _is_submission_set(resource))}
    if not any(r.get("resourceType") == "DocumentReference" for _, r in members.values()):
        yield Violation("the ITI-65 bundle carries no DocumentReference", location="Bundle.entry")
    if submission is None:
        return
    position, submission_set = submission
    items = [_str(_get(_get(e, "item"), "reference")) for e in _as_list(submission_set.get("entry"))]
    for item_index, item in enumerate(items):
        if item not in members and not (item or "").startswith(("DocumentReference/", "List/")):
            yield Violation(f"SubmissionSet item {item!r} is not a DocumentReference or Folder entry of the bundle",
                            location=f"Bundle.entry[{position}].resource.entry[{item_index}].item")
    for full_url, (index, resource) in members.items():
        if full_url not in items:
            yield Violation(f"the {resource.get('resourceType')} entry {full_url!r} is not listed in the SubmissionSet",
                            location=f"Bundle.entry[{index}]")


@rules.register("BENCH-PDSM-SAME-PATIENT", kind="fhir",
                title="ITI-65: the SubmissionSet and every DocumentReference and Folder concern the same patient",
                hint="use the same subject reference (the patient's INS) on every resource of the submission")
def same_patient(model: FhirModel) -> Iterator[Violation]:
    if not _is_transaction(model):
        return
    subjects = [(index, _str(_get(resource.get("subject"), "reference"))) for index, _, resource in _entries(model)
                if resource.get("resourceType") in ("List", "DocumentReference") and "subject" in resource]
    expected = subjects[0][1] if subjects else None
    for index, subject in subjects[1:]:
        if subject != expected:
            yield Violation(f"subject {subject!r} differs from the submission's patient {expected!r}",
                            location=f"Bundle.entry[{index}].resource.subject")


def _patch_operations(parameters: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, {part name: value}) of each FHIRPath Patch operation of a Parameters resource."""
    for index, parameter in enumerate(_as_list(parameters.get("parameter"))):
        if _get(parameter, "name") == "operation":
            parts = {}
            for part in _as_list(_get(parameter, "part")):
                values = [v for k, v in part.items() if k.startswith("value")] if isinstance(part, dict) else []
                parts[_str(_get(part, "name")) or "?"] = values[0] if values else None
            yield index, parts


@rules.register("BENCH-PDSM-UPDATE-DOCREFS", kind="fhir",
                title="ITI-65 replacement: a PATCH entry only sets the replaced DocumentReference to superseded",
                hint="PATCH DocumentReference/<replaced id> with one FHIRPath Patch operation: replace "
                     "DocumentReference.status by superseded; the new DocumentReference relatesTo it (replaces)")
def update_document_refs(model: FhirModel) -> Iterator[Violation]:
    if not _is_transaction(model):
        return
    replaced = {_str(_get(_get(r, "target"), "reference"))
                for _, _, resource in _entries(model) if resource.get("resourceType") == "DocumentReference"
                for r in _as_list(resource.get("relatesTo")) if _get(r, "code") == "replaces"}
    for index, entry, resource in _entries(model):
        request = _get(entry, "request")
        if _get(request, "method") != "PATCH":
            continue
        where = f"Bundle.entry[{index}]"
        operations = list(_patch_operations(resource)) if resource.get("resourceType") == "Parameters" else []
        if not operations:
            yield Violation("the PATCH entry carries no FHIRPath Patch operation (Parameters.parameter "
                            "named operation)", location=f"{where}.resource")
        for position, parts in operations:
            if (parts.get("type"), parts.get("path"), parts.get("value")) != ("replace", "DocumentReference.status",
                                                                               "superseded"):
                yield Violation(f"operation {parts.get('type')!r} on {parts.get('path')!r} with {parts.get('value')!r}; "
                                "only replace DocumentReference.status by superseded is allowed",
                                location=f"{where}.resource.parameter[{position}]")
        if _get(request, "url") not in replaced:
            yield Violation(f"PATCH of {_get(request, 'url')!r}, which no DocumentReference of the bundle replaces "
                            "(relatesTo replaces)", location=f"{where}.request.url")
