"""Helpers shared by the VIHF tests."""

from __future__ import annotations

import copy

from lxml import etree

from conformance.vihf.model import WSSE_NS

SOAP = "http://www.w3.org/2003/05/soap-envelope"


def envelope(*assertions: etree._Element) -> etree._Element:
    """A SOAP 1.2 envelope whose wsse:Security holds ``assertions`` (copied)."""
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    security = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Header"), f"{{{WSSE_NS}}}Security",
                                nsmap={"wsse": WSSE_NS})
    for assertion in assertions:
        security.append(copy.deepcopy(assertion))
    etree.SubElement(env, f"{{{SOAP}}}Body")
    return env
