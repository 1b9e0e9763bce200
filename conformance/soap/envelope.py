"""SOAP 1.2 (and 1.1) envelopes with WS-Addressing headers and faults: parse and build.

Parsing never raises anything but :class:`~conformance.soap.errors.SoapError`; irregularities that do not
stop reading (an unresolved ``xop:Include``, a legacy MTOM capture…) are kept in :attr:`SoapMessage.findings`;
a SOAP 1.1 envelope is accepted (``version``) and judged by the ``soap`` rules.
The ``wsse:Security`` header is handed over raw (:attr:`SoapMessage.security`) to the VIHF layer.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote

from lxml import etree

from conformance.findings import Finding, Severity, Source
from conformance.soap.errors import SoapError
from conformance.xml import NAMESPACES, XmlInputError, parse_xml, xpath_of

SOAP12 = NAMESPACES["soap12"]
SOAP11 = NAMESPACES["soap11"]
WSA = NAMESPACES["wsa"]
WSSE = NAMESPACES["wsse"]
XOP = NAMESPACES["xop"]
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
SOAP12_CONTENT_TYPE = "application/soap+xml"


class SoapVersion(StrEnum):
    SOAP12 = "1.2"
    SOAP11 = "1.1"

    @property
    def namespace(self) -> str:
        return SOAP12 if self is SoapVersion.SOAP12 else SOAP11


@dataclass(slots=True)
class Attachment:
    """One MIME part other than the root: its Content-ID (no angle brackets, URL-decoded), type and bytes."""

    content_id: str
    content_type: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SoapFault:
    """A SOAP fault. ``code`` is the local name of the 1.2 Code value (``Sender``, ``Receiver``…) or the 1.1
    faultcode; ``subcodes`` are the local names of nested Subcode values (e.g. ``DMPInvalidCertificate``)."""

    code: str
    reason: str
    subcodes: list[str] = field(default_factory=list)
    detail: etree._Element | None = field(default=None, compare=False)
    lang: str = "fr"


@dataclass(slots=True)
class SoapMessage:
    """A parsed SOAP message: WS-Addressing values, header and body elements, MTOM attachments."""

    version: SoapVersion
    action: str | None = None
    message_id: str | None = None
    to: str | None = None
    reply_to: str | None = None
    relates_to: str | None = None
    headers: list[etree._Element] = field(default_factory=list)
    body: etree._Element | None = None  # first element child of soap:Body
    security: etree._Element | None = None  # the raw wsse:Security header, for the VIHF layer
    fault: SoapFault | None = None
    attachments: dict[str, Attachment] = field(default_factory=dict)
    tree: etree._ElementTree | None = field(default=None, repr=False)
    mime_action: str | None = None  # the ``action`` parameter of the MIME type, when there was one
    mtom: bool = False  # read from a multipart/related (MTOM/XOP) body
    findings: list[Finding] = field(default_factory=list)  # irregularities noticed while reading

    def header(self, namespace: str, local: str) -> etree._Element | None:
        tag = f"{{{namespace}}}{local}"
        return next((h for h in self.headers if h.tag == tag), None)

    def content_of(self, element: etree._Element) -> bytes | None:
        """The binary content of an XOP-optimisable element: its attachment, or its base64 text.

        None when the ``xop:Include`` points to a part that is not in the message, or the text is not base64.
        """
        include = element.find(f"{{{XOP}}}Include")
        if include is not None:
            attachment = self.attachments.get(content_id_of_href(include.get("href", "")))
            return attachment.data if attachment is not None else None
        try:  # line breaks are allowed in base64 text, other characters are not
            return base64.b64decode("".join("".join(element.itertext()).split()), validate=True)
        except ValueError:
            return None


def content_id_of_href(href: str) -> str:
    """``cid:abc%40host`` → ``abc@host`` (XOP hrefs are URL-encoded Content-IDs without angle brackets)."""
    value = href[4:] if href.lower().startswith("cid:") else href
    return unquote(value).strip().strip("<>")


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip()


def _local_qname_value(element: etree._Element | None) -> str:
    """``soap:Sender`` → ``Sender``: fault code values are QNames; the prefix is irrelevant."""
    value = _text(element) or ""
    return value.split(":", 1)[1] if ":" in value else value


def _parse_fault(fault: etree._Element, version: SoapVersion) -> SoapFault:
    if version is SoapVersion.SOAP11:
        return SoapFault(code=_local_qname_value(fault.find("faultcode")),
                         reason=_text(fault.find("faultstring")) or "",
                         detail=fault.find("detail"))
    ns = SOAP12
    code_el = fault.find(f"{{{ns}}}Code")
    code = _local_qname_value(code_el.find(f"{{{ns}}}Value")) if code_el is not None else ""
    subcodes: list[str] = []
    sub = code_el.find(f"{{{ns}}}Subcode") if code_el is not None else None
    while sub is not None:
        subcodes.append(_local_qname_value(sub.find(f"{{{ns}}}Value")))
        sub = sub.find(f"{{{ns}}}Subcode")
    text = fault.find(f"{{{ns}}}Reason/{{{ns}}}Text")
    lang = text.get("{http://www.w3.org/XML/1998/namespace}lang", "") if text is not None else ""
    return SoapFault(code=code, reason=_text(text) or "", subcodes=subcodes,
                     detail=fault.find(f"{{{ns}}}Detail"), lang=lang)


def message_from_tree(tree: etree._ElementTree, attachments: dict[str, Attachment] | None = None) -> SoapMessage:
    """Read an already parsed envelope. Raises :class:`SoapError` when it is not a SOAP envelope."""
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in (SOAP12, SOAP11):
        raise SoapError("BENCH-SOAP-ENVELOPE",
                        f"root element is {{{qname.namespace}}}{qname.localname}, expected a SOAP 1.2 Envelope "
                        f"({{{SOAP12}}}Envelope)", location=xpath_of(root), line=root.sourceline,
                        hint="send the message inside a SOAP 1.2 envelope")
    version = SoapVersion.SOAP12 if qname.namespace == SOAP12 else SoapVersion.SOAP11
    ns = version.namespace
    header = root.find(f"{{{ns}}}Header")
    body = root.find(f"{{{ns}}}Body")
    if body is None:
        raise SoapError("BENCH-SOAP-BODY", "the envelope has no Body element", location=xpath_of(root),
                        line=root.sourceline, hint="a SOAP envelope must contain exactly one Body")
    headers = [h for h in header if isinstance(h.tag, str)] if header is not None else []
    message = SoapMessage(version=version, headers=headers, tree=tree, attachments=attachments or {})

    def wsa(local: str) -> etree._Element | None:
        return message.header(WSA, local)

    message.action = _text(wsa("Action"))
    message.message_id = _text(wsa("MessageID"))
    message.to = _text(wsa("To"))
    message.relates_to = _text(wsa("RelatesTo"))
    reply_to = wsa("ReplyTo")
    message.reply_to = _text(reply_to.find(f"{{{WSA}}}Address")) if reply_to is not None else None
    message.security = message.header(WSSE, "Security")
    message.body = next((c for c in body if isinstance(c.tag, str)), None)
    if message.body is not None and message.body.tag == f"{{{ns}}}Fault":
        message.fault = _parse_fault(message.body, version)
    for include in root.iter(f"{{{XOP}}}Include"):
        if content_id_of_href(include.get("href", "")) not in message.attachments:
            message.findings.append(Finding(
                rule="BENCH-MTOM-XOP-UNRESOLVED", severity=Severity.ERROR, source=Source.RULE,
                message=f"xop:Include href={include.get('href')!r} points to no MIME part of the message",
                location=xpath_of(include), line=include.sourceline,
                hint="send every referenced document as a MIME part whose Content-ID matches the href"))
    return message


def parse_envelope(data: bytes, attachments: dict[str, Attachment] | None = None) -> SoapMessage:
    """Parse a SOAP envelope (bytes of XML). Raises :class:`SoapError` (with a finding) on bad input."""
    try:
        tree = parse_xml(data)
    except XmlInputError as exc:
        raise SoapError(exc.rule, exc.message, line=exc.line, hint=exc.hint) from exc
    return message_from_tree(tree, attachments)


def _sub(parent: etree._Element, ns: str, local: str, text: str | None = None,
         **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{local}", attrib)
    if text is not None:
        element.text = text
    return element


def build_envelope(body: etree._Element | None, *, action: str, message_id: str | None = None,
                   to: str | None = None, reply_to: str | None = WSA_ANONYMOUS, relates_to: str | None = None,
                   security: etree._Element | None = None, extra_headers: Iterable[etree._Element] = (),
                   version: SoapVersion = SoapVersion.SOAP12) -> etree._Element:
    """A SOAP envelope with WS-Addressing headers in the order of the official examples.

    Requests: pass ``reply_to`` (anonymous by default) and ``to``; responses: ``reply_to=None``,
    ``to=WSA_ANONYMOUS`` and ``relates_to`` = the request MessageID. ``body`` is copied into soap:Body.
    """
    ns = version.namespace
    envelope = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns, "wsa": WSA})
    header = _sub(envelope, ns, "Header")
    must = {f"{{{ns}}}mustUnderstand": "true" if version is SoapVersion.SOAP12 else "1"}
    _sub(header, WSA, "Action", action, **must)
    _sub(header, WSA, "MessageID", message_id or new_message_id())
    if to is not None:
        _sub(header, WSA, "To", to)
    if reply_to is not None:
        _sub(_sub(header, WSA, "ReplyTo"), WSA, "Address", reply_to)
    if relates_to is not None:
        _sub(header, WSA, "RelatesTo", relates_to)
    if security is not None:
        header.append(_copy(security))
    for extra in extra_headers:
        header.append(_copy(extra))
    soap_body = _sub(envelope, ns, "Body")
    if body is not None:
        soap_body.append(_copy(body))
    return envelope


def _copy(element: etree._Element) -> etree._Element:
    # appending moves an lxml element; copy so callers keep their trees intact
    return deepcopy(element)


def build_fault(fault: SoapFault, *, relates_to: str | None = None,
                action: str = "http://www.w3.org/2005/08/addressing/soap/fault",
                version: SoapVersion = SoapVersion.SOAP12) -> etree._Element:
    """A fault envelope (SOAP 1.2 Code/Subcode/Reason/Detail, or 1.1 faultcode/faultstring)."""
    ns = version.namespace
    body = etree.Element(f"{{{ns}}}Fault", nsmap={"soap": ns})
    if version is SoapVersion.SOAP11:
        etree.SubElement(body, "faultcode").text = f"soap:{fault.code}"
        etree.SubElement(body, "faultstring").text = fault.reason
        if fault.detail is not None:
            etree.SubElement(body, "detail").append(_copy(fault.detail))
    else:
        code = _sub(body, ns, "Code")
        _sub(code, ns, "Value", f"soap:{fault.code}")
        parent = code
        for subcode in fault.subcodes:
            parent = _sub(parent, ns, "Subcode")
            # DMP subcodes are bare names (e.g. DMPInvalidCertificate); a QName value needs a prefix
            _sub(parent, ns, "Value", subcode if ":" in subcode else f"soap:{subcode}")
        reason = _sub(body, ns, "Reason")
        _sub(reason, ns, "Text", fault.reason, **{"{http://www.w3.org/XML/1998/namespace}lang": fault.lang})
        if fault.detail is not None:
            _sub(body, ns, "Detail").append(_copy(fault.detail))
    return build_envelope(body, action=action, reply_to=None, to=WSA_ANONYMOUS, relates_to=relates_to,
                          version=version)


def to_bytes(element: etree._Element | etree._ElementTree) -> bytes:
    return etree.tostring(element, encoding="UTF-8", xml_declaration=False)


def soap_content_type(action: str | None) -> str:
    """The HTTP Content-Type of a plain (non-MTOM) SOAP 1.2 message."""
    return f'{SOAP12_CONTENT_TYPE}; charset=UTF-8; action="{action}"' if action else \
        f"{SOAP12_CONTENT_TYPE}; charset=UTF-8"
