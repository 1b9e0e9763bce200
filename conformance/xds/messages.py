"""XDS.b transaction bodies: parse from and build to XML (the SOAP body element).

* ITI-41 :class:`ProvideAndRegisterRequest` (``xdsb:ProvideAndRegisterDocumentSetRequest``), documents by id;
* ITI-57 / inner part of ITI-41: :class:`SubmitObjectsRequest` (``lcm:SubmitObjectsRequest``);
* ITI-18 :class:`AdhocQueryRequest` / :class:`AdhocQueryResponse` (LeafClass or ObjectRef);
* ITI-43 :class:`RetrieveDocumentSetRequest` / :class:`RetrieveDocumentSetResponse`;
* :class:`RegistryResponse` with :class:`RegistryError` items (every XDS response).

:func:`parse_body` dispatches on the element; every ``to_element()`` builds the body element. Documents
travel as bytes in the model; messages with documents also have ``attachments()``, the MTOM
:class:`~conformance.soap.Attachment` list to send next to the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from lxml import etree

from conformance.soap import XOP, Attachment, SoapMessage
from conformance.xds.constants import LCM, QUERY, RIM, RS, XDSB, ErrorSeverity, ResponseStatus
from conformance.xds.ebrim import add_registry_objects, parse_registry_object_list
from conformance.xds.model import RegistryObjectList

NSMAP = {"rim": RIM, "rs": RS, "lcm": LCM, "query": QUERY, "xdsb": XDSB}


def _el(ns: str, local: str, parent: etree._Element | None = None, text: str | None = None,
        **attrib: str | None) -> etree._Element:
    clean = {k: v for k, v in attrib.items() if v is not None}
    element = (etree.SubElement(parent, f"{{{ns}}}{local}", clean) if parent is not None
               else etree.Element(f"{{{ns}}}{local}", clean, nsmap=NSMAP))
    if text is not None:
        element.text = text
    return element


def _child_text(element: etree._Element, ns: str, local: str) -> str | None:
    child = element.find(f"{{{ns}}}{local}")
    return (child.text or "").strip() if child is not None else None


def _cid(index: int, key: str) -> str:
    return f"doc{index}.{quote(key, safe='')}@dmp-conformance"


def _document_element(parent: etree._Element, local: str, content_id: str, **attrib: str | None) -> None:
    document = _el(XDSB, local, parent, **attrib)
    etree.SubElement(document, f"{{{XOP}}}Include", href=f"cid:{quote(content_id, safe='@.-_')}",
                     nsmap={"xop": XOP})


class XdsParseError(ValueError):
    """The body element is not an XDS message this module knows."""


# --- RegistryResponse -----------------------------------------------------------------------------------------

@dataclass(slots=True)
class RegistryError:
    error_code: str
    code_context: str = ""
    severity: str = ErrorSeverity.ERROR
    location: str | None = None
    value: str | None = None


@dataclass(slots=True)
class RegistryResponse:
    status: str = ResponseStatus.SUCCESS
    errors: list[RegistryError] = field(default_factory=list)
    element: etree._Element | None = field(default=None, compare=False, repr=False)  # the parsed XML, for locations

    @property
    def success(self) -> bool:
        return self.status == ResponseStatus.SUCCESS

    @classmethod
    def failure(cls, error_code: str, code_context: str, location: str | None = None) -> RegistryResponse:
        return cls(ResponseStatus.FAILURE, [RegistryError(error_code, code_context, location=location)])

    @classmethod
    def from_element(cls, element: etree._Element) -> RegistryResponse:
        return cls(element.get("status", ""), _parse_errors(element), element)

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(RS, "RegistryResponse", parent, status=self.status)
        _add_errors(element, self.errors)
        return element


def _parse_errors(element: etree._Element) -> list[RegistryError]:
    return [RegistryError(e.get("errorCode", ""), e.get("codeContext", ""), e.get("severity", ""),
                          e.get("location"), (e.text or "").strip() or None)
            for e in element.iterfind(f"{{{RS}}}RegistryErrorList/{{{RS}}}RegistryError")]


def _add_errors(element: etree._Element, errors: list[RegistryError]) -> None:
    if not errors:
        return
    error_list = _el(RS, "RegistryErrorList", element)
    for error in errors:
        _el(RS, "RegistryError", error_list, error.value, codeContext=error.code_context, errorCode=error.error_code,
            location=error.location, severity=error.severity)


# --- ITI-41 / ITI-57 ------------------------------------------------------------------------------------------

@dataclass(slots=True)
class SubmitObjectsRequest:
    """``lcm:SubmitObjectsRequest``: the metadata of ITI-41, or an ITI-57 update on its own."""

    metadata: RegistryObjectList = field(default_factory=RegistryObjectList)

    @classmethod
    def from_element(cls, element: etree._Element) -> SubmitObjectsRequest:
        objects = element.find(f"{{{RIM}}}RegistryObjectList")
        return cls(parse_registry_object_list(objects) if objects is not None else RegistryObjectList())

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(LCM, "SubmitObjectsRequest", parent)
        add_registry_objects(_el(RIM, "RegistryObjectList", element), self.metadata)
        return element


@dataclass(slots=True)
class ProvideAndRegisterRequest:
    """ITI-41: metadata plus documents keyed by ``xdsb:Document/@id`` (= a DocumentEntry id).

    ``unresolved`` lists Document ids whose content could not be found (an ``xop:Include`` to a missing
    part); it is filled by :meth:`from_message` and not compared.
    """

    metadata: RegistryObjectList = field(default_factory=RegistryObjectList)
    documents: dict[str, bytes] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list, compare=False)
    element: etree._Element | None = field(default=None, compare=False, repr=False)  # the parsed XML, for locations

    @classmethod
    def from_message(cls, message: SoapMessage) -> ProvideAndRegisterRequest:
        if message.body is None or message.body.tag != f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest":
            raise XdsParseError("the SOAP body is not an xdsb:ProvideAndRegisterDocumentSetRequest")
        submit = message.body.find(f"{{{LCM}}}SubmitObjectsRequest")
        request = cls(SubmitObjectsRequest.from_element(submit).metadata if submit is not None
                      else RegistryObjectList(), element=message.body)
        for document in message.body.iterfind(f"{{{XDSB}}}Document"):
            key = document.get("id", "")
            content = message.content_of(document)
            if content is None:
                request.unresolved.append(key)
            else:
                request.documents[key] = content
        return request

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(XDSB, "ProvideAndRegisterDocumentSetRequest", parent)
        SubmitObjectsRequest(self.metadata).to_element(element)
        for index, key in enumerate(self.documents):
            _document_element(element, "Document", _cid(index, key), id=key)
        return element

    def attachments(self) -> list[Attachment]:
        """The MTOM parts that the ``xop:Include`` of :meth:`to_element` reference."""
        mime_types = {d.id: d.mime_type for d in self.metadata.document_entries}
        return [Attachment(_cid(index, key), mime_types.get(key) or "application/octet-stream", content)
                for index, (key, content) in enumerate(self.documents.items())]


# --- ITI-43 ---------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class DocumentRequest:
    repository_unique_id: str
    document_unique_id: str
    home_community_id: str | None = None


@dataclass(slots=True)
class RetrieveDocumentSetRequest:
    documents: list[DocumentRequest] = field(default_factory=list)
    element: etree._Element | None = field(default=None, compare=False, repr=False)  # the parsed XML, for locations

    @classmethod
    def from_element(cls, element: etree._Element) -> RetrieveDocumentSetRequest:
        return cls([DocumentRequest(_child_text(r, XDSB, "RepositoryUniqueId") or "",
                                    _child_text(r, XDSB, "DocumentUniqueId") or "",
                                    _child_text(r, XDSB, "HomeCommunityId"))
                    for r in element.iterfind(f"{{{XDSB}}}DocumentRequest")], element)

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(XDSB, "RetrieveDocumentSetRequest", parent)
        for request in self.documents:
            item = _el(XDSB, "DocumentRequest", element)
            if request.home_community_id is not None:
                _el(XDSB, "HomeCommunityId", item, request.home_community_id)
            _el(XDSB, "RepositoryUniqueId", item, request.repository_unique_id)
            _el(XDSB, "DocumentUniqueId", item, request.document_unique_id)
        return element


@dataclass(slots=True)
class RetrievedDocument:
    repository_unique_id: str
    document_unique_id: str
    mime_type: str
    content: bytes | None  # None: the xop:Include pointed to a missing part
    home_community_id: str | None = None


@dataclass(slots=True)
class RetrieveDocumentSetResponse:
    response: RegistryResponse = field(default_factory=RegistryResponse)
    documents: list[RetrievedDocument] = field(default_factory=list)
    element: etree._Element | None = field(default=None, compare=False, repr=False)  # the parsed XML, for locations

    @classmethod
    def from_message(cls, message: SoapMessage) -> RetrieveDocumentSetResponse:
        body = message.body
        if body is None or body.tag != f"{{{XDSB}}}RetrieveDocumentSetResponse":
            raise XdsParseError("the SOAP body is not an xdsb:RetrieveDocumentSetResponse")
        registry = body.find(f"{{{RS}}}RegistryResponse")
        result = cls(RegistryResponse.from_element(registry) if registry is not None else RegistryResponse(""),
                     element=body)
        for item in body.iterfind(f"{{{XDSB}}}DocumentResponse"):
            document = item.find(f"{{{XDSB}}}Document")
            result.documents.append(RetrievedDocument(
                _child_text(item, XDSB, "RepositoryUniqueId") or "", _child_text(item, XDSB, "DocumentUniqueId") or "",
                _child_text(item, XDSB, "mimeType") or "",
                message.content_of(document) if document is not None else None,
                _child_text(item, XDSB, "HomeCommunityId")))
        return result

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(XDSB, "RetrieveDocumentSetResponse", parent)
        self.response.to_element(element)
        for index, document in enumerate(self.documents):
            item = _el(XDSB, "DocumentResponse", element)
            if document.home_community_id is not None:
                _el(XDSB, "HomeCommunityId", item, document.home_community_id)
            _el(XDSB, "RepositoryUniqueId", item, document.repository_unique_id)
            _el(XDSB, "DocumentUniqueId", item, document.document_unique_id)
            _el(XDSB, "mimeType", item, document.mime_type)
            _document_element(item, "Document", _cid(index, document.document_unique_id))
        return element

    def attachments(self) -> list[Attachment]:
        """The MTOM parts of the documents that have content (a None content stays an unresolved include)."""
        return [Attachment(_cid(index, d.document_unique_id), d.mime_type, d.content)
                for index, d in enumerate(self.documents) if d.content is not None]


# --- ITI-18 ---------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class AdhocQueryRequest:
    """A stored query: its id and its parameters as written (``'…'`` / ``('…','…')`` strings).

    Use :mod:`conformance.xds.queries` to build and decode parameter values.
    """

    query_id: str
    parameters: dict[str, list[str]] = field(default_factory=dict)
    return_type: str = "LeafClass"
    return_composed_objects: bool = True
    home_community_id: str | None = None
    element: etree._Element | None = field(default=None, compare=False, repr=False)  # the parsed XML, for locations

    @classmethod
    def from_element(cls, element: etree._Element) -> AdhocQueryRequest:
        option = element.find(f"{{{QUERY}}}ResponseOption")
        query = element.find(f"{{{RIM}}}AdhocQuery")
        parameters: dict[str, list[str]] = {}
        if query is not None:
            for slot in query.iterfind(f"{{{RIM}}}Slot"):
                values = [v.text or "" for v in slot.iterfind(f"{{{RIM}}}ValueList/{{{RIM}}}Value")]
                parameters.setdefault(slot.get("name", ""), []).extend(values)
        return cls(query.get("id", "") if query is not None else "", parameters,
                   option.get("returnType", "") if option is not None else "",
                   (option.get("returnComposedObjects", "false") == "true") if option is not None else False,
                   query.get("home") if query is not None else None, element)

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(QUERY, "AdhocQueryRequest", parent)
        _el(QUERY, "ResponseOption", element, returnComposedObjects="true" if self.return_composed_objects else "false",
            returnType=self.return_type)
        query = _el(RIM, "AdhocQuery", element, home=self.home_community_id, id=self.query_id)
        for name, values in self.parameters.items():
            value_list = _el(RIM, "ValueList", _el(RIM, "Slot", query, name=name))
            for value in values:
                _el(RIM, "Value", value_list, value)
        return element


@dataclass(slots=True)
class AdhocQueryResponse:
    status: str = ResponseStatus.SUCCESS
    objects: RegistryObjectList = field(default_factory=RegistryObjectList)
    errors: list[RegistryError] = field(default_factory=list)
    total_result_count: int | None = None
    start_index: int | None = None
    element: etree._Element | None = field(default=None, compare=False, repr=False)  # the parsed XML, for locations

    @classmethod
    def from_element(cls, element: etree._Element) -> AdhocQueryResponse:
        objects = element.find(f"{{{RIM}}}RegistryObjectList")

        def number(name: str) -> int | None:
            value = element.get(name)
            return int(value) if value is not None and value.strip().isdigit() else None

        return cls(element.get("status", ""),
                   parse_registry_object_list(objects) if objects is not None else RegistryObjectList(),
                   _parse_errors(element), number("totalResultCount"), number("startIndex"), element)

    def to_element(self, parent: etree._Element | None = None) -> etree._Element:
        element = _el(QUERY, "AdhocQueryResponse", parent, status=self.status,
                      startIndex=None if self.start_index is None else str(self.start_index),
                      totalResultCount=None if self.total_result_count is None else str(self.total_result_count))
        _add_errors(element, self.errors)
        add_registry_objects(_el(RIM, "RegistryObjectList", element), self.objects)
        return element


XdsMessage = (ProvideAndRegisterRequest | SubmitObjectsRequest | AdhocQueryRequest | AdhocQueryResponse
              | RetrieveDocumentSetRequest | RetrieveDocumentSetResponse | RegistryResponse)


def parse_body(message: SoapMessage) -> XdsMessage | None:
    """The XDS model of the message body, or None when the body is not an XDS message (HL7 v3, DMP SOAP…)."""
    body = message.body
    if body is None:
        return None
    tag = body.tag
    if tag == f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest":
        return ProvideAndRegisterRequest.from_message(message)
    if tag == f"{{{XDSB}}}RetrieveDocumentSetResponse":
        return RetrieveDocumentSetResponse.from_message(message)
    simple = {
        f"{{{LCM}}}SubmitObjectsRequest": SubmitObjectsRequest,
        f"{{{QUERY}}}AdhocQueryRequest": AdhocQueryRequest,
        f"{{{QUERY}}}AdhocQueryResponse": AdhocQueryResponse,
        f"{{{XDSB}}}RetrieveDocumentSetRequest": RetrieveDocumentSetRequest,
        f"{{{RS}}}RegistryResponse": RegistryResponse,
    }
    kind = simple.get(tag)
    return kind.from_element(body) if kind is not None else None  # type: ignore[attr-defined]
