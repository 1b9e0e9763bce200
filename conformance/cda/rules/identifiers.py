"""Identifier rules: INS key and OIDs, professional and structure national ids, OID syntax, sex vs NIR.

The official schematrons check none of these (golden README, "what the official pipeline does not check").
RPPS/FINESS keys and the PS idNat structure are warnings: hundreds of identifiers of the official examples are
wrong that way, and the bench must not fail a document the official pipeline accepts for that. The INS key is
an error whatever the OID (test OIDs included): a wrong INS designates another patient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from conformance.cda.document import CdaDocument
from conformance.cda.rules._common import ID_ELEMENTS, at, ids_with_root
from conformance.findings import Severity, Violation, rules
from conformance.identity import (
    INS_ARC,
    INS_C_OID,
    INS_OIDS,
    KNOWN_OIDS,
    PS_IDNAT_ROOT,
    STRUCTURE_IDNAT_ROOT,
    IdentifierError,
    Nir,
    finess_key_checkable,
    is_uuid,
    luhn_check_digit,
    luhn_valid,
    oid_problem,
    parse_nir,
    parse_ps_idnat,
)

PATIENT_IDS = "hl7:recordTarget/hl7:patientRole/hl7:id"
PATIENT = "hl7:recordTarget/hl7:patientRole/hl7:patient"
INS_ROOTS = frozenset(INS_OIDS)
# Under the INS arc, OIDs that exist but are not one of the four INS: INS-C (rule INS-OID says so) and the NIR
# used as a social-security number (.13, CSE certificates of the official examples).
KNOWN_INS_ARC = frozenset(oid for oid in KNOWN_OIDS if oid.startswith(INS_ARC))


@rules.register("BENCH-CDA-INS-KEY", kind="cda", title="INS (NIR/NIA) well-formed with a correct key",
                hint="correct the NIR/NIA (15 characters, key = 97 − first 13 digits mod 97, 2A→19, 2B→18) "
                     "or use a test identity with a valid key")
def ins_key(document: CdaDocument) -> Iterator[Violation]:
    # Every identifier qualified by an INS OID (patient, patient as author or legal authenticator).
    for element, root, value in ids_with_root(document, INS_ROOTS):
        if element.get("nullFlavor") is not None:
            continue  # no INS available: the INS-traits rules of StrucMin apply, not the key
        label = INS_OIDS[root].label
        try:
            nir = parse_nir(value)
        except IdentifierError as exc:
            yield at(document, element, f"{label} {value!r} is not a NIR/NIA: {exc}", attribute="extension")
            continue
        if not nir.key_valid:
            yield at(document, element, f"INS key of {value} is {nir.key}, expected {nir.expected_key} "
                     f"(97 − NIR mod 97; OID {root} {label})", attribute="extension")


@rules.register("BENCH-CDA-INS-OID", kind="cda", title="patient ids under the INS arc use a known INS OID",
                hint="use 1.2.250.1.213.1.4.8 (INS-NIR), .9 (INS-NIA), or .10/.11 for test identities")
def ins_oid(document: CdaDocument) -> Iterator[Violation]:
    for element in document.xpath(PATIENT_IDS):
        root = element.get("root") or ""
        if root == INS_C_OID:
            yield at(document, element, f"legacy INS-C OID {INS_C_OID} on a patient id", attribute="root",
                     hint="the INS-C is no longer accepted in new documents: send the INS-NIR "
                          "(1.2.250.1.213.1.4.8) or INS-NIA (1.2.250.1.213.1.4.9) obtained from INSi")
        elif root.startswith(INS_ARC) and root not in KNOWN_INS_ARC:
            yield at(document, element, f"unknown INS OID {root} (expected one of {', '.join(INS_OIDS)})",
                     attribute="root")


@rules.register("BENCH-CDA-INS-TEST-OID", kind="cda", severity=Severity.INFO,
                title="patient INS uses a test OID (not for production)",
                hint="fine on test platforms; production documents carry 1.2.250.1.213.1.4.8 or .9")
def ins_test_oid(document: CdaDocument) -> Iterator[Violation]:
    for element, root, value in ids_with_root(document, INS_ROOTS, PATIENT_IDS):
        if INS_OIDS[root].is_test:
            yield at(document, element, f"test INS OID {root} ({INS_OIDS[root].label}) on {value}",
                     attribute="root")


@rules.register("BENCH-CDA-PS-ID", kind="cda", severity=Severity.WARNING, title="professional national id (idNat PS) structure",
                hint="idNat PS = 8 + RPPS (11 digits) or 0 + ADELI; other prefixes (1, 3, 4, 5, 6) carry "
                     "internal ids")
def ps_id(document: CdaDocument) -> Iterator[Violation]:
    for element, _, value in ids_with_root(document, {PS_IDNAT_ROOT}):
        try:
            parse_ps_idnat(value)
        except IdentifierError as exc:
            yield at(document, element, f"professional id under {PS_IDNAT_ROOT}: {exc}", attribute="extension")


def _wrong_keys(document: CdaDocument, root: str, prefix: str, length: int, checkable: Callable[[str], bool],
                what: str) -> Iterator[Violation]:
    """One violation per distinct wrong number (a document repeats the same author id many times)."""
    seen: dict[str, list[etree._Element]] = {}
    for element, _, value in ids_with_root(document, {root}):
        number = value[len(prefix):]
        if value.startswith(prefix) and len(number) == length and checkable(number) and not luhn_valid(number):
            seen.setdefault(number, []).append(element)
    for number, elements in seen.items():
        others = f" (and {len(elements) - 1} other occurrence(s))" if len(elements) > 1 else ""
        yield at(document, elements[0], f"{what} key of {number} is {number[-1]}, expected "
                 f"{luhn_check_digit(number[:-1])} (Luhn){others}", attribute="extension")


@rules.register("BENCH-CDA-RPPS-KEY", kind="cda", severity=Severity.WARNING,
                title="RPPS of an idNat PS (8 + RPPS) has a correct Luhn key",
                hint="check the RPPS number against the RPPS directory; its last digit is a Luhn key")
def rpps_key(document: CdaDocument) -> Iterator[Violation]:
    yield from _wrong_keys(document, PS_IDNAT_ROOT, "8", 11, str.isdigit, "RPPS")


@rules.register("BENCH-CDA-FINESS-KEY", kind="cda", severity=Severity.WARNING,
                title="FINESS of an idNat structure (1 + FINESS) has a correct Luhn key",
                hint="check the FINESS number in the FINESS directory; its last digit is a Luhn key")
def finess_key(document: CdaDocument) -> Iterator[Violation]:
    yield from _wrong_keys(document, STRUCTURE_IDNAT_ROOT, "1", 9, finess_key_checkable, "FINESS")


@rules.register("BENCH-CDA-OID-SYNTAX", kind="cda",
                title="identifier roots are OIDs or UUIDs; codeSystem and templateId roots are OIDs",
                hint="an OID is digits separated by dots, without leading zeros, first arc 0/1/2; a UUID is "
                     "8-4-4-4-12 hexadecimal digits")
def oid_syntax(document: CdaDocument) -> Iterator[Violation]:
    # In the body a bad root is a warning: official examples carry malformed UUIDs on body entries, which the
    # official pipeline accepts; header identifiers become XDS metadata, where they must be valid.
    body = set(document.xpath("hl7:component//*"))
    for element in document.xpath(ID_ELEMENTS):
        root = element.get("root")
        if root is not None and not is_uuid(root) and (problem := oid_problem(root)):
            yield at(document, element, f"identifier root is neither an OID nor a UUID: {problem}", attribute="root",
                     severity=Severity.WARNING if element in body else None)
    for element in document.xpath(".//hl7:templateId[@root] | .//*[@codeSystem]"):
        attribute = "root" if element.tag.endswith("}templateId") else "codeSystem"
        if problem := oid_problem(element.get(attribute)):
            yield at(document, element, f"{attribute} is not an OID: {problem}", attribute=attribute)


@rules.register("BENCH-CDA-LEGALAUTH-ID", kind="cda",
                title="legalAuthenticator id is a person's id, not the organisation OID",
                hint=f"identify the legal authenticator with its idNat PS (root {PS_IDNAT_ROOT}, 8 + RPPS)")
def legal_authenticator_id(document: CdaDocument) -> Iterator[Violation]:
    for element, root, value in ids_with_root(document, {STRUCTURE_IDNAT_ROOT},
                                              "hl7:legalAuthenticator/hl7:assignedEntity/hl7:id"):
        yield at(document, element, f"legalAuthenticator id {value} uses the structure OID {root}", attribute="root")


def _patient_nirs(document: CdaDocument) -> Iterator[tuple[str, Nir]]:
    """``(root, Nir)`` of the patient's well-formed INS (malformed ones are BENCH-CDA-INS-KEY's business)."""
    for _, root, value in ids_with_root(document, INS_ROOTS, PATIENT_IDS):
        try:
            yield root, parse_nir(value)
        except IdentifierError:
            continue


@rules.register("BENCH-CDA-SEX-NIR", kind="cda", severity=Severity.WARNING,
                title="patient administrativeGenderCode agrees with the NIR sex digit",
                hint="the first digit of the NIR is 1/3/7 for a man and 2/4/8 for a woman: check the sex or the INS")
def sex_vs_nir(document: CdaDocument) -> Iterator[Violation]:
    gender = document.first(PATIENT + "/hl7:administrativeGenderCode")
    code = gender.get("code") if gender is not None else None
    if code not in ("M", "F"):
        return
    for root, nir in _patient_nirs(document):
        if nir.sex != code:
            yield at(document, gender, f"administrativeGenderCode is {code} but the INS {nir.value} ({root}) "
                     f"starts with {nir.sex_digit}, i.e. sex {nir.sex}", attribute="code")


@rules.register("BENCH-CDA-BIRTH-NIR", kind="cda", severity=Severity.WARNING,
                title="patient birthTime agrees with the NIR birth year and month",
                hint="the NIR's characters 2–5 are the birth year and month (YYMM): check the birth date or the INS")
def birth_vs_nir(document: CdaDocument) -> Iterator[Violation]:
    # The birth place is not compared: the NIR carries Paris/Lyon/Marseille arrondissements and pre-merger
    # communes, where birthplace/county legitimately holds another INSEE code.
    birth_time = document.first(PATIENT + "/hl7:birthTime")
    value = (birth_time.get("value") or "") if birth_time is not None else ""
    if len(value) < 6 or not value[:6].isdigit():
        return
    for root, nir in _patient_nirs(document):
        if 1 <= int(nir.month) <= 12 and (nir.year, nir.month) != (value[2:4], value[4:6]):
            yield at(document, birth_time, f"birthTime {value} (YYMM {value[2:6]}) differs from the INS "
                     f"{nir.value} ({root}), whose YYMM is {nir.year}{nir.month}", attribute="value")
