import pytest
from lxml import etree

from conformance.soap import (
    SOAP11,
    SOAP12,
    WSA_ANONYMOUS,
    WSSE,
    SoapError,
    SoapFault,
    SoapVersion,
    build_envelope,
    build_fault,
    parse_envelope,
    to_bytes,
)


def _body() -> etree._Element:
    element = etree.Element("{urn:test}Ping")
    element.text = "ping"
    return element


def test_build_then_parse_request_keeps_addressing():
    security = etree.Element(f"{{{WSSE}}}Security")
    envelope = build_envelope(_body(), action="urn:test:Ping", message_id="urn:uuid:1", to="http://dmp/x",
                              security=security)
    message = parse_envelope(to_bytes(envelope))
    assert message.version is SoapVersion.SOAP12
    assert (message.action, message.message_id, message.to, message.reply_to) == (
        "urn:test:Ping", "urn:uuid:1", "http://dmp/x", WSA_ANONYMOUS)
    assert message.security is not None and message.security.tag == f"{{{WSSE}}}Security"
    assert message.body is not None and message.body.text == "ping"
    assert message.findings == []


def test_response_has_relates_to_and_no_reply_to():
    envelope = build_envelope(_body(), action="urn:test:PingResponse", relates_to="urn:uuid:1", reply_to=None,
                              to=WSA_ANONYMOUS)
    message = parse_envelope(to_bytes(envelope))
    assert message.relates_to == "urn:uuid:1" and message.reply_to is None


def test_soap11_is_accepted():
    data = f"<e:Envelope xmlns:e='{SOAP11}'><e:Body><x/></e:Body></e:Envelope>".encode()
    message = parse_envelope(data)
    assert message.version is SoapVersion.SOAP11 and message.body is not None
    assert message.findings == []


@pytest.mark.parametrize("data,rule", [
    (b"<a/>", "BENCH-SOAP-ENVELOPE"),
    (f"<e:Envelope xmlns:e='{SOAP12}'/>".encode(), "BENCH-SOAP-BODY"),
    (b"<e:Envelope", "XML-WELLFORMED"),
    (b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "XML-ENTITY"),
])
def test_bad_envelopes_raise_typed_errors(data, rule):
    with pytest.raises(SoapError) as info:
        parse_envelope(data)
    assert info.value.rule == rule
    assert info.value.to_finding().is_error


@pytest.mark.parametrize("version", list(SoapVersion))
def test_fault_round_trip(version):
    detail = etree.Element("{urn:test}info")
    fault = SoapFault("Sender", "certificat invalide", ["DMPInvalidCertificate"] if version is SoapVersion.SOAP12
                      else [], detail=detail)
    message = parse_envelope(to_bytes(build_fault(fault, relates_to="urn:uuid:9", version=version)))
    assert message.fault is not None
    assert (message.fault.code, message.fault.reason, message.fault.subcodes) == (
        "Sender", "certificat invalide", fault.subcodes)
    assert message.fault.detail is not None and message.relates_to == "urn:uuid:9"


def test_unresolved_xop_include_is_reported():
    data = (f"<e:Envelope xmlns:e='{SOAP12}'><e:Body><d xmlns:xop='http://www.w3.org/2004/08/xop/include'>"
            "<xop:Include href='cid:missing%40x'/></d></e:Body></e:Envelope>").encode()
    message = parse_envelope(data)
    assert [f.rule for f in message.findings] == ["BENCH-MTOM-XOP-UNRESOLVED"]
    assert message.content_of(message.body) is None


@pytest.mark.parametrize("text,content", [("aGVsbG8=", b"hello"), ("aGVs\n bG8=", b"hello"), ("not base64!", None)])
def test_content_of_base64_inline(text, content):
    data = f"<e:Envelope xmlns:e='{SOAP12}'><e:Body><d>{text}</d></e:Body></e:Envelope>".encode()
    message = parse_envelope(data)
    assert message.content_of(message.body) == content
