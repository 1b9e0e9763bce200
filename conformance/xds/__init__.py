"""XDS.b metadata of the DMP: model, ebRIM round-trip, transaction bodies, stored queries, rules, builders.

Public API (stable):

* :mod:`conformance.xds.constants` — ``Scheme``, ``ObjectType``, ``Node``, ``AssociationType``, ``Status``,
  ``ResponseStatus``, ``ErrorSeverity``, ``ErrorCode``, ``Action``, ``Oid`` (UUIDs/URNs/error codes in one place).
* :mod:`conformance.xds.model` — ``SubmissionSet``, ``DocumentEntry``, ``Folder``, ``Association``,
  ``ObjectRef``, ``RegistryObjectList``, ``Code``, ``Author``, ``Slot``, ``Classification``,
  ``ExternalIdentifier``; values kept as written.
* :mod:`conformance.xds.ebrim` — ``parse_registry_object_list(element)`` / ``registry_object_list_element(objects)``.
* :mod:`conformance.xds.messages` — ``ProvideAndRegisterRequest``, ``SubmitObjectsRequest``,
  ``AdhocQueryRequest``/``AdhocQueryResponse``, ``RetrieveDocumentSetRequest``/``RetrieveDocumentSetResponse``,
  ``RegistryResponse``/``RegistryError``; ``parse_body(soap_message)``; each has ``to_element()``.
* :mod:`conformance.xds.queries` — ``StoredQuery`` ids, ``find_documents``, ``find_submission_sets``,
  ``get_documents``, ``get_associations``, ``get_submission_set_and_contents``, ``get_related_documents``,
  ``decode_values``, ``parameters_of``, ``missing_parameters``.
* :mod:`conformance.xds.builders` — LPS requests (TD2.1, TD3.1, TD3.2, TD3.3c/d) and the matching responses.
* :mod:`conformance.xds.rules` (+ :mod:`conformance.xds.coherence`, CDA ↔ metadata) — the ``xds`` rules of
  :data:`conformance.findings.rules`: ``rules.run("xds", XdsCheck(body, transaction, value_sets, production))``.
* :mod:`conformance.xds.times` — ``utc_now_dtm``, ``hl7_ts_to_utc``.
* :mod:`conformance.xds.xsd` — ``xsd_findings(body_element, dmp_lps_package_dir)`` (annex schemas, run time).
* :mod:`conformance.xds.valuesets` — ``load_value_sets(jeux_de_valeurs_dir | None)`` (``profiles/xds`` + SVS).
"""

from conformance.xds.constants import (
    Action,
    AssociationType,
    ErrorCode,
    ErrorSeverity,
    Node,
    ObjectType,
    Oid,
    ResponseStatus,
    Scheme,
    Status,
)
from conformance.xds.ebrim import parse_registry_object_list, registry_object_list_element
from conformance.xds.messages import (
    AdhocQueryRequest,
    AdhocQueryResponse,
    DocumentRequest,
    ProvideAndRegisterRequest,
    RegistryError,
    RegistryResponse,
    RetrievedDocument,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
    SubmitObjectsRequest,
    XdsParseError,
    parse_body,
)
from conformance.xds.model import (
    Association,
    Author,
    Classification,
    Code,
    DocumentEntry,
    ExternalIdentifier,
    Folder,
    ObjectRef,
    RegistryObjectList,
    Slot,
    SubmissionSet,
)

__all__ = [
    "Action",
    "AdhocQueryRequest",
    "AdhocQueryResponse",
    "Association",
    "AssociationType",
    "Author",
    "Classification",
    "Code",
    "DocumentEntry",
    "DocumentRequest",
    "ErrorCode",
    "ErrorSeverity",
    "ExternalIdentifier",
    "Folder",
    "Node",
    "ObjectRef",
    "ObjectType",
    "Oid",
    "ProvideAndRegisterRequest",
    "RegistryError",
    "RegistryObjectList",
    "RegistryResponse",
    "ResponseStatus",
    "RetrieveDocumentSetRequest",
    "RetrieveDocumentSetResponse",
    "RetrievedDocument",
    "Scheme",
    "Slot",
    "Status",
    "SubmissionSet",
    "SubmitObjectsRequest",
    "XdsParseError",
    "parse_body",
    "parse_registry_object_list",
    "registry_object_list_element",
]
