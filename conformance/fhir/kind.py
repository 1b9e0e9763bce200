"""The "fhir" artefact kind: FHIR resources and bundles in JSON or XML (PDSm / MHD)."""

from __future__ import annotations

import re

from conformance.fhir.parse import looks_like_json
from conformance.findings import ArtefactResult
from conformance.validation import ArtefactKind, ValidationContext, register_kind

_JSON_RESOURCE = re.compile(rb'"resourceType"\s*:\s*"[A-Z]')
# A DOCTYPE is matched too, so that a hostile FHIR payload reaches the safe parser and is refused with a finding.
_XML_FHIR = re.compile(rb"""^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)*"""
                       rb"""<(?:[A-Za-z_][\w.-]*:)?[A-Z][A-Za-z]*\b[^>]*xmlns(?::[\w.-]+)?\s*=\s*["']http://hl7\.org/fhir["']""",
                       re.DOTALL)


def detect(data: bytes) -> bool:
    head = data[:8192]
    if looks_like_json(head):
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" and bool(_JSON_RESOURCE.search(head))
    return bool(_XML_FHIR.match(head.lstrip(b"\xef\xbb\xbf")))


def validate(data: bytes, path: str, context: ValidationContext) -> ArtefactResult:
    from conformance.fhir.validator import default_validator

    options = dict(context.options)
    if context.profiles_dir is not None:
        options.setdefault("profiles_dir", context.profiles_dir)
    return default_validator(options, context.package_dir).validate_bytes(data, path)


register_kind(ArtefactKind("fhir", detect, validate, priority=50))
