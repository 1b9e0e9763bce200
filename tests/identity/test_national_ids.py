"""RPPS, ADELI, FINESS, SIREN/SIRET and the PS/structure national ids."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.identity import (
    IdentifierError,
    PsIdKind,
    StructureIdKind,
    finess_key_checkable,
    finess_key_valid,
    luhn_valid,
    make_finess,
    make_rpps,
    make_siren,
    make_siret,
    parse_adeli,
    parse_finess,
    parse_ps_idnat,
    parse_rpps,
    parse_structure_idnat,
    ps_idnat_from_adeli,
    ps_idnat_from_rpps,
    rpps_key_valid,
    siren_valid,
    siret_valid,
    structure_idnat_from_finess,
)
from conformance.identity.strategies import digits, finess_numbers, rpps_numbers


def mutate_one_digit(value: str, index: int, delta: int) -> str:
    index %= len(value)
    assume(value[index].isdigit())
    return value[:index] + str((int(value[index]) + delta) % 10) + value[index + 1:]


@given(digits(10))
def test_generated_rpps_are_valid(body: str) -> None:
    assert rpps_key_valid(make_rpps(body))


@given(digits(10), st.integers(0, 10), st.integers(1, 9))
def test_one_digit_mutation_breaks_the_rpps_key(body: str, index: int, delta: int) -> None:
    assert not rpps_key_valid(mutate_one_digit(make_rpps(body), index, delta))


@given(digits(8), st.integers(0, 8), st.integers(1, 9))
def test_finess_key(body: str, index: int, delta: int) -> None:
    finess = make_finess(body)
    assert finess_key_valid(finess)
    assert not finess_key_valid(mutate_one_digit(finess, index, delta))


@given(digits(8), digits(4))
def test_siren_and_siret(siren_body: str, nic: str) -> None:
    siren = make_siren(siren_body)
    assume(not siren.startswith("356000000"))
    assert siren_valid(siren)
    assert siret_valid(make_siret(siren, nic))


def test_known_values() -> None:
    assert rpps_key_valid("01234567897")  # the RPPS of the official examples (801234567897)
    assert not rpps_key_valid("01234567898")
    assert luhn_valid("750000010")
    assert siret_valid("35600000000048")  # La Poste head office: Luhn
    assert siret_valid("35600000000001") and not siret_valid("35700000000001")  # La Poste: digit sum mod 5
    assert not finess_key_checkable("2A0000015") and finess_key_valid("2A0000015")


def test_idnat() -> None:
    assert ps_idnat_from_rpps("01234567897") == "801234567897"
    assert parse_ps_idnat("801234567897").rpps == "01234567897"
    assert parse_ps_idnat("801234567897").kind is PsIdKind.RPPS
    assert parse_ps_idnat("3750100125/1453").kind is PsIdKind.FINESS  # internal ids keep their "/"
    assert ps_idnat_from_adeli("751234567") == "0751234567"
    assert structure_idnat_from_finess("750000010") == "1750000010"
    assert parse_structure_idnat("1750000010").kind is StructureIdKind.FINESS
    assert parse_structure_idnat("1750000010").number == "750000010"


@pytest.mark.parametrize(("parse", "value", "fragment"), [
    (parse_rpps, "0123456789", "11 digits"),
    (parse_rpps, "0123456789X", "11 digits"),
    (parse_adeli, "75123456", "9 characters"),
    (parse_finess, "2C0000015", "9 characters"),
    (parse_ps_idnat, "9123", "prefix must be one of"),
    (parse_ps_idnat, "8012345678", "11 digits of the RPPS"),
    (parse_ps_idnat, "", "empty"),
    (parse_structure_idnat, "7123", "prefix must be one of"),
])
def test_parse_errors(parse: Callable[[str], object], value: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=fragment):
        parse(value)


@given(rpps_numbers(), finess_numbers())
def test_strategies_draw_valid_numbers(rpps: str, finess: str) -> None:
    assert rpps_key_valid(rpps) and finess_key_valid(finess)
