"""Building HL7 v3 elements (the PDQ and habilitation messages of the client and of the reference DMP)."""

from __future__ import annotations

from lxml import etree

from conformance.xml.locations import NAMESPACES

HL7 = NAMESPACES["hl7"]


def hl7_element(parent: etree._Element | None, local: str, text: str | None = None,
                **attrib: str) -> etree._Element:
    """A child ``local`` of ``parent`` in the HL7 v3 namespace (a root with HL7 as default namespace when
    ``parent`` is None), with these attributes and text."""
    tag = f"{{{HL7}}}{local}"
    element = etree.SubElement(parent, tag, attrib) if parent is not None else etree.Element(tag, attrib, nsmap={None: HL7})
    if text is not None:
        element.text = text
    return element
