"""Check digits: Luhn (RPPS, FINESS, SIREN/SIRET, LOINC) and Verhoeff (SNOMED CT)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.identity import (
    loinc_check_digit,
    luhn_check_digit,
    luhn_valid,
    verhoeff_check_digit,
    verhoeff_valid,
)
from conformance.identity.strategies import digits


@pytest.mark.parametrize(("loinc", "key"), [("85208", 7), ("11488", 4), ("42349", 1), ("11502", 2), ("34133", 9)])
def test_loinc_check_digits(loinc: str, key: int) -> None:
    assert loinc_check_digit(loinc) == key


@pytest.mark.parametrize("sctid", ["22298006", "73211009", "386661006", "138875005", "900000000000207008"])
def test_known_snomed_ids(sctid: str) -> None:
    assert verhoeff_valid(sctid)
    assert verhoeff_check_digit(sctid[:-1]) == int(sctid[-1])


@given(st.integers(1, 17).flatmap(digits), st.integers(0, 17), st.integers(1, 9))
def test_verhoeff_catches_every_single_digit_error(body: str, index: int, delta: int) -> None:
    number = body + str(verhoeff_check_digit(body))
    assert verhoeff_valid(number)
    index %= len(number)
    mutated = number[:index] + str((int(number[index]) + delta) % 10) + number[index + 1:]
    assert not verhoeff_valid(mutated)


@given(st.integers(1, 14).flatmap(digits), st.integers(0, 14), st.integers(1, 9))
def test_luhn_catches_every_single_digit_error(body: str, index: int, delta: int) -> None:
    number = body + str(luhn_check_digit(body))
    assert luhn_valid(number)
    index %= len(number)
    mutated = number[:index] + str((int(number[index]) + delta) % 10) + number[index + 1:]
    assume(mutated != number)
    assert not luhn_valid(mutated)


def test_non_digits_are_invalid() -> None:
    assert not luhn_valid("12a") and not verhoeff_valid("12a") and not verhoeff_valid("")
