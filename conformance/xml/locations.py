"""Human-readable XPath locations with the usual prefixes of the domain."""

from __future__ import annotations

from lxml import etree

NAMESPACES: dict[str, str] = {
    "cda": "urn:hl7-org:v3",
    "hl7": "urn:hl7-org:v3",
    "sdtc": "urn:hl7-org:sdtc",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "svs": "urn:ihe:iti:svs:2008",
    "soap12": "http://www.w3.org/2003/05/soap-envelope",
    "soap11": "http://schemas.xmlsoap.org/soap/envelope/",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xop": "http://www.w3.org/2004/08/xop/include",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0",
    "lcm": "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0",
    "query": "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0",
    "xdsb": "urn:ihe:iti:xds-b:2007",
    "svrl": "http://purl.oclc.org/dsdl/svrl",
    "fhir": "http://hl7.org/fhir",
}
_PREFIX_OF = {}
for _prefix, _uri in NAMESPACES.items():
    _PREFIX_OF.setdefault(_uri, _prefix)


def xpath_of(node: etree._Element) -> str:
    """``/cda:ClinicalDocument/cda:author[2]/cda:assignedAuthor`` style path of an element (or attribute parent)."""
    steps: list[str] = []
    element: etree._Element | None = node
    while element is not None and isinstance(element.tag, str):
        qname = etree.QName(element)
        prefix = _PREFIX_OF.get(qname.namespace or "")
        name = f"{prefix}:{qname.localname}" if prefix else (
            qname.localname if not qname.namespace else f"*[local-name()='{qname.localname}']")
        parent = element.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == element.tag]
            if len(same) > 1:
                name += f"[{same.index(element) + 1}]"
        steps.append(name)
        element = parent
    return "/" + "/".join(reversed(steps))
