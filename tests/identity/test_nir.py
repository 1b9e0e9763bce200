"""NIR/NIA structure and key, and the INS built on them."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.identity import (
    INS_C_OID,
    INS_NIA_TEST_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    IdentifierError,
    Ins,
    InsError,
    InsKind,
    is_valid_nir,
    make_nir,
    nir_key,
    parse_nir,
)
from conformance.identity.strategies import nirs


@pytest.mark.parametrize(("nir", "expected"), [
    ("221042545611404", "83"),  # official example, stored key 04
    ("224027511583555", "12"),
    ("277076322082910", "10"),
    ("279035121518989", "89"),
    ("1850399000999" + "00", None),
])
def test_known_keys(nir: str, expected: str | None) -> None:
    parsed = parse_nir(nir)
    if expected is not None:
        assert parsed.expected_key == expected
        assert parsed.key_valid == (nir[-2:] == expected)


def test_corsica_substitution() -> None:
    # 2A → 19 and 2B → 18 before the modulo
    assert nir_key("185012A123456") == 97 - int("1850119123456") % 97
    assert nir_key("185012B123456") == 97 - int("1850118123456") % 97


def test_parts_of_a_nir() -> None:
    nir = parse_nir(make_nir("2", 1977, 7, "97105", 12))
    assert (nir.sex, nir.year, nir.month, nir.department, nir.commune, nir.order) == ("F", "77", "07", "971", "05",
                                                                                         "012")
    assert nir.birth_place_code == "97105" and not nir.is_provisional and not nir.is_foreign_born
    assert parse_nir(make_nir("7", 80, 1, "99350", 1)).is_foreign_born


@pytest.mark.parametrize(("value", "fragment", "position"), [
    ("22104254561140", "expected 15 characters", None),
    ("521042545611404", "sex digit", 0),
    ("221132545611404", "month must be 01–12, 20–42 or 99", 3),
    ("2210400456114 4", "department", 5),
    ("2210425456114AB", "must be digits", 7),
    ("221042545600004", "order number 000", 10),
])
def test_structure_errors_are_precise(value: str, fragment: str, position: int | None) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_nir(value)
    assert fragment in str(caught.value)
    assert caught.value.position == position


@given(nirs())
def test_generated_nirs_are_valid(nir: str) -> None:
    assert is_valid_nir(nir)
    assert parse_nir(nir).key_valid


@given(nirs(), st.integers(0, 14), st.integers(1, 9))
def test_one_digit_mutation_breaks_the_key(nir: str, index: int, delta: int) -> None:
    assume(nir[index].isdigit())
    mutated = nir[:index] + str((int(nir[index]) + delta) % 10) + nir[index + 1:]
    try:
        parse_nir(mutated)
    except IdentifierError:
        return  # the mutation broke the structure: invalid as well
    assert not is_valid_nir(mutated)


@given(nirs())
def test_make_nir_round_trip(nir: str) -> None:
    parsed = parse_nir(nir)
    rebuilt = make_nir(parsed.sex_digit, int(parsed.year), int(parsed.month), parsed.birth_place_code,
                       int(parsed.order))
    assert rebuilt == nir


def test_ins_oids() -> None:
    assert Ins("277076322082910", INS_NIR_TEST_OID).is_test
    assert not Ins("277076322082910", INS_NIR_OID).is_test
    assert Ins("277076322082910", INS_NIA_TEST_OID).kind is InsKind.NIA
    assert Ins("277076322082910", INS_NIR_TEST_OID).cx() == "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert not Ins("221042545611404", INS_NIR_TEST_OID).key_valid


def test_legacy_ins_c_and_unknown_oids_are_refused() -> None:
    with pytest.raises(InsError, match="legacy INS-C"):
        Ins("277076322082910", INS_C_OID)
    with pytest.raises(InsError, match="not an INS OID"):
        Ins("277076322082910", "1.2.250.1.213.1.4.12")
