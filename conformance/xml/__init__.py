"""Safe XML parsing (no network, no external entities, no entity expansion, size limits) and locations."""

from conformance.xml.locations import NAMESPACES, xpath_of
from conformance.xml.safe import (
    DEFAULT_MAX_BYTES,
    UnsafeXmlError,
    XmlInputError,
    parse_xml,
    precheck_findings,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "NAMESPACES",
    "UnsafeXmlError",
    "XmlInputError",
    "parse_xml",
    "precheck_findings",
    "xpath_of",
]
