"""Building and reading VIHF assertions: round trips, both attribute spellings, envelopes, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.vihf import (
    AuthMode,
    CodedValue,
    Vihf,
    VihfError,
    build_vihf,
    format_instant,
    new_vihf,
    parse_instant,
    parse_vihf,
    vihf_to_bytes,
)
from conformance.vihf.model import AUTH_MODE_KIT_SPELLING, SAML_NS

from .helpers import envelope

S = f"{{{SAML_NS}}}"


@pytest.mark.parametrize("mode", list(AuthMode))
def test_round_trip_of_each_mode(mode: AuthMode) -> None:
    vihf = new_vihf(mode, issuer="CN=X,O=TEST,C=FR")
    assert parse_vihf(build_vihf(vihf)) == vihf
    assert parse_vihf(vihf_to_bytes(vihf)) == vihf


def test_round_trip_of_every_optional_field() -> None:
    now = dt.datetime(2026, 5, 4, 3, 2, 1, 123000, tzinfo=dt.UTC)
    vihf = new_vihf(AuthMode.INDIRECTE_RENFORCEE, issue_instant=now, confidentiality_code="INVISIBLE_REPRESENTANTS_LEGAUX",
                    mode_acces_raas="MODE_RAAS", not_before=now, not_on_or_after=now + dt.timedelta(hours=1),
                    audiences=["urn:a"], name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    authn_instant=now - dt.timedelta(minutes=5), other_attributes={"Custom": ["a", "b"]},
                    purpose_of_use=CodedValue("bris_de_glace", "1.2.250.1.213.1.1.4.248", "Bris de glace"))
    assert parse_vihf(build_vihf(vihf)) == vihf


def test_the_official_attribute_order_and_typing_are_emitted() -> None:
    element = build_vihf(new_vihf(AuthMode.INDIRECTE))
    names = [a.get("Name") for a in element.iterfind(f"{S}AttributeStatement/{S}Attribute")]
    assert names == ["Identifiant_Structure", "Secteur_Activite", "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
                     "urn:oasis:names:tc:xacml:2.0:subject:role", "VIHF_Version", "Authentification_mode",
                     "urn:oasis:names:tc:xacml:2.0:resource:resource-id", "Ressource_URN",
                     "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse", "LPS_ID", "LPS_Nom", "LPS_Version",
                     "LPS_ID_HOMOLOGATION_DMP"]
    text = etree.tostring(element).decode()
    assert 'xsi:type="xs:string"' in text and '<Role xmlns="urn:hl7-org:v3" code="10"' in text
    assert "&amp;1.2.250.1.213.1.4.10&amp;ISO^NH" in text


def test_kit_spelling_of_the_mode_is_read_and_kept() -> None:
    vihf = new_vihf(AuthMode.DIRECTE, auth_mode_name=AUTH_MODE_KIT_SPELLING)
    read = parse_vihf(build_vihf(vihf))
    assert read.mode is AuthMode.DIRECTE and read.auth_mode_name == AUTH_MODE_KIT_SPELLING


def test_reading_from_a_soap_envelope() -> None:
    vihf = new_vihf()
    assert parse_vihf(etree.tostring(envelope(build_vihf(vihf)))) == vihf


@pytest.mark.parametrize("data", [b"<a/>", b"not xml", b"", b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"])
def test_no_assertion_is_a_vihf_error_with_a_finding(data: bytes) -> None:
    with pytest.raises(VihfError) as info:
        parse_vihf(data)
    assert info.value.to_finding().rule


def test_derived_properties() -> None:
    vihf = new_vihf()
    assert vihf.patient_nir == "207058575627097" and vihf.patient_oid == "1.2.250.1.213.1.4.10"
    assert vihf.secteur_code == "SA07" and vihf.profession is not None and vihf.profession.code == "10"
    assert [s.code for s in vihf.specialties] == ["SM26"]
    assert Vihf("x", None, None, [], "BAD", None, None, None, None, None, None).mode is None


def test_instants() -> None:
    value = dt.datetime(2019, 6, 26, 8, 46, 6, 839000, tzinfo=dt.UTC)
    assert format_instant(value) == "2019-06-26T08:46:06.839Z"
    assert parse_instant("2019-06-26T10:46:06.839+02:00") == value
    assert parse_instant("2019-06-26T08:46:06") is None and parse_instant("yesterday") is None


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30).map(
    str.strip).filter(bool)
_instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                         timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@given(subject=_text, structure=_text, lps=_text, display=_text, instant=_instants,
       mode=st.sampled_from(list(AuthMode)))
def test_round_trip_property(subject: str, structure: str, lps: str, display: str, instant: dt.datetime,
                             mode: AuthMode) -> None:
    vihf = new_vihf(mode, subject_id=subject, structure_id=structure, lps_nom=lps, issue_instant=instant,
                    roles=[CodedValue("10", "1.2.250.1.71.1.2.7", display)])
    assert parse_vihf(vihf_to_bytes(vihf)) == vihf
