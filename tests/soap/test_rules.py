"""Every ``soap`` rule: valid requests/responses pass; one mutation per rule makes it fire."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

import conformance.soap.rules  # noqa: F401  (registers the rules)
from conformance.findings import Finding, rules
from conformance.soap import (
    SOAP11,
    SOAP12,
    WSA,
    WSA_ANONYMOUS,
    WSSE,
    SoapFault,
    build_envelope,
    build_fault,
    parse_message,
    to_bytes,
)
from conformance.soap.mtom import build_mtom
from conformance.soap.rules import SoapCheck
from conformance.soap.transactions import BY_TD, detect_transaction
from conformance.xds import Action
from conformance.xds.queries import find_documents

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
PATIENT = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"


def _security() -> etree._Element:
    security = etree.Element(f"{{{WSSE}}}Security")
    etree.SubElement(security, f"{{{SAML}}}Assertion", ID="_1")
    return security


def request_envelope() -> etree._Element:
    return build_envelope(find_documents(PATIENT).to_element(), action=Action.ITI18, to="", security=_security())


def response_envelope() -> etree._Element:
    body = etree.Element("{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryResponse",
                         status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
    return build_envelope(body, action=Action.ITI57_RESPONSE, reply_to=None, to=WSA_ANONYMOUS,
                          relates_to="urn:uuid:1")


def run(envelope: etree._Element, content_type: str | None = None, *, mtom: bool = True) -> list[Finding]:
    """The soap findings on ``envelope`` sent as MTOM (as the registry/repository bindings want) or plain."""
    if content_type is None and mtom:
        action = envelope.findtext(f"*/{{{WSA}}}Action")
        data, content_type = build_mtom(envelope, [], action=action)
    else:
        data = to_bytes(envelope)
    message = parse_message(data, content_type)
    return rules.run("soap", SoapCheck(message, detect_transaction(message), content_type))


@pytest.mark.parametrize("make", [request_envelope, response_envelope], ids=["request", "response"])
def test_valid_messages_pass(make: Callable[[], etree._Element]):
    assert run(make()) == []


def test_plain_soap_is_accepted_for_non_mtom_services():
    envelope = build_envelope(etree.Element("{urn:si-dmp-patients}patientList"),
                              action="urn:si-dmp-patients:PatientSpecificEndPoint:patientList", security=_security())
    assert run(envelope, mtom=False) == []


def test_valid_fault_passes():
    fault = build_fault(SoapFault("Sender", "certificat invalide", ["DMPInvalidCertificate"]), relates_to="urn:uuid:1")
    assert run(fault) == []


def _header(envelope: etree._Element, local: str, namespace: str = WSA) -> etree._Element:
    found = envelope.find(f"{{{SOAP12}}}Header/{{{namespace}}}{local}")
    assert found is not None
    return found


def _remove(local: str, namespace: str = WSA) -> Callable[[etree._Element], None]:
    def mutate(envelope: etree._Element) -> None:
        element = _header(envelope, local, namespace)
        element.getparent().remove(element)
    return mutate


def _text(local: str, value: str) -> Callable[[etree._Element], None]:
    def mutate(envelope: etree._Element) -> None:
        _header(envelope, local).text = value
    return mutate


def _soap11(envelope: etree._Element) -> etree._Element:
    data = to_bytes(envelope).replace(SOAP12.encode(), SOAP11.encode())
    return etree.fromstring(data)


def _wrong_body(envelope: etree._Element) -> None:
    body = envelope.find(f"{{{SOAP12}}}Body")
    body.remove(body[0])
    etree.SubElement(body, "{urn:ihe:iti:xds-b:2007}RetrieveDocumentSetRequest")


def _inline_document(envelope: etree._Element) -> None:
    _header(envelope, "Action").text = Action.ITI41
    body = envelope.find(f"{{{SOAP12}}}Body")
    body.remove(body[0])
    request = etree.SubElement(body, "{urn:ihe:iti:xds-b:2007}ProvideAndRegisterDocumentSetRequest")
    etree.SubElement(request, "{urn:ihe:iti:xds-b:2007}Document", id="Doc01").text = "aGVsbG8="


def _second_assertion(envelope: etree._Element) -> None:
    etree.SubElement(_header(envelope, "Security", WSSE), f"{{{SAML}}}Assertion", ID="_2")


def _no_must_understand(envelope: etree._Element) -> None:
    _header(envelope, "Action").attrib.clear()


def _duplicate_message_id(envelope: etree._Element) -> None:
    header = envelope.find(f"{{{SOAP12}}}Header")
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = "urn:uuid:2"


def _obsolete(envelope: etree._Element) -> None:
    _header(envelope, "Action").text = BY_TD["TD1.5a"].request_action
    body = envelope.find(f"{{{SOAP12}}}Body")
    body.remove(body[0])
    etree.SubElement(body, BY_TD["TD1.5a"].request_element)


def _bad_fault(_envelope: etree._Element) -> etree._Element:
    return build_fault(SoapFault("DMPError", ""), relates_to="urn:uuid:1")


REQUEST_MUTATIONS: dict[str, Callable[[etree._Element], etree._Element | None]] = {
    "BENCH-SOAP-VERSION": _soap11,
    "BENCH-WSA-ACTION": _remove("Action"),
    "BENCH-WSA-ACTION-KNOWN": _text("Action", "urn:example:Unknown"),
    "BENCH-WSA-MESSAGEID": _remove("MessageID"),
    "BENCH-WSA-REPLYTO": _remove("ReplyTo"),
    "BENCH-WSA-MUSTUNDERSTAND": _no_must_understand,
    "BENCH-WSA-UNIQUE": _duplicate_message_id,
    "BENCH-SOAP-SECURITY": _second_assertion,
    "BENCH-SOAP-BODY-ACTION": _wrong_body,
    "BENCH-MTOM-XOP-DOCUMENTS": _inline_document,
    "BENCH-SOAP-FAULT": _bad_fault,
    "BENCH-SOAP-OBSOLETE": _obsolete,
}
RESPONSE_MUTATIONS: dict[str, Callable[[etree._Element], etree._Element | None]] = {
    "BENCH-WSA-RELATESTO": _remove("RelatesTo"),
    "BENCH-WSA-TO-RESPONSE": _text("To", "http://client.example/endpoint"),
}
# Properties of the HTTP message rather than of the envelope: the MIME action, the MTOM packaging
CONTENT_TYPE_CASES = {"BENCH-SOAP-MIME-ACTION": 'application/soap+xml; action="urn:example:other"'}
PLAIN_SOAP_CASES = {"BENCH-MTOM-REQUIRED"}


def test_every_soap_rule_has_a_failing_case():
    registered = {r.id for r in rules.of_kind("soap")}
    assert registered == set(REQUEST_MUTATIONS) | set(RESPONSE_MUTATIONS) | set(CONTENT_TYPE_CASES) | PLAIN_SOAP_CASES


@pytest.mark.parametrize("rule_id", [pytest.param(r, marks=pytest.mark.requirement(r))
                                     for r in sorted(REQUEST_MUTATIONS) + sorted(RESPONSE_MUTATIONS)])
def test_rule_fires(rule_id: str):
    make, mutate = ((request_envelope, REQUEST_MUTATIONS[rule_id]) if rule_id in REQUEST_MUTATIONS
                    else (response_envelope, RESPONSE_MUTATIONS[rule_id]))
    envelope = make()
    replaced = mutate(envelope)
    if replaced is not None:
        envelope = replaced
    assert rule_id in {f.rule for f in run(envelope)}


@pytest.mark.parametrize("rule_id", [pytest.param(r, marks=pytest.mark.requirement(r)) for r in sorted(CONTENT_TYPE_CASES)])
def test_content_type_rules(rule_id: str):
    assert rule_id in {f.rule for f in run(request_envelope(), CONTENT_TYPE_CASES[rule_id])}
    assert rule_id not in {f.rule for f in run(request_envelope(), f'application/soap+xml; action="{Action.ITI18}"')}


@pytest.mark.parametrize("rule_id", [pytest.param(r, marks=pytest.mark.requirement(r)) for r in sorted(PLAIN_SOAP_CASES)])
def test_plain_soap_rules(rule_id: str):
    assert rule_id in {f.rule for f in run(request_envelope(), mtom=False)}
    assert rule_id not in {f.rule for f in run(request_envelope())}
