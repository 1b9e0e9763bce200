"""The parsed CDA document that every CDA rule reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from conformance.xml import NAMESPACES, xpath_of

HL7 = NAMESPACES["hl7"]
XSL = "http://www.w3.org/1999/XSL/Transform"


class NotACdaDocument(ValueError):
    """The XML has no hl7:ClinicalDocument (at the root, or embedded in an auto-presentable stylesheet)."""


@dataclass(slots=True)
class CdaDocument:
    """A CDA document: the parsed file and its ``ClinicalDocument`` element.

    Self-presenting documents wrap the ClinicalDocument in an ``xsl:stylesheet`` root; ``root`` is then
    the embedded element and ``self_presenting`` is True. ``package_dir`` is the CI-SIS package folder when one
    is available: rules that can use its value sets (e.g. JDV_J07 for the document code) do, others ignore it.
    """

    tree: etree._ElementTree
    root: etree._Element
    path: str
    self_presenting: bool = False
    package_dir: Path | None = None

    @classmethod
    def from_tree(cls, tree: etree._ElementTree, path: str = "", package_dir: Path | None = None) -> CdaDocument:
        top = tree.getroot()
        if top.tag == f"{{{HL7}}}ClinicalDocument":
            return cls(tree, top, path, package_dir=package_dir)
        if etree.QName(top).namespace == XSL:
            embedded = top.find(f".//{{{HL7}}}ClinicalDocument")
            if embedded is not None:
                return cls(tree, embedded, path, self_presenting=True, package_dir=package_dir)
        raise NotACdaDocument(f"{path or 'input'}: root element {top.tag!r} is not an hl7:ClinicalDocument")

    def xpath(self, expr: str, node: etree._Element | None = None) -> list[Any]:
        """Evaluate ``expr`` (prefixes ``cda``/``hl7``, ``sdtc``, ``xsi``…) relative to ``node`` or the root."""
        return (node if node is not None else self.root).xpath(expr, namespaces=NAMESPACES)

    def first(self, expr: str, node: etree._Element | None = None) -> Any | None:
        found = self.xpath(expr, node)
        return found[0] if found else None

    @staticmethod
    def location(node: etree._Element) -> str:
        return xpath_of(node)
