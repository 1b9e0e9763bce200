"""Non-structured body (IHE XDS-SD ``nonXMLBody/text``): media type, representation and content.

No official schematron checks these (golden README §6): a PDF sent as TXT, or an empty body, passes officially.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

from conformance.cda.document import CdaDocument
from conformance.cda.rules._common import at, text
from conformance.findings import Violation, rules

# Media types a CI-SIS non-structured document may carry, with the magic bytes of the binary ones.
MEDIA_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "text/rtf": (b"{\\rtf",),
    "text/plain": (),
}
TEXT_TYPES = frozenset({"text/plain", "text/rtf"})
BODY_TEXT = "hl7:component/hl7:nonXMLBody/hl7:text"


@rules.register("BENCH-CDA-NONXML-MEDIATYPE", kind="cda",
                title="nonXMLBody/text has an explicit, allowed mediaType",
                hint=f"set mediaType to one of {', '.join(MEDIA_TYPES)} (application/pdf for a PDF)")
def nonxml_media_type(document: CdaDocument) -> Iterator[Violation]:
    for element in document.xpath(BODY_TEXT):
        media_type = element.get("mediaType")
        if media_type not in MEDIA_TYPES:
            found = "no mediaType" if media_type is None else f"mediaType {media_type!r}"
            yield at(document, element, f"non-structured body with {found}, expected one of {', '.join(MEDIA_TYPES)}")


@rules.register("BENCH-CDA-NONXML-REPRESENTATION", kind="cda",
                title="binary nonXMLBody content is declared representation B64",
                hint='binary documents (PDF, images) are base64-encoded: set representation="B64"')
def nonxml_representation(document: CdaDocument) -> Iterator[Violation]:
    for element in document.xpath(BODY_TEXT):
        media_type, representation = element.get("mediaType"), element.get("representation", "TXT")
        if media_type in MEDIA_TYPES and media_type not in TEXT_TYPES and representation != "B64":
            yield at(document, element, f"{media_type} content with representation {representation!r}, "
                     "expected 'B64'")


@rules.register("BENCH-CDA-NONXML-CONTENT", kind="cda",
                title="nonXMLBody content is present, valid base64 when B64, and matches its media type",
                hint="embed the whole document base64-encoded (without data: prefix) and check its media type")
def nonxml_content(document: CdaDocument) -> Iterator[Violation]:
    for element in document.xpath(BODY_TEXT):
        if element.find("{urn:hl7-org:v3}reference") is not None:
            continue  # content by reference (not used by the DMP, but not a content error)
        content = text(element)
        if not content:
            yield at(document, element, "non-structured body without content")
            continue
        if element.get("representation") != "B64":
            continue
        try:
            data = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            yield at(document, element, f"content declared B64 does not decode as base64 ({exc})")
            continue
        magic = MEDIA_TYPES.get(element.get("mediaType") or "", ())
        if magic and not data.startswith(magic):
            yield at(document, element, f"decoded content starts with {data[:8]!r}, expected {magic[0]!r} for "
                     f"{element.get('mediaType')}")
