"""NIR / NIA (French social-security numbers) and the INS (Identifiant National de Santé) built on them.

Layout of the 15 characters (the NIA, given to people awaiting a NIR, has the same layout)::

    S YY MM DD CCC OOO KK     (S sex, YY year, MM month, DD department, CCC commune, OOO order, KK key)
    S YY MM DDD CC OOO KK     (overseas departments 97x/98x use 3 characters and a 2-digit commune)

The key is 97 − (the first 13 characters as a number mod 97), with the Corsican departments 2A/2B read as 19/18.
The official CI-SIS schematrons never check it; our CDA rule ``BENCH-CDA-INS-KEY`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from conformance.identity.errors import IdentifierError

# Sex digit: 1/2 for a definitive NIR, 3/4 and 7/8 for provisional numbers (odd = male, even = female).
SEX_DIGITS = frozenset("123478")
_SHAPE = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{8}")
_CORSICA = {"2A": "19", "2B": "18"}


def _numeric_body(body: str) -> int:
    """The first 13 characters as the number the key is computed on (2A → 19, 2B → 18)."""
    return int(body[:5] + _CORSICA.get(body[5:7], body[5:7]) + body[7:13])


def nir_key(body: str) -> int:
    """The key of a NIR/NIA whose first 13 characters are ``body`` (extra characters are ignored)."""
    if not _SHAPE.fullmatch(body[:13] + "00"):
        raise IdentifierError("NIR", "expected 13 characters: digits, the department may be 2A/2B", body)
    return 97 - _numeric_body(body) % 97


def format_key(key: int) -> str:
    return f"{key:02d}"


@dataclass(frozen=True, slots=True)
class Nir:
    """A structurally valid NIR or NIA; ``key_valid`` tells whether its key matches."""

    value: str

    @property
    def sex_digit(self) -> str:
        return self.value[0]

    @property
    def sex(self) -> str:
        """``M`` or ``F`` (the administrativeGenderCode the NIR implies)."""
        return "M" if int(self.sex_digit) % 2 == 1 else "F"

    @property
    def is_provisional(self) -> bool:
        return self.sex_digit not in "12"

    @property
    def year(self) -> str:
        return self.value[1:3]

    @property
    def month(self) -> str:
        return self.value[3:5]

    @property
    def birth_place_code(self) -> str:
        """The 5-character INSEE code of the birth place (department + commune, or 99 + country)."""
        return self.value[5:10]

    @property
    def department(self) -> str:
        return self.value[5:8] if self.value[5:7] in ("97", "98") else self.value[5:7]

    @property
    def commune(self) -> str:
        return self.value[len(self.department) + 5:10]

    @property
    def is_foreign_born(self) -> bool:
        return self.value[5:7] == "99"

    @property
    def order(self) -> str:
        return self.value[10:13]

    @property
    def key(self) -> str:
        return self.value[13:15]

    @property
    def expected_key(self) -> str:
        return format_key(nir_key(self.value))

    @property
    def key_valid(self) -> bool:
        return self.key == self.expected_key


def parse_nir(value: str) -> Nir:
    """Check the structure of a NIR/NIA (not its key: see :attr:`Nir.key_valid`) and return it.

    Raises :class:`IdentifierError` naming the first offending field and its position.
    """
    if len(value) != 15:
        raise IdentifierError("NIR", f"expected 15 characters, found {len(value)}", value)
    if value[0] not in SEX_DIGITS:
        raise IdentifierError("NIR", f"sex digit must be 1/2 (or 3/4/7/8 provisional), found {value[0]!r}", value, 0)
    if not value[1:5].isdigit() or not value[1:5].isascii():
        raise IdentifierError("NIR", "year and month must be digits", value, 1)
    month = int(value[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or month == 99):
        raise IdentifierError("NIR", f"month must be 01–12, 20–42 or 99, found {value[3:5]!r}", value, 3)
    department = value[5:7]
    if department not in _CORSICA and (not department.isdigit() or not department.isascii() or department == "00"):
        raise IdentifierError("NIR", f"department must be 01–99, 2A or 2B, found {department!r}", value, 5)
    if not value[7:].isdigit() or not value[7:].isascii():
        raise IdentifierError("NIR", "commune, order and key must be digits", value, 7)
    if value[10:13] == "000":
        raise IdentifierError("NIR", "order number 000 does not exist", value, 10)
    return Nir(value)


def is_valid_nir(value: str) -> bool:
    """Structure and key both valid."""
    try:
        return parse_nir(value).key_valid
    except IdentifierError:
        return False


def make_nir(sex_digit: str, year: int, month: int, birth_place_code: str, order: int) -> str:
    """Build a NIR with its key from its parts (``birth_place_code`` = 5-character INSEE code)."""
    body = f"{sex_digit}{year % 100:02d}{month:02d}{birth_place_code}{order:03d}"
    nir = body + format_key(nir_key(body))
    parse_nir(nir)
    return nir


# --- INS --------------------------------------------------------------------------------------------------

INS_NIR_OID = "1.2.250.1.213.1.4.8"
INS_NIA_OID = "1.2.250.1.213.1.4.9"
INS_NIR_TEST_OID = "1.2.250.1.213.1.4.10"
INS_NIA_TEST_OID = "1.2.250.1.213.1.4.11"  # "INS-NIR-DEMO" in FR Core, the test NIA elsewhere
INS_C_OID = "1.2.250.1.213.1.4.2"  # legacy computed INS, refused in new documents
INS_ARC = "1.2.250.1.213.1.4."
# Not an INS but seen on patient ids of official examples (CSE certificates): the NIR as social-security number.
NIR_SOCIAL_SECURITY_OID = "1.2.250.1.213.1.4.13"


class InsKind(StrEnum):
    NIR = "NIR"
    NIA = "NIA"


@dataclass(frozen=True, slots=True)
class InsOid:
    oid: str
    kind: InsKind
    is_test: bool
    label: str


INS_OIDS: dict[str, InsOid] = {
    INS_NIR_OID: InsOid(INS_NIR_OID, InsKind.NIR, False, "INS-NIR"),
    INS_NIA_OID: InsOid(INS_NIA_OID, InsKind.NIA, False, "INS-NIA"),
    INS_NIR_TEST_OID: InsOid(INS_NIR_TEST_OID, InsKind.NIR, True, "INS-NIR de test"),
    INS_NIA_TEST_OID: InsOid(INS_NIA_TEST_OID, InsKind.NIA, True, "INS-NIA de test / INS-NIR-DEMO"),
}


class InsError(IdentifierError):
    pass


@dataclass(frozen=True, slots=True)
class Ins:
    """An INS: a NIR/NIA value qualified by one of the four INS OIDs."""

    value: str
    oid: str

    def __post_init__(self) -> None:
        if self.oid == INS_C_OID:
            raise InsError("INS", f"OID {INS_C_OID} is the legacy INS-C, not accepted in new documents; "
                           f"use the INS-NIR ({INS_NIR_OID}) or INS-NIA ({INS_NIA_OID})", self.value)
        if self.oid not in INS_OIDS:
            raise InsError("INS", f"OID {self.oid} is not an INS OID (expected one of {', '.join(INS_OIDS)})",
                           self.value)

    @property
    def kind(self) -> InsKind:
        return INS_OIDS[self.oid].kind

    @property
    def is_test(self) -> bool:
        return INS_OIDS[self.oid].is_test

    @property
    def nir(self) -> Nir:
        """The parsed value; raises :class:`IdentifierError` when malformed."""
        return parse_nir(self.value)

    @property
    def key_valid(self) -> bool:
        return is_valid_nir(self.value)

    def cx(self) -> str:
        """HL7 v2 CX form used in XDS metadata and the VIHF: ``<NIR>^^^&<OID>&ISO^NH``."""
        return f"{self.value}^^^&{self.oid}&ISO^NH"


def is_ins_oid(oid: str) -> bool:
    return oid in INS_OIDS
