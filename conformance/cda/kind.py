"""Registers the CDA document kind with :mod:`conformance.validation`."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.artefacts import InstalledPackage, PackageError, resolve_package
from conformance.cda.document import HL7, XSL
from conformance.cda.pipeline import STAGES, validate_cda
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
    # ``options["schematron"] = False`` (CLI --no-schematron): XSD and bench rules only
    stages = STAGES if context.options.get("schematron", True) else tuple(s for s in STAGES if s != "schematron")
    package: InstalledPackage | Path | None = context.package_dir
    if package is None:  # an explicit folder is checked by validate_cda, which reports a wrong one
        try:
            package = resolve_package("cisis", context.profiles_dir)
        except PackageError:
            package = None
    return validate_cda(data, path, package, profiles_dir=context.profiles_dir, stages=stages)


register_kind(ArtefactKind("cda", detect, validate, priority=10))
