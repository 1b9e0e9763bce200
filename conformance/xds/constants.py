"""IHE XDS.b / ebRIM 3.0 constants used by the DMP (sources: docs/xds-metadata.md §2, transactions.md §7).

Every UUID, URN and error code of the XDS layer lives here, so rules, builders and the server agree.
"""

from __future__ import annotations

from typing import Final

from conformance.identity.nir import INS_OIDS as _IDENTITY_INS_OIDS
from conformance.xml import NAMESPACES

RIM: Final = NAMESPACES["rim"]
RS: Final = NAMESPACES["rs"]
LCM: Final = NAMESPACES["lcm"]
QUERY: Final = NAMESPACES["query"]
XDSB: Final = NAMESPACES["xdsb"]


class Scheme:
    """Classification schemes (coded attributes, authors) and identification schemes (ExternalIdentifier)."""

    DE_AUTHOR: Final = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
    DE_CLASS_CODE: Final = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
    DE_CONFIDENTIALITY_CODE: Final = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
    DE_EVENT_CODE: Final = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
    DE_FORMAT_CODE: Final = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
    DE_HEALTHCARE_FACILITY_TYPE_CODE: Final = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
    DE_PRACTICE_SETTING_CODE: Final = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
    DE_TYPE_CODE: Final = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
    DE_PATIENT_ID: Final = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
    DE_UNIQUE_ID: Final = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
    SS_AUTHOR: Final = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
    SS_CONTENT_TYPE_CODE: Final = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
    SS_PATIENT_ID: Final = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
    SS_SOURCE_ID: Final = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
    SS_UNIQUE_ID: Final = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
    FOLDER_CODE_LIST: Final = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"
    FOLDER_PATIENT_ID: Final = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
    FOLDER_UNIQUE_ID: Final = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"


# The wrong formatCode scheme of one third-party client (docs/xds-metadata.md §11), detected explicitly.
WRONG_FORMAT_CODE_SCHEME: Final = "urn:uuid:a09d5840-386c-46f2-b5ad-9fdf87b75cc4"

# ExternalIdentifier names written by the official examples.
EXTERNAL_ID_NAMES: Final = {
    Scheme.DE_PATIENT_ID: "XDSDocumentEntry.patientId",
    Scheme.DE_UNIQUE_ID: "XDSDocumentEntry.uniqueId",
    Scheme.SS_PATIENT_ID: "XDSSubmissionSet.patientId",
    Scheme.SS_SOURCE_ID: "XDSSubmissionSet.sourceId",
    Scheme.SS_UNIQUE_ID: "XDSSubmissionSet.uniqueId",
    Scheme.FOLDER_PATIENT_ID: "XDSFolder.patientId",
    Scheme.FOLDER_UNIQUE_ID: "XDSFolder.uniqueId",
}


class ObjectType:
    STABLE_DOCUMENT_ENTRY: Final = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
    ON_DEMAND_DOCUMENT_ENTRY: Final = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
    ASSOCIATION: Final = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"
    REGISTRY_PACKAGE: Final = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
    CLASSIFICATION: Final = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
    EXTERNAL_IDENTIFIER: Final = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"


class Node:
    SUBMISSION_SET: Final = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
    FOLDER: Final = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"


class AssociationType:
    HAS_MEMBER: Final = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
    SIGNS: Final = "urn:ihe:iti:2007:AssociationType:signs"
    RPLC: Final = "urn:ihe:iti:2007:AssociationType:RPLC"
    XFRM: Final = "urn:ihe:iti:2007:AssociationType:XFRM"
    APND: Final = "urn:ihe:iti:2007:AssociationType:APND"
    XFRM_RPLC: Final = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
    UPDATE_AVAILABILITY_STATUS: Final = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"


ALL_ASSOCIATION_TYPES: Final = frozenset(
    v for k, v in vars(AssociationType).items() if not k.startswith("_"))
DOCUMENT_RELATIONSHIPS: Final = frozenset({AssociationType.RPLC, AssociationType.XFRM, AssociationType.APND,
                                           AssociationType.XFRM_RPLC, AssociationType.SIGNS})


class Status:
    """Availability statuses (JDV_J52): the two ebRIM ones and the two ASIP extensions."""

    APPROVED: Final = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    DEPRECATED: Final = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
    SUBMITTED: Final = "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted"
    ARCHIVED: Final = "urn:asip:ci-sis:2010:StatusType:Archived"
    DELETED: Final = "urn:asip:ci-sis:2010:StatusType:Deleted"


DMP_STATUSES: Final = frozenset({Status.APPROVED, Status.DEPRECATED, Status.ARCHIVED, Status.DELETED})
# ITI-57 UpdateAvailabilityStatus transitions between JDV_J52 statuses (docs/xds-metadata.md §8).
STATUS_TRANSITIONS: Final = frozenset({(Status.APPROVED, Status.ARCHIVED), (Status.ARCHIVED, Status.APPROVED),
                                       (Status.APPROVED, Status.DELETED), (Status.ARCHIVED, Status.DELETED)})


class ResponseStatus:
    SUCCESS: Final = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    FAILURE: Final = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
    PARTIAL_SUCCESS: Final = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"


class ErrorSeverity:
    ERROR: Final = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
    WARNING: Final = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"


class ErrorCode:
    """Standard XDS error codes (IHE ITI TF-3 Table 4.2.4.1-2, as in the NIST toolkit)."""

    REGISTRY_ERROR: Final = "XDSRegistryError"
    REPOSITORY_ERROR: Final = "XDSRepositoryError"
    REGISTRY_BUSY: Final = "XDSRegistryBusy"
    REPOSITORY_BUSY: Final = "XDSRepositoryBusy"
    REGISTRY_NOT_AVAILABLE: Final = "XDSRegistryNotAvailable"
    REGISTRY_OUT_OF_RESOURCES: Final = "XDSRegistryOutOfResources"
    REPOSITORY_OUT_OF_RESOURCES: Final = "XDSRepositoryOutOfResources"
    MISSING_DOCUMENT: Final = "XDSMissingDocument"
    MISSING_DOCUMENT_METADATA: Final = "XDSMissingDocumentMetadata"
    DUPLICATE_UNIQUE_ID_IN_REGISTRY: Final = "XDSDuplicateUniqueIdInRegistry"
    REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE: Final = "XDSRegistryDuplicateUniqueIdInMessage"
    REPOSITORY_DUPLICATE_UNIQUE_ID_IN_MESSAGE: Final = "XDSRepositoryDuplicateUniqueIdInMessage"
    PATIENT_ID_DOES_NOT_MATCH: Final = "XDSPatientIdDoesNotMatch"
    REGISTRY_METADATA_ERROR: Final = "XDSRegistryMetadataError"
    REPOSITORY_METADATA_ERROR: Final = "XDSRepositoryMetadataError"
    UNKNOWN_PATIENT_ID: Final = "XDSUnknownPatientId"
    DOCUMENT_UNIQUE_ID_ERROR: Final = "XDSDocumentUniqueIdError"
    UNKNOWN_STORED_QUERY: Final = "XDSUnknownStoredQuery"
    STORED_QUERY_MISSING_PARAM: Final = "XDSStoredQueryMissingParam"
    STORED_QUERY_PARAM_NUMBER: Final = "XDSStoredQueryParamNumber"
    NON_IDENTICAL_HASH: Final = "XDSNonIdenticalHash"
    NON_IDENTICAL_SIZE: Final = "XDSNonIdenticalSize"
    UNKNOWN_REPOSITORY_ID: Final = "XDSUnknownRepositoryId"
    REGISTRY_DEPRECATED_DOCUMENT_ERROR: Final = "XDSRegistryDeprecatedDocumentError"
    TOO_MANY_RESULTS: Final = "XDSTooManyResults"
    EXTRA_METADATA_NOT_SAVED: Final = "XDSExtraMetadataNotSaved"
    METADATA_VERSION_ERROR: Final = "XDSMetadataVersionError"
    METADATA_UPDATE_ERROR: Final = "XDSMetadataUpdateError"
    REPLACE_FAILED: Final = "XDSReplaceFailed"


class Action:
    """``wsa:Action`` values of the XDS transactions (request, response)."""

    ITI41: Final = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
    ITI41_RESPONSE: Final = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
    ITI18: Final = "urn:ihe:iti:2007:RegistryStoredQuery"
    ITI18_RESPONSE: Final = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
    ITI43: Final = "urn:ihe:iti:2007:RetrieveDocumentSet"
    ITI43_RESPONSE: Final = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    ITI57: Final = "urn:ihe:iti:2010:UpdateDocumentSet"
    ITI57_RESPONSE: Final = "urn:ihe:iti:2010:UpdateDocumentSet-Response"


class Oid:
    """OIDs of the DMP (docs/xds-metadata.md §5.2)."""

    INS_NIR: Final = "1.2.250.1.213.1.4.8"
    INS_NIA: Final = "1.2.250.1.213.1.4.9"
    INS_NIR_TEST: Final = "1.2.250.1.213.1.4.10"
    INS_NIA_TEST: Final = "1.2.250.1.213.1.4.11"
    INS_C: Final = "1.2.250.1.213.1.4.2"
    IDNAT_PS: Final = "1.2.250.1.71.4.2.1"
    IDNAT_STRUCTURE: Final = "1.2.250.1.71.4.2.2"
    DMP_REPOSITORY: Final = "1.2.250.1.213.4.1.1.1.2"
    TRE_A07_VISIBILITY: Final = "1.2.250.1.213.1.1.4.13"
    HL7_CONFIDENTIALITY: Final = "2.16.840.1.113883.5.25"


# The four INS OIDs and the two test ones, from the identity toolkit (one table for the whole bench)
INS_OIDS: Final = frozenset(_IDENTITY_INS_OIDS)
TEST_INS_OIDS: Final = frozenset(oid for oid, ins in _IDENTITY_INS_OIDS.items() if ins.is_test)

# Signature DocumentEntry (docs/xds-metadata.md §7).
SIGNATURE_CLASS_CODE: Final = "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1"
SIGNATURE_FORMAT_CODE: Final = "http://www.w3.org/2000/09/xmldsig#"
SIGNATURE_TYPE_CODE: Final = "E1762"
SIGNATURE_EVENT_CODE: Final = "1.2.840.10065.1.12.1.14"
