"""What the FHIR API declares in the OpenAPI document and its CapabilityStatement.

Schemas are deliberately small (the resource type, the elements clients chain on) with FHIR primitive regexes
and ``minLength`` on strings; every operation declares its OperationOutcome errors; ``links`` chain
publish → read → Binary and patch for stateful testing. :func:`fhir_openapi` is the document restricted to the
FHIR paths (``GET /fhir/openapi.json``).
"""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"  # with _format=xml or Accept: application/fhir+xml
XML_TEXT = {"schema": {"type": "string"}}
ID = {"type": "string", "pattern": r"^[A-Za-z0-9\-\.]{1,64}$"}
OPERATION_OUTCOME = {
    "type": "object", "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["severity", "code"],
            "properties": {"severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
                           "code": {"type": "string", "pattern": r"^[^\s]+$"},
                           "diagnostics": {"type": "string"},
                           "expression": {"type": "array", "items": {"type": "string"}}}}},
    },
}
RESOURCE = {"type": "object", "required": ["resourceType"],
            "properties": {"resourceType": {"type": "string", "pattern": "^[A-Z][A-Za-z]{1,63}$"}}}
DOCUMENT_REFERENCE = {
    "type": "object", "required": ["resourceType", "id", "status", "content"],
    "properties": {"resourceType": {"type": "string", "enum": ["DocumentReference"]}, "id": ID,
                   "status": {"type": "string", "enum": ["current", "superseded"]},
                   "content": {"type": "array", "minItems": 1, "items": {"type": "object"}}},
}
BUNDLE = {
    "type": "object", "required": ["resourceType", "type"],
    "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]},
                   "type": {"type": "string", "enum": ["searchset", "transaction-response"]},
                   "total": {"type": "integer", "minimum": 0},
                   "entry": {"type": "array", "items": {"type": "object"}}},
}


def _outcome(description: str) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": OPERATION_OUTCOME}, FHIR_XML: XML_TEXT}}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _outcome("Malformed request (OperationOutcome)"),
    401: _outcome("Missing or invalid bearer token (OperationOutcome)"),
    403: _outcome("Refused by the DMP access rules (OperationOutcome)"),
    404: _outcome("Unknown patient, resource or disabled endpoint (OperationOutcome)"),
    422: _outcome("Unprocessable: invalid against PDSm or refused by the store (OperationOutcome)"),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 405: _outcome("PATCH of an element other than securityLabel/status/isArchived (OperationOutcome)"),
    408: _outcome("Body not received in time (OperationOutcome)"),
    409: _outcome("Duplicate uniqueId (OperationOutcome)"),
    412: _outcome("Failed precondition (JSON Patch test, ambiguous identifier) (OperationOutcome)"),
    413: _outcome("Body too large (OperationOutcome)"),
    415: _outcome("Unsupported PATCH media type (OperationOutcome)"),
}


def _ok(description: str, schema: dict[str, Any], links: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {FHIR_JSON: {"schema": schema}, FHIR_XML: XML_TEXT}}
    if links:
        answer["links"] = links
    return answer


_DOCUMENT_LINKS = {
    "ReadDocumentReference": {"operationId": "read_document_reference_fhir_DocumentReference__rid__get",
                              "parameters": {"rid": "$response.body#/id"}},
    "ReadBinary": {"operationId": "read_binary_fhir_Binary__rid__get", "parameters": {"rid": "$response.body#/id"}},
    "PatchDocumentReference": {"operationId": "patch_document_reference_fhir_DocumentReference__rid__patch",
                               "parameters": {"rid": "$response.body#/id"}},
}
READ_RESPONSES: dict[int | str, dict[str, Any]] = {200: _ok("The resource", RESOURCE), **ERRORS}
SEARCH_RESPONSES: dict[int | str, dict[str, Any]] = {200: _ok("searchset Bundle", BUNDLE), **ERRORS}
# POST _search reads a body: the body limits apply (408, 413)
SEARCH_POST_RESPONSES: dict[int | str, dict[str, Any]] = {200: _ok("searchset Bundle", BUNDLE), **WRITE_ERRORS}
TRANSACTION_RESPONSES: dict[int | str, dict[str, Any]] = {200: _ok("transaction-response Bundle", BUNDLE),
                                                          **WRITE_ERRORS}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _ok("The updated DocumentReference", DOCUMENT_REFERENCE, _DOCUMENT_LINKS),
    201: _ok("The created DocumentReference", DOCUMENT_REFERENCE, _DOCUMENT_LINKS), **WRITE_ERRORS}
BINARY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The document bytes in their MIME type (a Binary resource when Accept is "
                         "application/fhir+json or application/fhir+xml, or with _format)",
          "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}, **ERRORS}
TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A bearer token", "content": {"application/json": {"schema": {
        "type": "object", "required": ["access_token", "token_type"],
        "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}}}}}}, **WRITE_ERRORS}


def _body(schema: dict[str, Any], *media: str) -> dict[str, Any]:
    return {"required": True, "content": {m: {"schema": schema} for m in media}}


BUNDLE_BODY = _body({"type": "object", "required": ["resourceType", "type", "entry"],
                     "properties": {"resourceType": {"type": "string", "enum": ["Bundle"]},
                                    "type": {"type": "string", "enum": ["transaction"]},
                                    "entry": {"type": "array", "minItems": 1, "items": {"type": "object"}}}},
                    FHIR_JSON)
DOCUMENT_REFERENCE_BODY = _body({"type": "object", "required": ["resourceType", "content"],
                                 "properties": {"resourceType": {"type": "string", "enum": ["DocumentReference"]},
                                                "content": {"type": "array", "minItems": 1,
                                                            "items": {"type": "object"}}}}, FHIR_JSON)
JSON_PATCH_BODY = {"required": True, "content": {
    "application/json-patch+json": {"schema": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["op", "path"],
        "properties": {"op": {"type": "string", "enum": ["add", "remove", "replace", "test"]},
                       "path": {"type": "string", "pattern": "^/.*$"}, "value": {}}}}},
    # FHIRPath Patch (also in FHIR XML)
    FHIR_JSON: {"schema": {"type": "object", "required": ["resourceType", "parameter"], "properties": {
        "resourceType": {"type": "string", "enum": ["Parameters"]},
        "parameter": {"type": "array", "minItems": 1, "items": {"type": "object"}}}}}}}

SEARCH_PARAMS = {
    "DocumentReference": ["patient", "patient.identifier", "status", "identifier", "type", "category", "setting",
                          "facility", "format", "security-label", "event", "date", "creation", "period",
                          "period-start", "period-end", "isArchived", "relatesto", "related", "author", "author.identifier",
                          "author.given", "author.family", "_count"],
    "List": ["patient", "patient.identifier", "code", "status", "identifier", "isArchived", "designationType",
             "sourceId", "date", "title", "source", "source.given", "source.family", "authorOrg"],
}
# FHIR search types of the parameters that are not tokens
SEARCH_TYPES = {"date": "date", "creation": "date", "period": "date", "period-start": "date", "period-end": "date",
                "_count": "number", "patient": "reference", "author": "reference", "source": "reference",
                "authorOrg": "reference", "relatesto": "reference", "title": "string", "author.given": "string",
                "author.family": "string", "source.given": "string", "source.family": "string"}


def capability_statement(base: str) -> dict[str, Any]:
    """What the reference DMP implements of PDSm-GestionnaireDePartageDeDocuments."""
    def resource(kind: str, interactions: list[str], **extra: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": kind, "interaction": [{"code": i} for i in interactions]}
        if kind in SEARCH_PARAMS:
            entry["searchParam"] = [{"name": n, "type": SEARCH_TYPES.get(n, "token"),
                                     **({"documentation": "modifiers :exact and :contains"}
                                        if SEARCH_TYPES.get(n) == "string" else {})}
                                    for n in SEARCH_PARAMS[kind]]
        return {**entry, **extra}

    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-01-01", "kind": "instance",
        "fhirVersion": "4.0.1", "format": [FHIR_JSON, FHIR_XML],
        "patchFormat": ["application/json-patch+json", FHIR_JSON, FHIR_XML],  # JSON Patch, FHIRPath Patch
        "software": {"name": "dmp-conformance reference DMP"},
        "implementation": {"description": "Reference DMP (PDSm 3.1.1 / PDSM4DMP draft)", "url": base},
        "instantiates": ["https://interop.esante.gouv.fr/ig/fhir/pdsm/CapabilityStatement/"
                         "PDSm-GestionnaireDePartageDeDocuments"],
        "rest": [{"mode": "server", "security": {"cors": False, "description": "Bearer token (see the bench docs)"},
                  "resource": [
                      resource("DocumentReference", ["read", "search-type", "create", "patch", "update"],
                               conditionalUpdate=True),
                      resource("List", ["read", "search-type"]),
                      resource("Binary", ["read"])],
                  "interaction": [{"code": "transaction"}]}],
    }


def fhir_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI document restricted to ``/fhir`` (the capture and admin APIs left out)."""
    return {**document, "info": {**document.get("info", {}), "title": "dmp-conformance reference DMP — FHIR PDSm"},
            "paths": {p: v for p, v in document.get("paths", {}).items() if p.startswith("/fhir")}}


def search_form_body(kind: str) -> dict[str, Any]:
    """The optional form body of ``POST [type]/_search``: the search parameters of ``kind``."""
    return {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {name: {"type": "string", "minLength": 1} for name in SEARCH_PARAMS[kind]}}}}}
