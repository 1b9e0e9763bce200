"""XSD validation of XDS bodies against the official annex schemas (``wsdl-schema/schema/IHE`` + ``ebRS``).

The schemas are read at run time from the DMP LPS package folder (never copied into the repository);
imports are relative file paths, and the parser never reaches the network. XOP is validated on the
reconstructed infoset: each ``xop:Include`` is replaced by (empty) base64 text, as XOP prescribes, so an
MTOM message validates like its inline equivalent.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from pathlib import Path

from lxml import etree

from conformance.findings import Finding, Severity, Source
from conformance.soap.envelope import XOP
from conformance.xml import xpath_of

SCHEMA_PATH = Path("wsdl-schema") / "schema" / "IHE" / "XDS.b_DocumentRepository.xsd"


class XsdUnavailable(RuntimeError):
    """The annex schemas are not where the package folder says."""


@cache
def xds_schema(package_dir: Path) -> etree.XMLSchema:
    """The XDS.b schema (it imports rim/rs/lcm/query) of the DMP LPS package at ``package_dir``."""
    path = package_dir / SCHEMA_PATH
    if not path.is_file():
        raise XsdUnavailable(f"{SCHEMA_PATH} not found under {package_dir}")
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def xsd_findings(body: etree._Element, package_dir: Path) -> list[Finding]:
    """Schema errors of an XDS body element (located by line and XPath of the original element)."""
    schema = xds_schema(package_dir)
    copy = deepcopy(body)
    for include in list(copy.iter(f"{{{XOP}}}Include")):
        parent = include.getparent()
        if parent is not None:
            parent.remove(include)
    document = etree.ElementTree(copy)
    if schema.validate(document):
        return []
    # deepcopy keeps source lines: locate each error on the element of the message at that line
    by_line: dict[int, etree._Element] = {}
    for element in body.iter():
        if isinstance(element.tag, str) and element.sourceline is not None:
            by_line.setdefault(element.sourceline, element)
    findings = []
    for error in schema.error_log:
        element = by_line.get(error.line)
        findings.append(Finding(
            rule="XSD", severity=Severity.ERROR, source=Source.XSD, message=f"{error.message} (XDS.b/ebRIM 3.0 schema)",
            location=xpath_of(element) if element is not None else error.path or None, line=error.line or None,
            hint="fix the element so that it matches the official schema of the DMP annex"))
    return findings


__all__ = ["SCHEMA_PATH", "XsdUnavailable", "xds_schema", "xsd_findings"]
