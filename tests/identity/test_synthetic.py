"""Synthetic identities: consistent traits, valid identifiers, determinism."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given

from conformance.identity import (
    INS_NIA_TEST_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    SyntheticIdentities,
    finess_key_valid,
    is_valid_nir,
    parse_nir,
    parse_ps_idnat,
    rpps_key_valid,
    siret_valid,
)
from conformance.identity.strategies import patients, professionals, structures
from conformance.identity.synthetic import Patient, Professional, Structure, nir_birth_place


def test_patients_have_consistent_traits() -> None:
    ids = SyntheticIdentities(seed=3)
    for _ in range(200):
        patient = ids.patient()
        nir = parse_nir(patient.nir)
        assert is_valid_nir(patient.nir)
        assert nir.sex == patient.sex
        assert nir.year == f"{patient.birth_date.year % 100:02d}"
        assert nir.month == f"{patient.birth_date.month:02d}"
        assert nir.birth_place_code == nir_birth_place(patient.birth_place_code, patient.birth_date)
        assert patient.ins.oid == INS_NIR_TEST_OID
        assert patient.birth_given_names and patient.birth_family_name


def test_requested_traits_and_oids() -> None:
    patient = SyntheticIdentities(seed=1).patient(sex="F", birth_date=date(2001, 2, 3), nia=True)
    assert patient.nir.startswith("20102") and patient.ins.oid == INS_NIA_TEST_OID
    assert patient.hl7_birth_time == "20010203"
    assert SyntheticIdentities(seed=1, test_oids=False).patient().ins.oid == INS_NIR_OID


def test_professionals_and_structures_have_valid_ids() -> None:
    ids = SyntheticIdentities(seed=5)
    for _ in range(50):
        professional = ids.professional()
        assert rpps_key_valid(professional.rpps)
        assert parse_ps_idnat(professional.idnat).rpps == professional.rpps
        assert professional.profession_code == "10" and professional.specialty_code.startswith("SM")
        assert professional.author_specialty_code == f"G15_10/{professional.specialty_code}"
        structure = ids.structure()
        assert finess_key_valid(structure.finess) and siret_valid(structure.siret)
        assert structure.idnat == "1" + structure.finess


def test_same_seed_same_identities() -> None:
    first, second = SyntheticIdentities(seed=42), SyntheticIdentities(seed=42)
    assert [first.patient() for _ in range(5)] == [second.patient() for _ in range(5)]
    assert first.professional() == second.professional()
    assert first.structure() == second.structure()
    assert SyntheticIdentities(seed=43).patient() != SyntheticIdentities(seed=42).patient()


@given(patients(), professionals(), structures())
def test_strategies_draw_consistent_identities(patient: Patient, professional: Professional,
                                               structure: Structure) -> None:
    assert parse_nir(patient.nir).sex == patient.sex
    assert rpps_key_valid(professional.rpps) and finess_key_valid(structure.finess)


def test_other_professions() -> None:
    ids = SyntheticIdentities(seed=2)
    codes = {ids.professional(profession=None).author_specialty_code for _ in range(60)}
    assert "G15_60" in codes and "G15_21/A" in codes
    assert ids.professional(profession="50").author_specialty_code == "G15_50"
    with pytest.raises(ValueError, match="no synthetic specialty"):
        ids.professional(profession="99")


def test_corsica_before_1976_is_department_20_in_the_nir() -> None:
    assert nir_birth_place("2A004", date(1970, 1, 1)) == "20004"
    assert nir_birth_place("2A004", date(1980, 1, 1)) == "2A004"
    assert nir_birth_place("75056", date(1970, 1, 1)) == "75056"
