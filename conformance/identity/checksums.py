"""Check-digit algorithms shared by the French identifiers (Luhn for RPPS/FINESS/SIREN/SIRET, mod 97 for the NIR)."""

from __future__ import annotations


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
