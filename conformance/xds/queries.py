"""ITI-18 stored queries: ids, parameter builders and decoders (docs/xds-metadata.md §2.3, §9).

Parameter values are written as in the official TD3.1 request: a single value in single quotes
(``'…^^^&1.2.250.1.213.1.4.10&ISO^NH'``), several values as a parenthesised list (``('a','b')``), coded
values as ``code^^codingScheme``, times as ``yyyyMMddHHmmss``. :func:`decode_values` reverses that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from conformance.xds.constants import Status
from conformance.xds.messages import AdhocQueryRequest
from conformance.xds.model import Code


class StoredQuery:
    FIND_DOCUMENTS: Final = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
    FIND_SUBMISSION_SETS: Final = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
    FIND_FOLDERS: Final = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431"
    GET_ALL: Final = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3"
    GET_DOCUMENTS: Final = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
    GET_FOLDERS: Final = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4"
    GET_ASSOCIATIONS: Final = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
    GET_DOCUMENTS_AND_ASSOCIATIONS: Final = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a"
    GET_SUBMISSION_SETS: Final = "urn:uuid:51224314-5390-4169-9b91-b1980040715a"
    GET_SUBMISSION_SET_AND_CONTENTS: Final = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
    GET_FOLDER_AND_CONTENTS: Final = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7"
    GET_FOLDERS_FOR_DOCUMENT: Final = "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578"
    GET_RELATED_DOCUMENTS: Final = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6"
    FIND_DOCUMENTS_BY_REFERENCE_ID: Final = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492"


QUERY_NAMES: Final = {v: k for k, v in vars(StoredQuery).items() if not k.startswith("_")}

# Required parameters per query; a tuple means "one of these" (IHE ITI TF-2a 3.18.4.1.2.3.7).
REQUIRED_PARAMETERS: Final[dict[str, tuple[str | tuple[str, ...], ...]]] = {
    StoredQuery.FIND_DOCUMENTS: ("$XDSDocumentEntryPatientId", "$XDSDocumentEntryStatus"),
    StoredQuery.FIND_SUBMISSION_SETS: ("$XDSSubmissionSetPatientId", "$XDSSubmissionSetStatus"),
    StoredQuery.FIND_FOLDERS: ("$XDSFolderPatientId", "$XDSFolderStatus"),
    StoredQuery.GET_ALL: ("$patientId", "$XDSDocumentEntryStatus", "$XDSSubmissionSetStatus", "$XDSFolderStatus"),
    StoredQuery.GET_DOCUMENTS: (("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"),),
    StoredQuery.GET_FOLDERS: (("$XDSFolderEntryUUID", "$XDSFolderUniqueId"),),
    StoredQuery.GET_ASSOCIATIONS: ("$uuid",),
    StoredQuery.GET_DOCUMENTS_AND_ASSOCIATIONS: (("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"),),
    StoredQuery.GET_SUBMISSION_SETS: ("$uuid",),
    StoredQuery.GET_SUBMISSION_SET_AND_CONTENTS: (("$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId"),),
    StoredQuery.GET_FOLDER_AND_CONTENTS: (("$XDSFolderEntryUUID", "$XDSFolderUniqueId"),),
    StoredQuery.GET_FOLDERS_FOR_DOCUMENT: (("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"),),
    StoredQuery.GET_RELATED_DOCUMENTS: (("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"),
                                        "$AssociationTypes"),
    StoredQuery.FIND_DOCUMENTS_BY_REFERENCE_ID: ("$XDSDocumentEntryPatientId", "$XDSDocumentEntryStatus",
                                                 "$XDSDocumentEntryReferenceIdList"),
}

# Parameters that take exactly one value (the others are lists).
SINGLE_VALUED: Final = frozenset({
    "$XDSDocumentEntryPatientId", "$XDSSubmissionSetPatientId", "$XDSFolderPatientId", "$patientId",
    "$XDSDocumentEntryCreationTimeFrom", "$XDSDocumentEntryCreationTimeTo",
    "$XDSDocumentEntryServiceStartTimeFrom", "$XDSDocumentEntryServiceStartTimeTo",
    "$XDSDocumentEntryServiceStopTimeFrom", "$XDSDocumentEntryServiceStopTimeTo",
    "$XDSSubmissionSetSubmissionTimeFrom", "$XDSSubmissionSetSubmissionTimeTo",
    "$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId", "$XDSSubmissionSetSourceId",
    "$XDSFolderEntryUUID", "$XDSFolderUniqueId",
})


def quote(value: str) -> str:
    """``O'Neil`` → ``'O''Neil'`` (SQL-style escaping of embedded quotes)."""
    return "'" + value.replace("'", "''") + "'"


def format_list(values: Iterable[str]) -> str:
    return "(" + ",".join(quote(v) for v in values) + ")"


def decode_values(raw_values: Sequence[str]) -> list[str]:
    """All values of a parameter, however written: quoted, unquoted numbers, parenthesised lists.

    Raises ValueError on an unterminated quote or parenthesis (the registry answers XDSRegistryError).
    """
    values: list[str] = []
    for raw in raw_values:
        text = raw.strip()
        if text.startswith("("):
            if not text.endswith(")"):
                raise ValueError(f"unterminated list {raw!r}")
            text = text[1:-1]
        values.extend(_split_quoted(text))
    return values


def _split_quoted(text: str) -> list[str]:
    values: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t\r\n":
            i += 1
        if i >= n:
            break
        if text[i] == "'":
            i += 1
            buffer: list[str] = []
            while True:
                if i >= n:
                    raise ValueError(f"unterminated quote in {text!r}")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        buffer.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                buffer.append(text[i])
                i += 1
            values.append("".join(buffer))
        else:  # unquoted token (numbers are allowed unquoted)
            start = i
            while i < n and text[i] != ",":
                i += 1
            values.append(text[start:i].strip())
    return values


def code_value(code: Code) -> str:
    return f"{code.code}^^{code.scheme or ''}"


def parse_code_value(value: str) -> Code:
    code, _, scheme = value.partition("^^")
    return Code(code, scheme or None)


def missing_parameters(request: AdhocQueryRequest) -> list[str]:
    """Required parameters of the query that are absent ("a|b" when one of several is required)."""
    missing: list[str] = []
    for required in REQUIRED_PARAMETERS.get(request.query_id, ()):
        names = required if isinstance(required, tuple) else (required,)
        if not any(name in request.parameters for name in names):
            missing.append("|".join(names))
    return missing


class _Params:
    """Collects parameters in insertion order, skipping empty ones."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}

    def single(self, name: str, value: str | None) -> _Params:
        if value is not None:
            self.values[name] = [quote(value)]
        return self

    def many(self, name: str, values: Iterable[str] | None) -> _Params:
        items = list(values or ())
        if items:
            self.values[name] = [format_list(items)]
        return self

    def codes(self, name: str, codes: Iterable[Code] | None) -> _Params:
        return self.many(name, [code_value(c) for c in codes or ()])


def find_documents(patient_id: str, *, statuses: Sequence[str] = (Status.APPROVED,),
                   class_codes: Sequence[Code] = (), type_codes: Sequence[Code] = (),
                   practice_setting_codes: Sequence[Code] = (), healthcare_facility_type_codes: Sequence[Code] = (),
                   event_codes: Sequence[Code] = (), confidentiality_codes: Sequence[Code] = (),
                   format_codes: Sequence[Code] = (), author_persons: Sequence[str] = (),
                   creation_time_from: str | None = None, creation_time_to: str | None = None,
                   service_start_time_from: str | None = None, service_start_time_to: str | None = None,
                   service_stop_time_from: str | None = None, service_stop_time_to: str | None = None,
                   return_type: str = "LeafClass") -> AdhocQueryRequest:
    """FindDocuments as the DMP's TD3.1 sends it (patient id single-quoted, statuses as a list)."""
    params = (_Params().single("$XDSDocumentEntryPatientId", patient_id)
              .many("$XDSDocumentEntryStatus", statuses)
              .codes("$XDSDocumentEntryClassCode", class_codes)
              .codes("$XDSDocumentEntryTypeCode", type_codes)
              .codes("$XDSDocumentEntryPracticeSettingCode", practice_setting_codes)
              .single("$XDSDocumentEntryCreationTimeFrom", creation_time_from)
              .single("$XDSDocumentEntryCreationTimeTo", creation_time_to)
              .single("$XDSDocumentEntryServiceStartTimeFrom", service_start_time_from)
              .single("$XDSDocumentEntryServiceStartTimeTo", service_start_time_to)
              .single("$XDSDocumentEntryServiceStopTimeFrom", service_stop_time_from)
              .single("$XDSDocumentEntryServiceStopTimeTo", service_stop_time_to)
              .codes("$XDSDocumentEntryHealthcareFacilityTypeCode", healthcare_facility_type_codes)
              .codes("$XDSDocumentEntryEventCodeList", event_codes)
              .codes("$XDSDocumentEntryConfidentialityCode", confidentiality_codes)
              .many("$XDSDocumentEntryAuthorPerson", author_persons)
              .codes("$XDSDocumentEntryFormatCode", format_codes))
    return AdhocQueryRequest(StoredQuery.FIND_DOCUMENTS, params.values, return_type)


def find_submission_sets(patient_id: str, *, statuses: Sequence[str] = (Status.APPROVED,),
                         source_ids: Sequence[str] = (), submission_time_from: str | None = None,
                         submission_time_to: str | None = None, content_type_codes: Sequence[Code] = (),
                         return_type: str = "LeafClass") -> AdhocQueryRequest:
    params = (_Params().single("$XDSSubmissionSetPatientId", patient_id)
              .many("$XDSSubmissionSetStatus", statuses)
              .many("$XDSSubmissionSetSourceId", source_ids)
              .single("$XDSSubmissionSetSubmissionTimeFrom", submission_time_from)
              .single("$XDSSubmissionSetSubmissionTimeTo", submission_time_to)
              .codes("$XDSSubmissionSetContentType", content_type_codes))
    return AdhocQueryRequest(StoredQuery.FIND_SUBMISSION_SETS, params.values, return_type)


def _by_uuid_or_unique_id(query_id: str, prefix: str, *, entry_uuids: Sequence[str], unique_ids: Sequence[str],
                          return_type: str, single: bool = False) -> AdhocQueryRequest:
    if bool(entry_uuids) == bool(unique_ids):
        raise ValueError("give either entry UUIDs or unique ids (exactly one of the two)")
    params = _Params()
    if single:
        params.single(f"${prefix}EntryUUID", entry_uuids[0] if entry_uuids else None)
        params.single(f"${prefix}UniqueId", unique_ids[0] if unique_ids else None)
    else:
        params.many(f"${prefix}EntryUUID", entry_uuids).many(f"${prefix}UniqueId", unique_ids)
    return AdhocQueryRequest(query_id, params.values, return_type)


def get_documents(*, entry_uuids: Sequence[str] = (), unique_ids: Sequence[str] = (),
                  return_type: str = "LeafClass") -> AdhocQueryRequest:
    """GetDocuments by entryUUIDs or uniqueIds (TD3.1b: find the entryUUID of a known uniqueId)."""
    return _by_uuid_or_unique_id(StoredQuery.GET_DOCUMENTS, "XDSDocumentEntry", entry_uuids=entry_uuids,
                                 unique_ids=unique_ids, return_type=return_type)


def get_associations(uuids: Sequence[str], *, return_type: str = "LeafClass") -> AdhocQueryRequest:
    return AdhocQueryRequest(StoredQuery.GET_ASSOCIATIONS, _Params().many("$uuid", uuids).values, return_type)


def get_submission_set_and_contents(*, entry_uuid: str | None = None, unique_id: str | None = None,
                                    return_type: str = "LeafClass") -> AdhocQueryRequest:
    return _by_uuid_or_unique_id(StoredQuery.GET_SUBMISSION_SET_AND_CONTENTS, "XDSSubmissionSet",
                                 entry_uuids=[entry_uuid] if entry_uuid else [],
                                 unique_ids=[unique_id] if unique_id else [], return_type=return_type, single=True)


def get_related_documents(association_types: Sequence[str], *, entry_uuid: str | None = None,
                          unique_id: str | None = None, return_type: str = "LeafClass") -> AdhocQueryRequest:
    request = _by_uuid_or_unique_id(StoredQuery.GET_RELATED_DOCUMENTS, "XDSDocumentEntry",
                                    entry_uuids=[entry_uuid] if entry_uuid else [],
                                    unique_ids=[unique_id] if unique_id else [], return_type=return_type,
                                    single=True)
    request.parameters["$AssociationTypes"] = [format_list(association_types)]
    return request


def parameters_of(request: AdhocQueryRequest) -> dict[str, list[str]]:
    """The decoded parameter values of a request (raises ValueError on a malformed value)."""
    return {name: decode_values(values) for name, values in request.parameters.items()}
