import contextlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.soap import (
    XOP,
    Attachment,
    MtomError,
    MtomLimits,
    SoapError,
    build_envelope,
    build_mtom,
    parse_content_type,
    parse_message,
    parse_mtom,
)
from conformance.soap.mtom import split_http_message


def _envelope_with_include(cid: str) -> etree._Element:
    document = etree.Element("{urn:ihe:iti:xds-b:2007}Document", id="Doc01")
    etree.SubElement(document, f"{{{XOP}}}Include", href=f"cid:{cid.replace('@', '%40')}")
    return build_envelope(document, action="urn:test:Put")


def _message(data: bytes = b"%PDF binary \r\n--not-a-boundary\r\n\x00\xff") -> tuple[bytes, str]:
    return build_mtom(_envelope_with_include("doc1@x"), [Attachment("doc1@x", "application/pdf", data)],
                      action="urn:test:Put")


def test_parse_content_type_quoted_params():
    media, params = parse_content_type('Multipart/Related; type="application/xop+xml"; boundary="a;b"; '
                                       'start="<root>"; start-info="application/soap+xml"')
    assert media == "multipart/related"
    assert params == {"type": "application/xop+xml", "boundary": "a;b", "start": "<root>",
                      "start-info": "application/soap+xml"}


@given(st.binary(max_size=2000))
def test_attachment_bytes_survive_build_and_parse(data):
    body, content_type = _message(data)
    message = parse_message(body, content_type)
    assert message.action == "urn:test:Put" and message.mime_action == "urn:test:Put"
    assert message.content_of(message.body) == data
    assert message.findings == []


def test_streaming_in_small_chunks_gives_the_same_parts():
    body, content_type = _message(os.urandom(5000))
    whole = parse_mtom(body, content_type)
    chunked = parse_mtom((body[i:i + 7] for i in range(0, len(body), 7)), content_type)
    assert whole.attachments == chunked.attachments
    assert bytes(whole.root.data) == bytes(chunked.root.data)


def test_root_found_by_start_parameter_even_when_not_first():
    body, content_type = _message()
    text = body.decode("latin-1")
    boundary = parse_content_type(content_type)[1]["boundary"]
    delimiter = f"--{boundary}\r\n"
    parts = text.split(delimiter)
    # parts: ['', root, attachment+closing]; swap root and attachment (keep the closing delimiter last)
    attachment, closing = parts[2].rsplit(f"\r\n--{boundary}--", 1)
    swapped = f"{delimiter}{attachment}\r\n{delimiter}{parts[1].removesuffix(chr(13) + chr(10))}\r\n--{boundary}--{closing}"
    message = parse_message(swapped.encode("latin-1"), content_type)
    assert message.body is not None and message.content_of(message.body) is not None


REAL = "the message's own Content-Type"


@pytest.mark.parametrize("mutate,content_type,rule", [
    (lambda b: b[: len(b) // 2], REAL, "BENCH-MTOM-TRUNCATED"),
    (lambda b: b, 'multipart/related; type="application/xop+xml"', "BENCH-MTOM-BOUNDARY"),
    (lambda b: b, 'multipart/related; boundary="nope"', "BENCH-MTOM-BOUNDARY"),
    (lambda b: b, "application/soap+xml", "BENCH-MTOM-CONTENT-TYPE"),
    (lambda b: b, None, "BENCH-MTOM-CONTENT-TYPE"),
    (lambda b: b.replace(b"Content-ID: <root", b"Content-ID: <other", 1), REAL, "BENCH-MTOM-START"),
])
def test_hostile_bodies_raise_precise_errors(mutate, content_type, rule):
    body, real_type = _message()
    with pytest.raises(MtomError) as info:
        parse_message(mutate(body), real_type if content_type is REAL else content_type)
    assert info.value.rule == rule
    assert info.value.to_finding().message


@pytest.mark.parametrize("limits,rule", [
    (MtomLimits(max_total=1000), "BENCH-MTOM-SIZE"),
    (MtomLimits(max_part=100), "BENCH-MTOM-PART-SIZE"),
    (MtomLimits(max_parts=1), "BENCH-MTOM-PART-COUNT"),
])
def test_size_limits(limits, rule):
    body, content_type = _message(b"x" * 2000)
    with pytest.raises(MtomError) as info:
        parse_message(body, content_type, limits=limits)
    assert info.value.rule == rule


def test_lenient_mode_reads_an_lf_capture_without_headers_and_says_so():
    body, _ = _message(b"plain text attachment")
    legacy = body.replace(b"\r\n", b"\n")
    with pytest.raises(MtomError):
        parse_message(legacy)
    message = parse_message(legacy, lenient=True)
    assert {f.rule for f in message.findings} == {"BENCH-MTOM-LEGACY-NO-HEADERS", "BENCH-MTOM-LEGACY-LF"}
    assert all(not f.is_error for f in message.findings)
    assert message.content_of(message.body) == b"plain text attachment"


def test_missing_part_is_reported_not_raised():
    body, content_type = build_mtom(_envelope_with_include("absent@x"), [], action="urn:test:Put")
    message = parse_message(body, content_type)
    assert [f.rule for f in message.findings] == ["BENCH-MTOM-XOP-UNRESOLVED"]


@given(st.binary(max_size=300), st.sampled_from([None, 'multipart/related; boundary="b"', "text/xml"]))
def test_random_bytes_never_crash(data, content_type):
    # only the typed SoapError (MtomError is one) may escape; anything else is a defect
    with contextlib.suppress(SoapError):
        parse_message(b"--b\r\n" + data, content_type, lenient=True)


def test_parse_message_streams_chunks():
    body, content_type = _message(b"streamed attachment")
    chunks = (body[i:i + 5] for i in range(0, len(body), 5))
    message = parse_message(chunks, content_type)
    assert message.mtom and message.content_of(message.body) == b"streamed attachment"


def test_parse_message_joins_plain_chunks_within_the_limit():
    data = b"<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope'><e:Body><x/></e:Body></e:Envelope>"
    assert parse_message(iter([data[:10], data[10:]]), "application/soap+xml").body is not None
    with pytest.raises(MtomError) as info:
        parse_message(iter([data, data]), "application/soap+xml", limits=MtomLimits(max_total=len(data)))
    assert info.value.rule == "BENCH-MTOM-SIZE"


def test_non_iana_charset_is_a_warning():
    body, content_type = build_mtom(_envelope_with_include("doc1@x"),
                                    [Attachment("doc1@x", "text/xml; charset=Cp1252", b"<a/>")])
    message = parse_message(body, content_type)
    assert [f.rule for f in message.findings] == ["BENCH-MTOM-CHARSET"]
    assert not message.findings[0].is_error


@pytest.mark.parametrize("replace,rule", [
    (('type="application/xop+xml"', 'type="text/xml"'), "BENCH-MTOM-PARAMS"),
    (('start-info="application/soap+xml"', 'start-info="text/xml"'), "BENCH-MTOM-PARAMS"),
])
def test_multipart_parameters_are_checked(replace, rule):
    body, content_type = _message(b"x")
    message = parse_message(body, content_type.replace(*replace))
    assert [f.rule for f in message.findings] == [rule]


def test_root_part_type_is_checked():
    body, content_type = _message(b"x")
    message = parse_message(body.replace(b"Content-Type: application/xop+xml", b"Content-Type: text/xml", 1),
                            content_type)
    assert [f.rule for f in message.findings] == ["BENCH-MTOM-ROOT-TYPE"]


@pytest.mark.parametrize("data,expected", [
    (b"POST /x HTTP/1.1\r\nContent-Type: multipart/related;\r\n boundary=b\r\n\r\nBODY",
     ({"content-type": "multipart/related; boundary=b"}, b"BODY")),
    (b"Content-Type: text/xml\n\nBODY", ({"content-type": "text/xml"}, b"BODY")),
    (b"--boundary\r\nContent-Type: text/xml\r\n\r\nBODY", None),
    (b"<soap:Envelope/>", None),
    (b"Content-Type: text/xml\r\nno blank line", None),
])
def test_split_http_message(data, expected):
    assert split_http_message(data) == expected
