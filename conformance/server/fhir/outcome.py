"""OperationOutcome answers: every FHIR error is one, with the HTTP status the PDSm/MHD flows use."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import Response

from conformance.findings import Finding, Severity
from conformance.server.access import (
    ACCESS_DENIED,
    AUTHOR_MISMATCH,
    DMP_CLOSED,
    UNKNOWN_DOCUMENT,
    UNKNOWN_PATIENT,
)
from conformance.server.fhir.xmlwriter import fhir_xml
from conformance.store import DuplicateUniqueId, InvalidSubmission, StoreError, UnknownEntry, UnknownPatient

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
XML_FORMATS = {"xml", "text/xml", "application/xml", FHIR_XML}
# DMP refusal codes → HTTP status (PDSM4DMP: 403 not the author, 404 unknown, 422 refused update)
DECISION_STATUS = {UNKNOWN_PATIENT: 404, UNKNOWN_DOCUMENT: 404, ACCESS_DENIED: 403, AUTHOR_MISMATCH: 403,
                   DMP_CLOSED: 403}
ISSUE_CODE = {400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
              408: "timeout", 409: "duplicate", 412: "conflict", 413: "too-costly", 415: "not-supported",
              422: "processing", 500: "exception"}


class FhirError(Exception):
    """Answer with an OperationOutcome: ``status`` the HTTP status, ``findings`` one issue each."""

    def __init__(self, status: int, message: str, *, findings: Iterable[Finding] = (), code: str | None = None,
                 expression: str | None = None, dmp_code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.findings = status, message, list(findings)
        self.code = code or ISSUE_CODE.get(status, "processing")
        self.expression, self.dmp_code = expression, dmp_code


def refused(code: str | None, reason: str) -> FhirError:
    """A denied :class:`~conformance.server.access.Decision` as an error."""
    return FhirError(DECISION_STATUS.get(code or "", 403), reason, dmp_code=code)


def store_refusal(exc: StoreError) -> FhirError:
    status = 409 if isinstance(exc, DuplicateUniqueId) else 404 if isinstance(exc, UnknownPatient | UnknownEntry) \
        else 422 if isinstance(exc, InvalidSubmission) else DECISION_STATUS.get(exc.code, 422)
    return FhirError(status, str(exc), dmp_code=exc.code)


def _issue(finding: Finding) -> dict[str, Any]:
    severity = {Severity.ERROR: "error", Severity.WARNING: "warning"}.get(finding.severity, "information")
    text = f"{finding.rule}: {finding.message}" + (f" ({finding.hint})" if finding.hint else "")
    issue: dict[str, Any] = {"severity": severity, "code": "invariant" if finding.rule else "processing",
                             "details": {"text": text}}
    if finding.location:
        issue["expression"] = [finding.location]
    if finding.line:
        issue["diagnostics"] = f"line {finding.line}"
    return issue


def operation_outcome(error: FhirError) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": error.code, "diagnostics": error.message}
    if error.dmp_code:
        issue["details"] = {"text": error.dmp_code}
    if error.expression:
        issue["expression"] = [error.expression]
    issues = [issue, *(_issue(f) for f in error.findings if f.severity is not Severity.INFO)]
    return {"resourceType": "OperationOutcome", "issue": issues}


def _preference(accept: str, media: set[str]) -> tuple[float, int]:
    """The quality of the best Accept range among ``media`` and minus its position (earlier wins ties)."""
    best = (0.0, 0)
    for position, part in enumerate(accept.split(",")):
        kind, *parameters = (p.strip() for p in part.split(";"))
        if kind.lower() not in media:
            continue
        quality = next((p.partition("=")[2] for p in parameters if p.replace(" ", "").startswith("q=")), "1")
        try:
            best = max(best, (float(quality), -position))
        except ValueError:
            continue
    return best


def wants_xml(query: Mapping[str, str], accept: str) -> bool:
    """``_format`` (FHIR), else an Accept preferring FHIR XML to JSON (quality first, then order)."""
    if query.get("_format"):
        return query["_format"].split(";")[0].strip() in XML_FORMATS
    xml = _preference(accept, {FHIR_XML, "application/xml", "text/xml"})
    return xml[0] > 0 and xml > _preference(accept, {FHIR_JSON, "application/json"})


def _xml(resource: dict[str, Any]) -> bytes | None:
    """The resource as FHIR XML, or None when the R4B models cannot carry it (JSON is sent instead)."""
    try:
        return fhir_xml(resource)
    except Exception:  # a model gap must not turn a good answer into an error
        return None


def fhir_response(resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None,
                  xml: bool = False) -> Response:
    body = _xml(resource) if xml else None
    if body is not None:
        return Response(body, status_code=status, media_type=FHIR_XML, headers=headers)
    return Response(json.dumps(resource, ensure_ascii=False).encode(), status_code=status, media_type=FHIR_JSON,
                    headers=headers)


def error_response(error: FhirError, xml: bool = False) -> Response:
    headers = {"www-authenticate": 'Bearer realm="dmp-conformance"'} if error.status == 401 else None
    return fhir_response(operation_outcome(error), error.status, headers, xml)
