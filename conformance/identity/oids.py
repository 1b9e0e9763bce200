"""OIDs (syntax and the table of OIDs of the domain) and UUID helpers (``urn:uuid:``, ``2.25.`` OIDs)."""

from __future__ import annotations

import random
import re
import uuid

from conformance.identity.national_ids import PS_IDNAT_ROOT, STRUCTURE_IDNAT_ROOT
from conformance.identity.nir import INS_C_OID, INS_OIDS, NIR_SOCIAL_SECURITY_OID

_ARC = re.compile(r"0|[1-9][0-9]*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_OID_LENGTH = 64  # HL7 v3 / DMP limit on an OID used as an identifier root


def oid_problem(value: str) -> str | None:
    """Why ``value`` is not a syntactically valid OID, or None when it is."""
    if not value:
        return "empty OID"
    arcs = value.split(".")
    if len(arcs) < 2:
        return f"an OID has at least two arcs, found {value!r}"
    for index, arc in enumerate(arcs):
        if not arc:
            return f"empty arc {index + 1} in {value!r}"
        if not _ARC.fullmatch(arc) or not arc.isascii():
            kind = "a leading zero" if arc.isdigit() and arc.isascii() else "a non-digit character"
            return f"arc {index + 1} {arc!r} has {kind} in {value!r}"
    if int(arcs[0]) > 2:
        return f"the first arc must be 0, 1 or 2, found {arcs[0]!r}"
    if int(arcs[0]) < 2 and int(arcs[1]) > 39:
        return f"under {arcs[0]} the second arc must be ≤ 39, found {arcs[1]!r}"
    if len(value) > MAX_OID_LENGTH:
        return f"longer than {MAX_OID_LENGTH} characters ({len(value)})"
    return None


def is_oid(value: str) -> bool:
    return oid_problem(value) is None


def is_uuid(value: str) -> bool:
    """A bare UUID (either case, as HL7 v3 II roots allow)."""
    return bool(_UUID.fullmatch(value))


def is_urn_uuid(value: str) -> bool:
    return value[:9].lower() == "urn:uuid:" and is_uuid(value[9:])


def new_uuid(rng: random.Random | None = None) -> uuid.UUID:
    """A version-4 UUID, reproducible when ``rng`` is seeded."""
    return uuid.UUID(int=(rng or random.SystemRandom()).getrandbits(128), version=4)


def new_urn_uuid(rng: random.Random | None = None) -> str:
    return f"urn:uuid:{new_uuid(rng)}"


def urn_uuid_to_uuid(value: str) -> uuid.UUID:
    if not is_urn_uuid(value):
        raise ValueError(f"expected urn:uuid:<uuid>, found {value!r}")
    return uuid.UUID(value[9:])


def uuid_to_oid(value: uuid.UUID) -> str:
    """The ``2.25.<integer>`` OID of a UUID (ITU-T X.667), e.g. for an XDS uniqueId."""
    return f"2.25.{value.int}"


def is_ii_root(value: str) -> bool:
    """HL7 v3 II/@root: an OID or a UUID."""
    return is_oid(value) or is_uuid(value)


# OIDs of the domain, with what they identify. Sources: docs/domain.md §2, xds-metadata.md §5.2, cda-cisis.md §2–§3.
KNOWN_OIDS: dict[str, str] = {
    **{oid: info.label for oid, info in INS_OIDS.items()},
    INS_C_OID: "INS-C (legacy, refused in new documents)",
    NIR_SOCIAL_SECURITY_OID: "NIR used as social-security number (not an INS)",
    PS_IDNAT_ROOT: "health professional national id (idNat PS)",
    STRUCTURE_IDNAT_ROOT: "health structure national id (idNat structure)",
    "1.2.250.1.71.4.2.4": "TRE_R02 SecteurActivite",
    "1.2.250.1.71.4.2.5": "TRE_R01 savoir-faire RPPS",
    "1.2.250.1.71.1.2.7": "TRE_G15 professions",
    "1.2.250.1.213.4.1": "DMP host (patient-produced documents)",
    "1.2.250.1.213.4.1.1.1": "DMP device",
    "1.2.250.1.213.4.1.1.1.2": "DMP repositoryUniqueId",
    "1.2.250.1.213.1.1.4.5": "authorSpecialty code system of the examples (profession/specialty, JDV_J01)",
    "1.2.250.1.213.1.1.4.12": "ANS document type codes (SYNTH, CERT_DECL, REMB…)",
    "1.2.250.1.213.1.1.4.13": "TRE_A07 StatutVisibiliteDocument",
    "2.16.840.1.113883.6.1": "LOINC",
    "2.16.840.1.113883.5.25": "HL7 Confidentiality",
    "2.16.840.1.113883.5.1": "HL7 AdministrativeGender",
    "2.16.840.1.113883.1.3": "HL7 CDA R2 typeId",
    "2.16.840.1.113883.2.8.2.1": "HL7 France CDA templateId",
    "1.2.250.1.213.1.1.1.1": "CI-SIS structuration minimale templateId",
    "1.3.6.1.4.1.19376.1.2.20": "IHE XDS-SD templateId",
}
