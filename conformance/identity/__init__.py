"""Identifiers of the French health domain and synthetic identities (the lowest layer: pure functions, no I/O).

- :mod:`~conformance.identity.nir`: NIR/NIA structure and key, :class:`Ins` and the INS OIDs;
- :mod:`~conformance.identity.national_ids`: RPPS, ADELI, FINESS, SIREN/SIRET and the PS/structure idNat;
- :mod:`~conformance.identity.oids`: OID syntax, the known OIDs of the domain, UUID helpers;
- :mod:`~conformance.identity.hl7v2`: HL7 v2 HD/CX/XCN/XON parse and format with escaping;
- :mod:`~conformance.identity.synthetic`: :class:`SyntheticIdentities` (seeded Patient/Professional/Structure),
  imported lazily (Faker is slow to import);
- :mod:`~conformance.identity.strategies`: hypothesis strategies for all of the above.
"""

from typing import TYPE_CHECKING, Any

from conformance.identity.checksums import (
    loinc_check_digit,
    loinc_corrected,
    luhn_check_digit,
    luhn_valid,
    verhoeff_check_digit,
    verhoeff_valid,
)
from conformance.identity.errors import IdentifierError
from conformance.identity.hl7v2 import Cx, Hd, Hl7V2Error, Xcn, Xon
from conformance.identity.national_ids import (
    PS_IDNAT_ROOT,
    STRUCTURE_IDNAT_ROOT,
    PsIdKind,
    PsIdNat,
    StructureIdKind,
    StructureIdNat,
    finess_key_checkable,
    finess_key_valid,
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
from conformance.identity.nir import (
    INS_ARC,
    INS_C_OID,
    INS_NIA_OID,
    INS_NIA_TEST_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    INS_OIDS,
    Ins,
    InsError,
    InsKind,
    Nir,
    is_ins_oid,
    is_valid_nir,
    make_nir,
    nir_key,
    parse_nir,
)
from conformance.identity.oids import (
    KNOWN_OIDS,
    is_ii_root,
    is_oid,
    is_urn_uuid,
    is_uuid,
    new_urn_uuid,
    new_uuid,
    oid_problem,
    urn_uuid_to_uuid,
    uuid_to_oid,
)

if TYPE_CHECKING:
    from conformance.identity.synthetic import Patient, Professional, Structure, SyntheticIdentities

_SYNTHETIC = frozenset({"Patient", "Professional", "Structure", "SyntheticIdentities"})


def __getattr__(name: str) -> Any:
    # The synthetic identities pull in Faker (~0.1 s to import): load them only when asked for.
    if name in _SYNTHETIC:
        from conformance.identity import synthetic
        return getattr(synthetic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "INS_ARC", "INS_C_OID", "INS_NIA_OID", "INS_NIA_TEST_OID", "INS_NIR_OID", "INS_NIR_TEST_OID", "INS_OIDS",
    "KNOWN_OIDS", "PS_IDNAT_ROOT", "STRUCTURE_IDNAT_ROOT",
    "Cx", "Hd", "Hl7V2Error", "IdentifierError", "Ins", "InsError", "InsKind", "Nir", "Patient", "Professional",
    "PsIdKind", "PsIdNat", "Structure", "StructureIdKind", "StructureIdNat", "SyntheticIdentities", "Xcn", "Xon",
    "finess_key_checkable", "finess_key_valid", "is_ii_root", "is_ins_oid", "is_oid", "is_urn_uuid", "is_uuid",
    "is_valid_nir", "loinc_check_digit", "loinc_corrected", "luhn_check_digit", "luhn_valid", "make_finess",
    "make_nir", "make_rpps",
    "make_siren", "make_siret", "new_urn_uuid", "new_uuid", "nir_key", "oid_problem", "parse_adeli",
    "parse_finess", "parse_nir", "parse_ps_idnat", "parse_rpps", "parse_structure_idnat", "ps_idnat_from_adeli",
    "ps_idnat_from_rpps", "rpps_key_valid", "siren_valid", "siret_valid", "structure_idnat_from_finess",
    "urn_uuid_to_uuid", "uuid_to_oid", "verhoeff_check_digit", "verhoeff_valid",
]
