"""What a third-party integrator needs to point zeep at the DMP: the official WSDLs loaded offline, the VIHF in
``wsse:Security``, the two WS-Addressing details the DMP expects beyond zeep's, and one workaround for a zeep gap
(XSD substitution groups).

Nothing here builds DMP messages: zeep builds them from the annex WSDL/XSD, as any LPS generated from the WSDL
would. WS-Addressing (Action, MessageID, To) is added by zeep itself: its ``WsAddressingPlugin`` runs on every
operation whose WSDL input carries ``wsaw:Action``, which all three annex WSDLs do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from lxml import etree
from requests.adapters import BaseAdapter, HTTPAdapter
from zeep import Client, Plugin, Settings
from zeep.proxy import ServiceProxy
from zeep.transports import Transport
from zeep.wsdl.utils import get_or_create_header

from conformance.client import VihfFactory
from conformance.soap import WSA_ANONYMOUS
from conformance.xml import NAMESPACES, parse_xml

XSD = "http://www.w3.org/2001/XMLSchema"
XSI = NAMESPACES["xsi"]
WSA = NAMESPACES["wsa"]


class NetworkRefused(BaseAdapter):
    """Refuses every request it is mounted for, and remembers the URLs zeep tried (schemas, imports...)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[str] = []

    def send(self, request: requests.PreparedRequest, *_args: Any, **_kwargs: Any) -> requests.Response:
        self.attempts.append(str(request.url))
        raise requests.ConnectionError(f"network access refused by the interop bench: {request.url}")

    def close(self) -> None:
        pass


@dataclass
class OfflineSession:
    """A requests session that reaches only the servers it is told about (the running reference DMPs);
    zeep reads the WSDL and XSD files from disk without it."""

    session: requests.Session = field(default_factory=requests.Session)
    refused: NetworkRefused = field(default_factory=NetworkRefused)

    def __post_init__(self) -> None:
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, self.refused)

    def allow(self, base_url: str) -> None:
        # requests picks the adapter with the longest matching prefix: this server only, nothing else
        self.session.mount(base_url.rstrip("/") + "/", HTTPAdapter())


class VihfPlugin(Plugin):  # type: ignore[misc]  # zeep ships no type information
    """Adds ``wsse:Security`` with a fresh VIHF (signed or not, as the factory makes it) for ``patient``."""

    def __init__(self, factory: VihfFactory, patient: str | None = None) -> None:
        self.factory = factory
        self.patient = patient

    def egress(
        self, envelope: etree._Element, http_headers: dict[str, str], operation: Any, binding_options: Any
    ) -> tuple[etree._Element, dict[str, str]]:
        get_or_create_header(envelope).append(self.factory(self.patient))
        return envelope, http_headers

    @contextmanager
    def acting(self, *, patient: str | None = None, factory: VihfFactory | None = None) -> Iterator[None]:
        """Calls made inside use another patient and/or VIHF factory."""
        saved = self.patient, self.factory
        self.patient, self.factory = patient or self.patient, factory or self.factory
        try:
            yield
        finally:
            self.patient, self.factory = saved


class DmpAddressingPlugin(Plugin):  # type: ignore[misc]
    """What zeep's WS-Addressing lacks for the DMP: ``wsa:ReplyTo`` anonymous (BENCH-WSA-REPLYTO, an error) and
    ``mustUnderstand="true"`` on ``wsa:Action`` (BENCH-WSA-MUSTUNDERSTAND), as in the official requests. Runs
    after zeep's own ``WsAddressingPlugin`` (Action, MessageID, To)."""

    def egress(
        self, envelope: etree._Element, http_headers: dict[str, str], operation: Any, binding_options: Any
    ) -> tuple[etree._Element, dict[str, str]]:
        header = get_or_create_header(envelope)
        action = header.find(f"{{{WSA}}}Action")
        if action is not None:
            action.set(f"{{{etree.QName(envelope).namespace}}}mustUnderstand", "true")
        if header.find(f"{{{WSA}}}ReplyTo") is None:
            etree.SubElement(
                etree.SubElement(header, f"{{{WSA}}}ReplyTo"), f"{{{WSA}}}Address"
            ).text = WSA_ANONYMOUS
        return envelope, http_headers


def _qname(element: etree._Element, prefixed: str) -> etree.QName:
    prefix, _, local = prefixed.rpartition(":")
    return etree.QName(element.nsmap.get(prefix or None), local)


def _refs(content: etree._Element) -> set[str]:
    return {
        _qname(ref, ref.get("ref", "")).text for ref in content.iter(f"{{{XSD}}}element") if ref.get("ref")
    }


@dataclass(frozen=True, slots=True)
class Substitute:
    head: str  # the element the content model declares (Clark notation)
    xsd_type: etree.QName  # the member's own type, for xsi:type


def substitution_groups(schema_files: Sequence[Path]) -> dict[str, dict[str, Substitute]]:
    """``{container: {member: Substitute}}``: for each global element whose content refers to the head of a
    substitution group, the members that may stand in the head's place there (Clark notation).

    Context matters: ``rim:Classification`` substitutes for ``rim:Identifiable`` in ``rim:RegistryObjectList``
    but is declared as itself inside an ``rim:ExtrinsicObject``."""
    heads: dict[str, str] = {}  # member -> head
    element_types: dict[str, etree.QName] = {}
    type_refs: dict[str, set[str]] = {}  # complexType -> elements its content refers to
    anonymous_refs: dict[str, set[str]] = {}  # global element with an inline type -> same
    for path in schema_files:
        schema = parse_xml(path.read_bytes()).getroot()
        target = schema.get("targetNamespace")
        for element in schema.iterfind(f"{{{XSD}}}element[@name]"):
            name = etree.QName(target, element.get("name", "")).text
            if element.get("substitutionGroup"):
                heads[name] = _qname(element, element.get("substitutionGroup", "")).text
            if element.get("type"):
                element_types[name] = _qname(element, element.get("type", ""))
            else:
                anonymous_refs[name] = _refs(element)
        for complex_type in schema.iterfind(f"{{{XSD}}}complexType[@name]"):
            type_refs[etree.QName(target, complex_type.get("name", "")).text] = _refs(complex_type)

    def chain(member: str) -> Iterator[str]:  # AdhocQuery -> RegistryObject -> Identifiable
        while member in heads:
            member = heads[member]
            yield member

    groups: dict[str, dict[str, Substitute]] = {}
    for container in {*element_types, *anonymous_refs}:
        xsd_type = element_types.get(container)
        accepted = type_refs.get(xsd_type.text, set()) if xsd_type is not None else anonymous_refs[container]
        members = {
            member: Substitute(head, element_types[member])
            for member in heads
            if member in element_types
            for head in chain(member)
            if head in accepted and member not in accepted
        }
        if members:
            groups[container] = members
    return groups


class SubstitutionGroupPlugin(Plugin):  # type: ignore[misc]
    """zeep ignores ``substitutionGroup`` (python-zeep issue #321, PR #433 never merged): an
    ``rim:ExtrinsicObject`` where the schema says ``rim:Identifiable`` is an "Unexpected element". Before zeep
    reads an answer, each member standing for its head becomes the head element with an ``xsi:type`` naming
    the member's type: the same instance in a form zeep understands (it honours ``xsi:type``)."""

    def __init__(self, groups: dict[str, dict[str, Substitute]]) -> None:
        self.groups = groups

    def ingress(
        self, envelope: etree._Element, http_headers: dict[str, str], operation: Any
    ) -> tuple[etree._Element, dict[str, str]]:
        for container in envelope.iter(*self.groups):
            members = self.groups[container.tag]
            for element in container.iterchildren(*members):
                substitute = members[element.tag]
                prefix = next(
                    (p for p, ns in element.nsmap.items() if ns == substitute.xsd_type.namespace), ""
                )
                if prefix == "" and element.nsmap.get(None) != substitute.xsd_type.namespace:
                    continue  # the type's namespace is not in scope: leave the element to zeep as it is
                element.tag = substitute.head
                local = substitute.xsd_type.localname
                element.set(f"{{{XSI}}}type", f"{prefix}:{local}" if prefix else local)
        return envelope, http_headers


def zeep_client(
    wsdl: Path, offline: OfflineSession, plugins: Sequence[Plugin] = (), *, strict: bool = True
) -> Client:
    """zeep on an annex WSDL, offline. Every annex WSDL loads with zeep's strict settings; ``strict=False`` only
    changes how answers are read (unexpected elements are dropped instead of refused)."""
    return Client(
        str(wsdl),
        transport=Transport(session=offline.session),
        plugins=list(plugins),
        settings=Settings(strict=strict),
    )


def service(client: Client, binding: str, address: str) -> ServiceProxy:
    """The WSDL binding ``binding`` (Clark notation) at ``address`` instead of the annex's production URL."""
    return client.create_service(binding, address)
