"""Helpers shared by the CDA rules: violations located on a node, id iteration, II formatting."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from conformance.cda.document import CdaDocument
from conformance.findings import Severity, Violation

# Every element that is an HL7 II (identifier) in a CDA header or body.
ID_ELEMENTS = ".//hl7:id | .//hl7:setId | .//sdtc:id"


def at(document: CdaDocument, node: etree._Element, message: str, *, attribute: str | None = None,
       hint: str | None = None, severity: Severity | None = None) -> Violation:
    """A violation located on ``node`` (or on one of its attributes), with its XPath and source line."""
    location = document.location(node) + (f"/@{attribute}" if attribute else "")
    return Violation(f"{message} at {location}", location=location, line=node.sourceline, hint=hint,
                     severity=severity)


def ids_with_root(document: CdaDocument, roots: set[str] | frozenset[str], scope: str = ID_ELEMENTS,
                  ) -> Iterator[tuple[etree._Element, str, str]]:
    """``(element, root, extension)`` for every identifier in ``scope`` whose @root is in ``roots``."""
    for element in document.xpath(scope):
        root = element.get("root")
        if root in roots:
            yield element, root, element.get("extension") or ""


def text(node: etree._Element | None) -> str:
    return "".join(node.itertext()).strip() if node is not None else ""
