"""Parse untrusted XML safely.

The parser never reaches the network, never resolves external entities, refuses DTDs that declare
entities (XXE and "billion laughs"), and caps input size and tree depth. Every refusal is an
:class:`XmlInputError` carrying a line so callers can turn it into a located finding.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from conformance.findings import Finding, Severity, Source

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 256

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")


class XmlInputError(ValueError):
    """Input that is not well-formed XML. ``rule`` is the finding ID to report."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 rule: str = "XML-WELLFORMED", hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.rule = rule
        self.hint = hint

    def to_finding(self) -> Finding:
        return Finding(rule=self.rule, severity=Severity.ERROR, source=Source.XML, message=self.message,
                       line=self.line, hint=self.hint)


class UnsafeXmlError(XmlInputError):
    """Input refused for safety (entities, external DTD, size, depth)."""


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _make_parser(*, huge: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge,
        remove_blank_text=False,
    )


def _check_depth(root: etree._Element, max_depth: int) -> None:
    # iterative walk: a deeply nested hostile document must not blow Python's stack
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeXmlError(
                f"XML nesting deeper than {max_depth} levels", line=element.sourceline, rule="XML-DEPTH",
                hint="real DMP messages and CDA documents are far shallower; check the generator",
            )
        stack.extend((child, depth + 1) for child in element)


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH,
              base_url: str | None = None) -> etree._ElementTree:
    """Parse ``data`` or raise :class:`XmlInputError`. Never touches the network or the file system."""
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"XML input of {len(data)} bytes exceeds the limit of {max_bytes} bytes",
                             rule="XML-SIZE", hint="raise the limit explicitly if this size is legitimate")
    doctype = _DOCTYPE.search(data)
    if doctype:
        entity = _ENTITY_DECL.search(data)
        if entity:
            raise UnsafeXmlError(
                "DOCTYPE declares entities: external and expanded entities are refused (XXE, entity bombs)",
                line=_line_of(data, entity.start()), rule="XML-ENTITY",
                hint="remove the DOCTYPE; DMP messages and CDA documents never need one",
            )
        if re.search(rb"<!DOCTYPE[^>\[]*(SYSTEM|PUBLIC)", data[doctype.start():doctype.start() + 4096]):
            raise UnsafeXmlError("DOCTYPE references an external DTD, which is never fetched",
                                 line=_line_of(data, doctype.start()), rule="XML-EXTERNAL-DTD",
                                 hint="remove the DOCTYPE declaration")
    huge = len(data) > 10_000_000
    try:
        tree = etree.ElementTree(etree.fromstring(data, _make_parser(huge=huge), base_url=base_url))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        if "Excessive depth" in str(exc.msg):
            raise UnsafeXmlError(f"XML nesting deeper than the parser's limit: {exc.msg}", line=line,
                                 rule="XML-DEPTH", hint="real DMP messages and CDA documents are far shallower") from exc
        raise XmlInputError(f"not well-formed XML: {exc.msg}", line=line, column=column,
                            hint="fix the XML syntax at that line; the file cannot be validated further") from exc
    # libxml2 already refuses more than 256 levels unless huge_tree is on: walk in Python only when needed
    if huge or max_depth < DEFAULT_MAX_DEPTH:
        _check_depth(tree.getroot(), max_depth)
    return tree


def precheck_findings(data: bytes) -> list[Finding]:
    """Encoding pre-checks that do not stop parsing: BOM, declared vs real charset."""
    findings: list[Finding] = []
    body = data
    declared_bom = None
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            declared_bom = name
            body = data[len(bom):]
            findings.append(Finding(
                rule="XML-BOM", severity=Severity.WARNING, source=Source.XML, line=1,
                message=f"the file starts with a {name.upper()} byte-order mark",
                hint="save the file as UTF-8 without BOM; some DMP parsers reject a BOM",
            ))
            break
    match = _XML_DECL.match(body)
    declared = match.group(1).decode().lower() if match else None
    if declared and declared.replace("_", "-") not in ("utf-8", "utf8") and declared_bom != "utf-16":
        findings.append(Finding(
            rule="XML-ENCODING", severity=Severity.WARNING, source=Source.XML, line=1,
            message=f"declared encoding is {declared}; CI-SIS documents and DMP messages are expected in UTF-8",
            hint="declare and write UTF-8",
        ))
    if (declared in (None, "utf-8", "utf8")) and declared_bom != "utf-16":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            findings.append(Finding(
                rule="XML-UTF8", severity=Severity.ERROR, source=Source.XML, line=_line_of(body, exc.start),
                message=f"declared (or default) UTF-8 but byte 0x{body[exc.start]:02x} at offset {exc.start} is not valid UTF-8",
                hint="re-encode the file in UTF-8 (it looks like Latin-1/Windows-1252)",
            ))
    return findings
