"""Professional and structure identifiers: RPPS, ADELI, FINESS, SIREN, SIRET and the national ids (idNat) built on them.

- RPPS: 11 digits, the last a Luhn key. PS idNat = ``8`` + RPPS under root ``1.2.250.1.71.4.2.1``.
- ADELI: 9 characters (department 2 digits or 2A/2B, then 7 digits). A check digit exists in practice but its
  algorithm is not published reliably, so only the structure is checked. PS idNat = ``0`` + ADELI.
- FINESS: 9 characters (department 2 digits or 2A/2B, 6 digits, Luhn key on the 8 preceding digits). The key of
  Corsican numbers (2A/2B) is not verified: how the letter enters the Luhn sum is not documented.
- SIREN (9 digits) and SIRET (14 digits): Luhn; SIRETs of La Poste (SIREN 356000000) may use digit sum mod 5 instead.
- Structure idNat under root ``1.2.250.1.71.4.2.2``: ``1`` + FINESS, ``2`` + SIREN, ``3`` + SIRET, ``4`` + RPPS-rang,
  ``0`` + ADELI-rang (cabinets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from conformance.identity.checksums import luhn_check_digit, luhn_valid
from conformance.identity.errors import IdentifierError

PS_IDNAT_ROOT = "1.2.250.1.71.4.2.1"
STRUCTURE_IDNAT_ROOT = "1.2.250.1.71.4.2.2"

_RPPS = re.compile(r"[0-9]{11}")
_ADELI = re.compile(r"(?:[0-9]{2}|2A|2B)[0-9]{7}")
_FINESS = re.compile(r"(?:[0-9]{2}|2A|2B)[0-9]{7}")
LA_POSTE_SIREN = "356000000"


def _check_shape(what: str, pattern: re.Pattern[str], value: str, expected: str) -> None:
    if not pattern.fullmatch(value):
        bad = next((i for i, c in enumerate(value) if not (c.isascii() and (c.isdigit() or c in "AB"))), None)
        raise IdentifierError(what, f"expected {expected}, found {len(value)} characters", value, bad)


# --- RPPS -----------------------------------------------------------------------------------------------

def parse_rpps(value: str) -> str:
    """Check an RPPS number's structure (not its key) and return it."""
    _check_shape("RPPS", _RPPS, value, "11 digits")
    return value


def rpps_key_valid(value: str) -> bool:
    return bool(_RPPS.fullmatch(value)) and luhn_valid(value)


def make_rpps(body: str) -> str:
    """An RPPS from its first 10 digits, with the Luhn key."""
    if not re.fullmatch(r"[0-9]{10}", body):
        raise IdentifierError("RPPS", "the body must be 10 digits", body)
    return body + str(luhn_check_digit(body))


# --- ADELI ----------------------------------------------------------------------------------------------

def parse_adeli(value: str) -> str:
    """Structure only (see the module doc): 9 characters, department 2 digits or 2A/2B."""
    _check_shape("ADELI", _ADELI, value, "9 characters (department 2 digits or 2A/2B, then 7 digits)")
    return value


# --- FINESS ---------------------------------------------------------------------------------------------

def parse_finess(value: str) -> str:
    _check_shape("FINESS", _FINESS, value, "9 characters (department 2 digits or 2A/2B, then 7 digits)")
    return value


def finess_key_checkable(value: str) -> bool:
    """False for Corsican FINESS numbers, whose key algorithm is not documented."""
    return bool(_FINESS.fullmatch(value)) and value[:2] not in ("2A", "2B")


def finess_key_valid(value: str) -> bool:
    """Luhn over the 9 digits; Corsican numbers (not checkable) count as valid."""
    if not _FINESS.fullmatch(value):
        return False
    return not finess_key_checkable(value) or luhn_valid(value)


def make_finess(body: str) -> str:
    """A FINESS from its first 8 digits, with the Luhn key."""
    if not re.fullmatch(r"[0-9]{8}", body):
        raise IdentifierError("FINESS", "the body must be 8 digits", body)
    return body + str(luhn_check_digit(body))


# --- SIREN / SIRET -----------------------------------------------------------------------------------------

def siren_valid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{9}", value)) and luhn_valid(value)


def siret_valid(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{14}", value):
        return False
    if luhn_valid(value):
        return True
    # La Poste's establishments share one SIREN and cannot all have a Luhn key: their digit sum is a multiple of 5.
    return value.startswith(LA_POSTE_SIREN) and sum(int(c) for c in value) % 5 == 0


def make_siren(body: str) -> str:
    return body + str(luhn_check_digit(body))


def make_siret(siren: str, nic_body: str) -> str:
    """A SIRET from a SIREN and the first 4 digits of the establishment number (NIC)."""
    body = siren + nic_body
    return body + str(luhn_check_digit(body))


# --- idNat ----------------------------------------------------------------------------------------------

class PsIdKind(StrEnum):
    ADELI = "0"
    CABINET_ADELI = "1"
    FINESS = "3"
    SIREN = "4"
    SIRET = "5"
    CABINET_RPPS = "6"
    RPPS = "8"


class StructureIdKind(StrEnum):
    ADELI_CABINET = "0"
    FINESS = "1"
    SIREN = "2"
    SIRET = "3"
    RPPS_CABINET = "4"


@dataclass(frozen=True, slots=True)
class PsIdNat:
    """A health professional's national id (``1.2.250.1.71.4.2.1``): a one-character prefix + a number."""

    value: str

    @property
    def kind(self) -> PsIdKind:
        return PsIdKind(self.value[0])

    @property
    def number(self) -> str:
        return self.value[1:]

    @property
    def rpps(self) -> str | None:
        return self.number if self.kind is PsIdKind.RPPS else None


def parse_ps_idnat(value: str) -> PsIdNat:
    """Check the prefix and, for ``8``/``0``, the RPPS/ADELI structure. Other prefixes carry internal ids
    (``3750100125/1453``): only the prefix is checked."""
    if not value:
        raise IdentifierError("PS idNat", "empty", value)
    if value[0] not in {k.value for k in PsIdKind}:
        raise IdentifierError("PS idNat", f"prefix must be one of 0 1 3 4 5 6 8 (8 = RPPS), found {value[0]!r}",
                              value, 0)
    idnat = PsIdNat(value)
    if idnat.kind is PsIdKind.RPPS and not _RPPS.fullmatch(idnat.number):
        raise IdentifierError("PS idNat", f"expected 8 followed by the 11 digits of the RPPS (12 characters), "
                              f"found {len(value)} characters", value)
    if idnat.kind is PsIdKind.ADELI and not _ADELI.fullmatch(idnat.number):
        raise IdentifierError("PS idNat", f"expected 0 followed by the 9 characters of the ADELI number, "
                              f"found {len(value)} characters", value)
    return idnat


def ps_idnat_from_rpps(rpps: str) -> str:
    return PsIdKind.RPPS.value + parse_rpps(rpps)


def ps_idnat_from_adeli(adeli: str) -> str:
    return PsIdKind.ADELI.value + parse_adeli(adeli)


@dataclass(frozen=True, slots=True)
class StructureIdNat:
    value: str

    @property
    def kind(self) -> StructureIdKind:
        return StructureIdKind(self.value[0])

    @property
    def number(self) -> str:
        return self.value[1:]


def parse_structure_idnat(value: str) -> StructureIdNat:
    if not value:
        raise IdentifierError("structure idNat", "empty", value)
    if value[0] not in {k.value for k in StructureIdKind}:
        raise IdentifierError("structure idNat", f"prefix must be one of 0 1 2 3 4 (1 = FINESS, 3 = SIRET), "
                              f"found {value[0]!r}", value, 0)
    return StructureIdNat(value)


def structure_idnat_from_finess(finess: str) -> str:
    return StructureIdKind.FINESS.value + parse_finess(finess)
