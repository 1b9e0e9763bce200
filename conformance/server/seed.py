"""Seeding the reference DMP: one patient with its authorizations, or N synthetic patients and professionals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.identity import INS_NIR_TEST_OID
from conformance.store import AuthorizationStatus, Patient, Store


@dataclass(slots=True)
class PatientSeed:
    ins: str
    ins_oid: str = INS_NIR_TEST_OID
    family_name: str = ""
    given_name: str = ""
    birth_date: str | None = None
    gender: str | None = None
    minor: bool = False
    attached_to_mes: bool = True
    traits: dict[str, Any] = field(default_factory=dict)
    # (professional idNat, status, médecin traitant)
    authorizations: list[tuple[str, AuthorizationStatus, bool]] = field(default_factory=list)


def seed_patient(store: Store, seed: PatientSeed) -> Patient:
    patient = store.add_patient(seed.ins, seed.ins_oid, family_name=seed.family_name, given_name=seed.given_name,
                                birth_date=seed.birth_date, gender=seed.gender, minor=seed.minor,
                                attached_to_mes=seed.attached_to_mes, traits=seed.traits)
    for professional, status, attending in seed.authorizations:
        store.set_authorization(patient.id, professional, status, attending=attending)
    return patient


@dataclass(slots=True)
class SeedResult:
    patients: list[Patient]
    professionals: list[str]  # idNat


def seed_synthetic(store: Store, count: int, *, seed: int = 0, professionals: int = 3,
                   extra_professionals: tuple[str, ...] = ()) -> SeedResult:
    """``count`` synthetic patients (consistent INS and traits), each with a DMP on which every generated
    professional (and every idNat in ``extra_professionals``) is authorized; the first one is médecin traitant."""
    from conformance.identity.synthetic import SyntheticIdentities

    identities = SyntheticIdentities(seed)
    ids = list(extra_professionals)
    for _ in range(professionals):
        person = identities.professional()
        store.upsert_professional(person.idnat, family_name=person.family_name, given_name=person.given_name,
                                  role_code="10", specialty_code=f"G15_10/{person.specialty_code}",
                                  specialty_label=person.specialty_display)
        ids.append(person.idnat)
    patients = []
    for _ in range(count):
        person = identities.patient()
        patients.append(seed_patient(store, PatientSeed(
            ins=person.ins.value, ins_oid=person.ins.oid, family_name=person.birth_family_name,
            given_name=person.first_given_name, birth_date=person.birth_date.strftime("%Y%m%d"), gender=person.sex,
            traits={"address": {"streetAddressLine": person.street, "postalCode": person.postal_code,
                                "city": person.city}, "birth_place": person.birth_place_code},
            authorizations=[(p, AuthorizationStatus.GRANTED, i == 0) for i, p in enumerate(ids)])))
    return SeedResult(patients, ids)
