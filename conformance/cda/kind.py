"""Registers the CDA document kind with :mod:`conformance.validation`."""

from __future__ import annotations

import re

from conformance.artefacts import PackageError, resolve_package
from conformance.cda.document import HL7, XSL
from conformance.cda.pipeline import validate_cda
from conformance.findings import ArtefactResult
from conformance.validation import ArtefactKind, ValidationContext, register_kind
from conformance.xml import XmlInputError, parse_xml

_SNIFF_BYTES = 65536
# The first element after the prolog (BOM, XML declaration, comments, processing instructions, DOCTYPE).
_ROOT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)\s*)*"
                   rb"<(?:[\w.-]+:)?(ClinicalDocument|stylesheet)[\s/>]", re.DOTALL)


def detect(data: bytes) -> bool:
    """An hl7 ``ClinicalDocument`` root, or an ``xsl:stylesheet`` root embedding one (self-presenting).

    The root element's name is sniffed from the first bytes, so other artefacts (SOAP, MTOM messages
    carrying a CDA attachment, JSON) are never parsed here.
    """
    sniffed = _ROOT.match(data[:_SNIFF_BYTES])
    if sniffed is None:
        return False
    try:
        root = parse_xml(data).getroot()
    except XmlInputError:
        # starts like a CDA document but is broken: the CDA validator reports where
        return sniffed.group(1) == b"ClinicalDocument"
    if root.tag == f"{{{HL7}}}ClinicalDocument":
        return True
    return root.tag == f"{{{XSL}}}stylesheet" and root.find(f".//{{{HL7}}}ClinicalDocument") is not None


def validate(data: bytes, path: str, context: ValidationContext) -> ArtefactResult:
    if context.package_dir is not None:
        # an explicit folder: validate_cda reports a wrong or damaged folder as a finding
        return validate_cda(data, path, context.package_dir, profiles_dir=context.profiles_dir)
    try:
        package = resolve_package("cisis", context.profiles_dir)
    except PackageError:
        package = None
    return validate_cda(data, path, package, profiles_dir=context.profiles_dir)


register_kind(ArtefactKind("cda", detect, validate, priority=10))
