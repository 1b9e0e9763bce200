"""Check-digit algorithms: Luhn (RPPS, FINESS, SIREN/SIRET, LOINC) and Verhoeff (SNOMED CT); the NIR's mod 97
lives in :mod:`conformance.identity.nir`."""

from __future__ import annotations

import re

_LOINC_CODE = re.compile(r"([0-9]{1,7})-([0-9])")


def luhn_sum(digits: str) -> int:
    """Luhn sum of ``digits`` where the rightmost digit is *not* doubled (so a full number with its key sums to 0 mod 10)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (the key included, last) passes the Luhn check."""
    return digits.isascii() and digits.isdigit() and luhn_sum(digits) % 10 == 0


def luhn_check_digit(body: str) -> int:
    """The Luhn key to append to ``body``."""
    return (10 - luhn_sum(body + "0") % 10) % 10


def loinc_check_digit(body: str) -> int:
    """The LOINC mod-10 check digit of the numeric part of a LOINC code (``85208`` → 7 for ``85208-7``)."""
    return luhn_check_digit(body)


def loinc_corrected(code: str) -> str | None:
    """``code`` with the check digit it should carry when it has the LOINC form (``NNNNN-N``), else None: a result
    other than ``code`` means a mistyped code (``11488-5`` → ``11488-4``)."""
    match = _LOINC_CODE.fullmatch(code)
    return f"{match.group(1)}-{loinc_check_digit(match.group(1))}" if match else None


# Verhoeff tables (dihedral group D5): the check digit of SNOMED CT identifiers.
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_valid(digits: str) -> bool:
    """True when ``digits`` (its check digit last) passes the Verhoeff check (SNOMED CT identifiers)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][int(char)]]
    return check == 0


def verhoeff_check_digit(body: str) -> int:
    """The Verhoeff check digit to append to ``body``."""
    check = 0
    for index, char in enumerate(reversed(body)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[(index + 1) % 8][int(char)]]
    return _VERHOEFF_INV[check]
