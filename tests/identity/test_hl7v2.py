"""HL7 v2 CX/XCN/XON: the DMP examples, escaping, round trips and precise errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.identity import Cx, Hd, Hl7V2Error, Xcn, Xon
from conformance.identity.hl7v2 import escape, unescape

EXAMPLES = [
    (Xcn, "899900063480^MAX^LIBRE^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"),
    (Xon, "CABINET DR LIBRE^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^499900063480001"),
    (Cx, "207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH"),
    (Cx, "207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH^^20100907"),
]
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


@pytest.mark.parametrize(("datatype", "value"), EXAMPLES)
def test_official_examples_round_trip(datatype: type[Cx | Xcn | Xon], value: str) -> None:
    assert datatype.parse(value).format() == value


def test_parsed_fields() -> None:
    person = Xcn.parse(EXAMPLES[0][1])
    assert (person.id, person.family, person.given, person.name_type_code, person.identifier_type_code) == (
        "899900063480", "MAX", "LIBRE", "D", "IDNPS")
    assert person.assigning_authority == Hd.iso("1.2.250.1.71.4.2.1")
    organisation = Xon.parse(EXAMPLES[1][1])
    assert (organisation.name, organisation.organization_identifier) == ("CABINET DR LIBRE", "499900063480001")


@given(values)
def test_escape_round_trip(text: str) -> None:
    assert unescape(escape(text)) == text


@given(values, values, values, values)
def test_xcn_and_xon_round_trip(id_: str, family: str, given_name: str, name: str) -> None:
    person = Xcn(id_, family, given_name, assigning_authority=Hd.iso("1.2.250.1.71.4.2.1"), name_type_code="D",
                 identifier_type_code="IDNPS")
    assert Xcn.parse(person.format()) == person
    organisation = Xon(name, Hd.iso("1.2.250.1.71.4.2.2"), "IDNST", id_)
    assert Xon.parse(organisation.format()) == organisation


@given(values.filter(bool))
def test_cx_round_trip(id_: str) -> None:
    cx = Cx(id_, Hd.iso("1.2.250.1.213.1.4.10"))
    assert Cx.parse(cx.format()) == cx


@pytest.mark.parametrize(("datatype", "value", "fragment", "position"), [
    (Xcn, "1^a\\X\\b", "invalid escape sequence", 3),
    (Xcn, "1^a\\S", "invalid escape sequence", 3),
    (Xcn, "1^a&b", "must not contain '&'", 3),
    (Xcn, "1|2", "unescaped '|'", 1),
    (Xcn, "1^^^^^^deg", "XCN.7 is not used", None),
    (Xcn, "^" * 13 + "x", "at most 13 components", 12),
    (Cx, "^^^&1.2.250&ISO^NH", "CX.1 (the identifier) is empty", 0),
    (Cx, "1^^^&1.2.250&IS^NH", "universal id type must be ISO", 4),
    (Cx, "1^^^^NH", "CX.4 assigning authority", None),
    (Xon, "N^x^^^^&1.2&ISO^IDNST", "XON.2 is not used", None),
])
def test_precise_parse_errors(datatype: type[Cx | Xcn | Xon], value: str, fragment: str,
                              position: int | None) -> None:
    with pytest.raises(Hl7V2Error) as caught:
        datatype.parse(value)
    assert fragment in str(caught.value)
    assert caught.value.position == position
