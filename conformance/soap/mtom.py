"""MTOM/XOP (``multipart/related``) messages: streaming parse, ``xop:Include`` resolution, build.

Parsing uses python-multipart's low-level ``MultipartParser``, which is subtype-agnostic and streams
(Starlette's ``form()`` returns ``{}`` for ``multipart/related``). The root part is the one whose Content-ID
equals the ``start`` parameter (or the first part); each other part becomes an :class:`Attachment` keyed by
its Content-ID without angle brackets, which is what a URL-decoded ``cid:`` href names.

Limits (:class:`MtomLimits`) on the total size, each part and the number of parts are enforced while
streaming, so a hostile body fails fast with a ``BENCH-MTOM-…`` :class:`MtomError`.

**Lenient mode** (``lenient=True``), for replaying legacy captures such as the official TD2.1 request, is a
pre-pass that records every irregularity as a warning finding:

* no Content-Type (a raw body without HTTP headers): the boundary is read from the first line
  (``BENCH-MTOM-LEGACY-NO-HEADERS``);
* LF line endings where MIME requires CRLF: every bare LF of the body is turned into CRLF
  (``BENCH-MTOM-LEGACY-LF``). This is exact for text parts only, which is what such captures hold;
* a non-multipart Content-Type on a body that is multipart: the body is sniffed (``BENCH-MTOM-CONTENT-TYPE``).

In every mode, a part whose charset is not an IANA name (``Cp1252`` in that capture) is a warning
(``BENCH-MTOM-CHARSET``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lxml import etree
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState

from conformance.findings import Finding
from conformance.soap.envelope import (
    SOAP12_CONTENT_TYPE,
    Attachment,
    SoapMessage,
    parse_envelope,
    soap_content_type,
    to_bytes,
)
from conformance.soap.errors import MtomError, SoapError, warning

XOP_CONTENT_TYPE = "application/xop+xml"
# IANA charset names seen in MIME parts; others (e.g. the Java name "Cp1252" of the official capture) are flagged
IANA_CHARSETS = frozenset({"utf-8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "iso-8859-1", "iso-8859-15",
                           "windows-1252"})
MAX_PREAMBLE = 8192


@dataclass(frozen=True, slots=True)
class MtomLimits:
    """Upper bounds applied while streaming (defaults sized on the kit's 50 MB maximum message)."""

    max_total: int = 64 * 1024 * 1024
    max_part: int = 52 * 1024 * 1024
    max_parts: int = 100
    max_header_size: int = 8192


@dataclass(slots=True)
class MimePart:
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    data: bytearray = field(default_factory=bytearray)

    @property
    def content_id(self) -> str | None:
        value = self.headers.get("content-id")
        return value.strip().strip("<>") if value is not None else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/octet-stream")


@dataclass(slots=True)
class MtomPackage:
    """The parts of a multipart/related body, the root part first in :attr:`root`."""

    root: MimePart
    attachments: dict[str, Attachment]
    media_type: str
    params: dict[str, str]
    findings: list[Finding] = field(default_factory=list)


_PARAM = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """``multipart/related; type="application/xop+xml"; start="<root>"`` → (media type, lower-case params)."""
    if not value:
        return "", {}
    media_type, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        raw = match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
    return media_type.strip().lower(), params


class MtomParser:
    """Incremental multipart/related reader: ``feed()`` chunks, then ``close()``."""

    def __init__(self, boundary: str, limits: MtomLimits | None = None) -> None:
        if not boundary or len(boundary) > 200:
            raise MtomError("BENCH-MTOM-BOUNDARY", f"invalid multipart boundary {boundary!r} (1 to 200 characters)",
                            hint="declare boundary=… in the Content-Type, as RFC 2046 requires")
        self.limits = limits or MtomLimits()
        self.delimiter = b"--" + boundary.encode("latin-1")
        self.parts: list[MimePart] = []
        self._size = 0
        self._started = False
        self._preamble = bytearray()
        self._field = bytearray()
        self._value = bytearray()
        self._parser = MultipartParser(boundary.encode("latin-1"), {
            "on_part_begin": self._on_part_begin,
            "on_part_data": self._on_part_data,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._on_header_end,
        }, max_header_size=self.limits.max_header_size, max_header_count=32)

    def _on_part_begin(self) -> None:
        if len(self.parts) >= self.limits.max_parts:
            raise MtomError("BENCH-MTOM-PART-COUNT", f"more than {self.limits.max_parts} MIME parts",
                            hint="split the submission or raise the part-count limit explicitly")
        self.parts.append(MimePart())

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        if len(part.data) + end - start > self.limits.max_part:
            raise MtomError("BENCH-MTOM-PART-SIZE",
                            f"MIME part {len(self.parts)} exceeds {self.limits.max_part} bytes",
                            hint="the DMP kit accepts messages up to 50 MB; send smaller documents")
        part.data.extend(memoryview(data)[start:end])  # no intermediate slice copy

    def _on_header_end(self) -> None:
        name = self._field.decode("latin-1").strip().lower()
        self.parts[-1].headers[name] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.limits.max_total:
            raise MtomError("BENCH-MTOM-SIZE", f"multipart body exceeds {self.limits.max_total} bytes",
                            hint="the DMP kit accepts messages up to 50 MB")
        if not self._started:
            # python-multipart refuses a MIME preamble (and a leading CRLF): skip it ourselves, without
            # copying the body when it starts with the delimiter (the usual case)
            data = bytes(self._preamble) + chunk if self._preamble else chunk
            at = data.find(self.delimiter, 0, MAX_PREAMBLE + len(self.delimiter))
            if at < 0:
                if len(data) > MAX_PREAMBLE:
                    raise MtomError("BENCH-MTOM-BOUNDARY",
                                    f"boundary {self.delimiter[2:].decode('latin-1')!r} not found in the first "
                                    f"{MAX_PREAMBLE} bytes of the body",
                                    hint="the Content-Type boundary must match the body's delimiter lines")
                self._preamble = bytearray(data)
                return
            chunk = data[at:] if at else data
            self._preamble.clear()
            self._started = True
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise MtomError("BENCH-MTOM-SYNTAX", f"malformed multipart body: {exc}",
                            hint="each part needs headers, an empty line (CRLF CRLF) and a CRLF before the "
                                 "next delimiter") from exc

    def close(self) -> list[MimePart]:
        if not self._started:
            raise MtomError("BENCH-MTOM-BOUNDARY",
                            f"no delimiter line {self.delimiter.decode('latin-1')!r} in the body",
                            hint="the Content-Type boundary must match the body's delimiter lines")
        if self._parser.state != MultipartState.END:
            raise MtomError("BENCH-MTOM-TRUNCATED",
                            f"the multipart body ends before its closing delimiter "
                            f"{self.delimiter.decode('latin-1')}-- ({len(self.parts)} part(s) read)",
                            hint="the message was cut: check Content-Length and the sender's stream handling")
        return self.parts


def _legacy_prepass(data: bytes, content_type: str | None, lenient: bool) -> tuple[bytes, str, list[Finding]]:
    """Return the body and Content-Type to parse, fixing legacy captures in lenient mode (see module doc)."""
    findings: list[Finding] = []
    media_type, params = parse_content_type(content_type)
    looks_multipart = data[:200].lstrip(b"\r\n").startswith(b"--")
    if media_type.startswith("multipart/"):
        boundary = params.get("boundary", "")
        if not boundary:
            raise MtomError("BENCH-MTOM-BOUNDARY", f"Content-Type {content_type!r} has no boundary parameter",
                            hint='declare boundary="…" in the multipart Content-Type')
    elif looks_multipart and lenient:
        first = data[:1024].lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")
        boundary = first[2:].decode("latin-1")
        if content_type:
            findings.append(warning("BENCH-MTOM-CONTENT-TYPE",
                                    f"Content-Type {content_type!r} but the body is multipart (boundary read "
                                    "from its first line)", hint="declare multipart/related for MTOM bodies"))
        else:
            findings.append(warning("BENCH-MTOM-LEGACY-NO-HEADERS",
                                    f"no Content-Type (raw capture without HTTP headers): boundary {boundary!r} "
                                    "read from the first line",
                                    hint="captures should keep the HTTP headers of the message"))
        content_type = (f'multipart/related; type="{XOP_CONTENT_TYPE}"; boundary="{boundary}"; '
                        f'start-info="{SOAP12_CONTENT_TYPE}"')
    elif looks_multipart:
        raise MtomError("BENCH-MTOM-CONTENT-TYPE",
                        f"the body is multipart but the Content-Type is {content_type or 'missing'!r}",
                        hint="send MTOM with Content-Type multipart/related; type=\"application/xop+xml\"; "
                             "boundary=…; start=…; start-info=\"application/soap+xml\"")
    else:
        raise MtomError("BENCH-MTOM-CONTENT-TYPE", f"not a multipart body (Content-Type {content_type!r})")
    if lenient and b"\r\n" not in data[:4096] and b"\n" in data[:4096]:
        findings.append(warning("BENCH-MTOM-LEGACY-LF", "the multipart body uses LF line endings; MIME requires "
                                "CRLF (converted for reading)",
                                hint="send CRLF line endings; an LF body is not a valid MIME message"))
        data = data.replace(b"\n", b"\r\n")
    return data, content_type or "", findings


def parse_mtom(data: bytes | Iterable[bytes], content_type: str | None, *, lenient: bool = False,
               limits: MtomLimits | None = None) -> MtomPackage:
    """Split a multipart/related body into its root part and attachments.

    ``data`` may be the whole body or an iterable of chunks (streamed; the lenient pre-pass needs the
    whole body, so chunks are joined first in lenient mode).
    """
    limits = limits or MtomLimits()
    chunks: Iterable[bytes]
    findings: list[Finding] = []
    if isinstance(data, bytes | bytearray) or lenient:
        body = bytes(data) if isinstance(data, bytes | bytearray) else b"".join(data)
        if len(body) > limits.max_total:
            raise MtomError("BENCH-MTOM-SIZE", f"multipart body of {len(body)} bytes exceeds "
                            f"{limits.max_total} bytes", hint="the DMP kit accepts messages up to 50 MB")
        body, content_type, findings = _legacy_prepass(body, content_type, lenient)
        chunks = (body,)
    else:
        media_type, _ = parse_content_type(content_type)
        if not media_type.startswith("multipart/"):
            raise MtomError("BENCH-MTOM-CONTENT-TYPE", f"not a multipart Content-Type: {content_type!r}")
        chunks = data
    media_type, params = parse_content_type(content_type)
    parser = MtomParser(params.get("boundary", ""), limits)
    for chunk in chunks:
        parser.feed(chunk)
    parts = parser.close()
    if not parts:
        raise MtomError("BENCH-MTOM-NO-PART", "the multipart body has no part")
    start = params.get("start", "").strip().strip("<>")
    root = parts[0]
    if start:
        root = next((p for p in parts if p.content_id == start), None)  # type: ignore[assignment]
        if root is None:
            raise MtomError("BENCH-MTOM-START",
                            f"no part has the Content-ID <{start}> named by the start parameter",
                            hint="the start parameter must equal the root part's Content-ID")
    attachments: dict[str, Attachment] = {}
    for index, part in enumerate(parts):
        if part is root:
            continue
        cid = part.content_id
        if not cid:
            findings.append(warning("BENCH-MTOM-CONTENT-ID", f"MIME part {index + 1} has no Content-ID and "
                                    "cannot be referenced by an xop:Include",
                                    hint="give every attachment part a Content-ID"))
            continue
        if cid in attachments:
            raise MtomError("BENCH-MTOM-CONTENT-ID", f"two MIME parts share the Content-ID <{cid}>",
                            hint="Content-IDs must be unique within a message")
        charset = parse_content_type(part.content_type)[1].get("charset")
        if charset is not None and charset.lower() not in IANA_CHARSETS:
            findings.append(warning("BENCH-MTOM-CHARSET", f"MIME part <{cid}> declares charset {charset!r}, not an "
                                    "IANA charset name", hint="use an IANA name such as UTF-8 or windows-1252"))
        attachments[cid] = Attachment(cid, part.content_type, bytes(part.data), dict(part.headers))
    return MtomPackage(root=root, attachments=attachments, media_type=media_type, params=params,
                       findings=findings)


def is_multipart(data: bytes, content_type: str | None) -> bool:
    media_type, _ = parse_content_type(content_type)
    return media_type.startswith("multipart/") or data[:200].lstrip(b"\r\n").startswith(b"--")


_REQUEST_LINE = re.compile(rb"(POST|PUT) \S+ HTTP/1\.[01]\r?\n")
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]")
MAX_HTTP_HEADERS = 16384


def split_http_message(data: bytes) -> tuple[dict[str, str], bytes] | None:
    """(lower-case headers, body) of a saved HTTP request or MIME message (``POST … HTTP/1.1`` and/or header
    lines, then an empty line), or None when ``data`` does not start with headers."""
    head = data[:MAX_HTTP_HEADERS]
    start = 0
    request = _REQUEST_LINE.match(head)
    if request:
        start = request.end()
    elif not _HEADER_LINE.match(head):
        return None
    end = min((i for i in (head.find(b"\r\n\r\n", start), head.find(b"\n\n", start)) if i >= 0), default=-1)
    if end < 0:
        return None
    headers: dict[str, str] = {}
    for line in re.split(rb"\r?\n(?![ \t])", head[start:end]):  # folded lines continue with a space or tab
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        headers[name.decode("latin-1").strip().lower()] = " ".join(value.decode("latin-1").split())
    separator = 4 if head[end:end + 4] == b"\r\n\r\n" else 2
    return headers, data[end + separator:]


def _joined(chunks: Iterable[bytes], limit: int) -> bytes:
    body = bytearray()
    for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise MtomError("BENCH-MTOM-SIZE", f"message body exceeds {limit} bytes",
                            hint="the DMP kit accepts messages up to 50 MB")
    return bytes(body)


def parse_message(data: bytes | Iterable[bytes], content_type: str | None = None, *, lenient: bool = False,
                  limits: MtomLimits | None = None) -> SoapMessage:
    """Parse an HTTP body (plain SOAP or MTOM) into a :class:`SoapMessage`; raises :class:`SoapError`.

    ``data`` may be an iterable of chunks (an HTTP request stream): an MTOM body announced by its
    Content-Type is then parsed as it streams; other bodies are joined first (within ``max_total``).
    """
    limits = limits or MtomLimits()
    if not isinstance(data, bytes | bytearray):
        if parse_content_type(content_type)[0].startswith("multipart/") and not lenient:
            return _message_from_package(parse_mtom(data, content_type, limits=limits))
        data = _joined(data, limits.max_total)
    if not is_multipart(data, content_type):
        message = parse_envelope(data)
        message.mime_action = parse_content_type(content_type)[1].get("action")
        return message
    return _message_from_package(parse_mtom(data, content_type, lenient=lenient, limits=limits))


def _message_from_package(package: MtomPackage) -> SoapMessage:
    root_type, root_params = parse_content_type(package.root.headers.get("content-type"))
    findings = list(package.findings)
    for name, expected in (("type", XOP_CONTENT_TYPE), ("start-info", SOAP12_CONTENT_TYPE)):
        value = package.params.get(name)
        if value is not None and value.lower() != expected:  # absent: tolerated (many stacks omit start-info)
            findings.append(warning("BENCH-MTOM-PARAMS", f"multipart/related {name}={value!r}, expected {expected!r}",
                                    hint=f'send multipart/related; type="{XOP_CONTENT_TYPE}"; '
                                         f'start-info="{SOAP12_CONTENT_TYPE}"'))
    if root_type != XOP_CONTENT_TYPE:
        findings.append(warning("BENCH-MTOM-ROOT-TYPE",
                                f"root part Content-Type is {root_type or 'missing'!r}, expected {XOP_CONTENT_TYPE}",
                                hint='label the root part application/xop+xml; type="application/soap+xml"'))
    try:
        message = parse_envelope(bytes(package.root.data), package.attachments)
    except SoapError as exc:
        exc.message = f"root MIME part: {exc.message}"
        raise
    message.findings[:0] = findings
    message.mime_action = root_params.get("action") or package.params.get("action")
    message.mtom = True
    return message


def build_mtom(envelope: etree._Element | bytes, attachments: Sequence[Attachment], *, action: str | None = None,
               boundary: str | None = None, root_id: str = "root.message@dmp-conformance") -> tuple[bytes, str]:
    """Serialise a SOAP 1.2 envelope and its attachments as MTOM. Returns (body, Content-Type header)."""
    boundary = boundary or f"MIMEBoundary_{uuid.uuid4().hex}"
    xml = envelope if isinstance(envelope, bytes) else to_bytes(envelope)
    action_param = f'; action="{action}"' if action else ""
    chunks = [
        f"--{boundary}\r\nContent-Type: {XOP_CONTENT_TYPE}; charset=UTF-8; "
        f'type="{SOAP12_CONTENT_TYPE}"{action_param}\r\n'
        f"Content-Transfer-Encoding: binary\r\nContent-ID: <{root_id}>\r\n\r\n".encode(),
        xml,
    ]
    for attachment in attachments:
        chunks.append(f"\r\n--{boundary}\r\nContent-Type: {attachment.content_type}\r\n"
                      f"Content-Transfer-Encoding: binary\r\nContent-ID: <{attachment.content_id}>\r\n\r\n".encode())
        chunks.append(attachment.data)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    content_type = (f'multipart/related; type="{XOP_CONTENT_TYPE}"; boundary="{boundary}"; '
                    f'start="<{root_id}>"; start-info="{SOAP12_CONTENT_TYPE}"{action_param}')
    return b"".join(chunks), content_type


def serialize_message(envelope: etree._Element, attachments: Sequence[Attachment] = (), *,
                      action: str | None = None) -> tuple[bytes, str]:
    """HTTP body and Content-Type: MTOM when there are attachments, plain SOAP 1.2 otherwise."""
    if attachments:
        return build_mtom(envelope, attachments, action=action)
    return to_bytes(envelope), soap_content_type(action)
