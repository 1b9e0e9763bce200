"""XSD validation of DMP message bodies against the official annex (``wsdl-schema/``), read at run time.

The schema is chosen by the body element: XDS.b/ebRIM bodies use ``schema/IHE/XDS.b_DocumentRepository.xsd``
(it imports rim/rs/lcm/query), HL7 v3 bodies their ``schema/HL7V3/NE2008|NE2009/multicacheschemas`` message
schema, the DMP-specific services (habilitations, patients, GDP responses) the schema inside their WSDL. The
annex is never copied into the repository; imports are relative file paths and the parser never reaches the
network. XOP is validated on the reconstructed infoset: each ``xop:Include`` is replaced by (empty) base64
text, as XOP prescribes, so an MTOM message validates like its inline equivalent.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from pathlib import Path

from lxml import etree

from conformance.findings import Finding, Severity, Source
from conformance.soap.envelope import XOP
from conformance.xml import NAMESPACES, xpath_of

SCHEMA_PATH = Path("wsdl-schema") / "schema" / "IHE" / "XDS.b_DocumentRepository.xsd"
_XS = "http://www.w3.org/2001/XMLSchema"
_XDS_NAMESPACES = {NAMESPACES[p] for p in ("xdsb", "lcm", "query", "rs", "rim")}
_HL7_EDITION = {"PRPA_IN201305UV02": "NE2008", "PRPA_IN201306UV02": "NE2008",
                **{f"PRPA_IN2013{n}UV02": "NE2009" for n in ("07", "08", "11", "12", "13", "14", "15", "16")}}
_WSDL_OF = {"urn:si-dmp-habilitations": "Habilitations.wsdl", "urn:si-dmp-patients": "PatientsSpecific.wsdl",
            "asip:ci-sis:gdp:2010": "GestionDossierPatientPartage.wsdl"}
_PARSER_OPTIONS = {"no_network": True, "resolve_entities": False, "load_dtd": False}


class XsdUnavailable(RuntimeError):
    """The annex schemas are not where the package folder says."""


def schema_source(tag: str) -> str | None:
    """The annex file (relative to ``wsdl-schema/``) that declares the body element ``tag``, or None."""
    qname = etree.QName(tag)
    if qname.namespace in _XDS_NAMESPACES:
        return "schema/IHE/XDS.b_DocumentRepository.xsd"
    if qname.namespace == NAMESPACES["hl7"] and qname.localname in _HL7_EDITION:
        return f"schema/HL7V3/{_HL7_EDITION[qname.localname]}/multicacheschemas/{qname.localname}.xsd"
    if qname.namespace in _WSDL_OF:
        return f"wsdl/{_WSDL_OF[qname.namespace]}"
    return None


@cache
def _schema(package_dir: Path, source: str) -> tuple[etree.XMLSchema, frozenset[str] | None]:
    """The compiled schema and, for a WSDL, the names of its global elements (others are not declared)."""
    path = package_dir / "wsdl-schema" / source
    if not path.is_file():
        raise XsdUnavailable(f"wsdl-schema/{source} not found under {package_dir}")
    document = etree.parse(str(path), etree.XMLParser(**_PARSER_OPTIONS))
    if not source.startswith("wsdl/"):
        return etree.XMLSchema(document), None
    schemas = document.getroot().findall(f".//{{{_XS}}}schema")
    # a WSDL may hold several inline schemas; the one of the service's own namespace declares its elements
    inline = next((s for s in schemas if s.get("targetNamespace") in _WSDL_OF), schemas[0])
    names = frozenset(e.get("name", "") for e in inline.findall(f"{{{_XS}}}element"))
    return etree.XMLSchema(inline), names


def xds_schema(package_dir: Path) -> etree.XMLSchema:
    """The XDS.b schema (with rim/rs/lcm/query) of the DMP LPS package at ``package_dir``."""
    return _schema(package_dir, "schema/IHE/XDS.b_DocumentRepository.xsd")[0]


def xsd_findings(body: etree._Element, package_dir: Path) -> list[Finding]:
    """Schema errors of a message body element, located by line and XPath in the message.

    A body the annex does not declare (a removed operation, an unknown service) gives one info finding.
    """
    source = schema_source(body.tag)
    if source is None:
        return [_not_declared(body, "no annex schema for this body element")]
    schema, declared = _schema(package_dir, source)
    if declared is not None and etree.QName(body).localname not in declared:
        return [_not_declared(body, f"{etree.QName(body).localname} is not declared by wsdl-schema/{source} "
                                    "(an operation removed from the WSDL?)")]
    copy = deepcopy(body)
    for include in list(copy.iter(f"{{{XOP}}}Include")):
        parent = include.getparent()
        if parent is not None:
            parent.remove(include)
    if schema.validate(etree.ElementTree(copy)):
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
            rule="XSD", severity=Severity.ERROR, source=Source.XSD, message=f"{error.message} (wsdl-schema/{source})",
            location=xpath_of(element) if element is not None else error.path or None, line=error.line or None,
            hint="fix the element so that it matches the official schema of the DMP annex"))
    return findings


def _not_declared(body: etree._Element, why: str) -> Finding:
    return Finding(rule="BENCH-XSD-UNDECLARED", severity=Severity.INFO, source=Source.XSD,
                   message=f"body not schema-validated: {why}", location=xpath_of(body), line=body.sourceline)


__all__ = ["SCHEMA_PATH", "XsdUnavailable", "schema_source", "xds_schema", "xsd_findings"]
