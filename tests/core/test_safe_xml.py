import pytest

from conformance.xml import UnsafeXmlError, XmlInputError, parse_xml, precheck_findings, xpath_of


def test_parses_plain_xml():
    tree = parse_xml(b"<a xmlns='urn:hl7-org:v3'><b/><b><c/></b></a>")
    c = tree.getroot()[1][0]
    assert xpath_of(c) == "/cda:a/cda:b[2]/cda:c"


@pytest.mark.parametrize("payload,rule", [
    (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "XML-ENTITY"),
    (b'<!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><a>&b;</a>', "XML-ENTITY"),
    (b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>', "XML-EXTERNAL-DTD"),
])
def test_refuses_entities_and_external_dtds(payload, rule):
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(payload)
    assert info.value.rule == rule
    assert info.value.to_finding().severity == "error"


def test_malformed_xml_has_a_line():
    with pytest.raises(XmlInputError) as info:
        parse_xml(b"<a>\n<b>\n</a>")
    assert info.value.line == 3 and info.value.rule == "XML-WELLFORMED"


def test_size_and_depth_limits():
    with pytest.raises(UnsafeXmlError, match="exceeds"):
        parse_xml(b"<a/>" + b" " * 100, max_bytes=50)
    deep = b"<a>" * 300 + b"</a>" * 300
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(deep)
    assert info.value.rule == "XML-DEPTH"


def test_prechecks_bom_charset_and_invalid_utf8():
    assert [f.rule for f in precheck_findings(b"\xef\xbb\xbf<a/>")] == ["XML-BOM"]
    assert [f.rule for f in precheck_findings(b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>')] == ["XML-ENCODING"]
    [finding] = precheck_findings(b'<?xml version="1.0" encoding="UTF-8"?>\n<a>caf\xe9</a>')
    assert finding.rule == "XML-UTF8" and finding.line == 2
    assert precheck_findings(b'<?xml version="1.0" encoding="UTF-8"?><a>caf\xc3\xa9</a>') == []
