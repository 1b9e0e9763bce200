"""Deterministic synthetic patients, professionals and structures whose identifiers and traits agree.

Faker ``fr_FR`` supplies names and addresses; the identifiers come from our own code so that the NIR matches the
patient's sex, birth year/month and birth place (Faker's ``ssn()`` ignores them), the RPPS and FINESS carry valid
keys, and patients get a *test* INS OID by default. Same seed → same sequence of identities::

    ids = SyntheticIdentities(seed=42)
    patient = ids.patient()            # Patient with a test INS-NIR (1.2.250.1.213.1.4.10)
    doctor = ids.professional()        # Professional with idNat 8 + RPPS
    hospital = ids.structure()         # Structure with idNat 1 + FINESS

Commune codes are structurally valid INSEE codes (department + 3 digits, or overseas 97x + 2 digits, or 99 +
country); they are not guaranteed to name an existing commune.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from faker import Faker
from faker.providers.address.fr_FR import Provider as FrAddressProvider

from conformance.identity.national_ids import (
    PS_IDNAT_ROOT,
    STRUCTURE_IDNAT_ROOT,
    make_finess,
    make_rpps,
    make_siren,
    make_siret,
    ps_idnat_from_rpps,
    structure_idnat_from_finess,
)
from conformance.identity.nir import (
    INS_NIA_OID,
    INS_NIA_TEST_OID,
    INS_NIR_OID,
    INS_NIR_TEST_OID,
    Ins,
    make_nir,
)

Sex = Literal["M", "F"]
CORSICA_SPLIT_YEAR = 1976

# A few INSEE country codes for people born abroad (department 99).
FOREIGN_BIRTH_PLACES: tuple[tuple[str, str], ...] = (
    ("99109", "Allemagne"), ("99127", "Italie"), ("99134", "Espagne"), ("99139", "Portugal"),
    ("99350", "Maroc"), ("99351", "Tunisie"), ("99352", "Algérie"),
)

# Professions (TRE_G15) and specialties as combined in JDV_J01 author codes ("G15_10/SM26", code system
# 1.2.250.1.213.1.1.4.5), with the display names the official examples use.
SPECIALTY_SYSTEM = "1.2.250.1.213.1.1.4.5"
PHYSICIAN = "10"
SPECIALTIES: tuple[tuple[str, str, str], ...] = (
    (PHYSICIAN, "SM26", "Médecin - Qualifié en Médecine Générale (SM)"),
    (PHYSICIAN, "SM03", "Médecin - Biologie médicale (SM)"),
    (PHYSICIAN, "SM20", "Médecin - Gynécologie-obstétrique (SM)"),
    (PHYSICIAN, "SM40", "Médecin - Pédiatrie (SM)"),
    (PHYSICIAN, "SM44", "Médecin - Radio-diagnostic (SM)"),
    (PHYSICIAN, "SM32", "Médecin - Neurologie (SM)"),
    ("60", "", "Infirmier"),
    ("50", "", "Sage-Femme"),
    ("21", "A", "Pharmacien titulaire d'officine"),
)


def nir_birth_place(insee_code: str, birth_date: date) -> str:
    """The birth place as the NIR writes it: Corsica was department 20 until 1976, then 2A/2B."""
    if insee_code[:2] in ("2A", "2B") and birth_date.year < CORSICA_SPLIT_YEAR:
        return "20" + insee_code[2:]
    return insee_code


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient with INS traits (birth names, birth date, sex, INSEE birth place) consistent with the NIR."""

    ins: Ins
    sex: Sex
    birth_date: date
    birth_family_name: str
    birth_given_names: tuple[str, ...]
    birth_place_code: str  # today's INSEE code of the commune (or 99 + country code), as in birthplace/county
    birth_place_name: str  # department or country name
    street: str
    postal_code: str
    city: str

    @property
    def first_given_name(self) -> str:
        return self.birth_given_names[0]

    @property
    def nir(self) -> str:
        return self.ins.value

    @property
    def hl7_birth_time(self) -> str:
        return self.birth_date.strftime("%Y%m%d")


@dataclass(frozen=True, slots=True)
class Professional:
    """A health professional: ``profession_code`` is the TRE_G15 profession (``10`` physician), ``specialty_code``
    the specialty inside it (``SM26``, empty when the profession has none)."""

    rpps: str
    family_name: str
    given_name: str
    profession_code: str
    specialty_code: str
    specialty_display: str
    specialty_system: str = SPECIALTY_SYSTEM
    prefix: str = "DR"

    @property
    def author_specialty_code(self) -> str:
        """The JDV_J01 code of ``assignedAuthor/code`` and XDS authorSpecialty: ``G15_10/SM26``, ``G15_60``."""
        profession = f"G15_{self.profession_code}"
        return f"{profession}/{self.specialty_code}" if self.specialty_code else profession

    @property
    def idnat(self) -> str:
        return ps_idnat_from_rpps(self.rpps)

    @property
    def idnat_root(self) -> str:
        return PS_IDNAT_ROOT


@dataclass(frozen=True, slots=True)
class Structure:
    finess: str
    siret: str
    name: str
    street: str
    postal_code: str
    city: str

    @property
    def idnat(self) -> str:
        return structure_idnat_from_finess(self.finess)

    @property
    def idnat_root(self) -> str:
        return STRUCTURE_IDNAT_ROOT


class SyntheticIdentities:
    """A seeded source of identities; every call draws the next one of the sequence."""

    def __init__(self, seed: int = 0, *, test_oids: bool = True) -> None:
        self._rng = random.Random(seed)
        self._faker = Faker("fr_FR")
        self._faker.seed_instance(seed)
        self._test_oids = test_oids
        self._departments: tuple[tuple[str, str], ...] = tuple(FrAddressProvider.departments)

    def _birth_place(self) -> tuple[str, str]:
        if self._rng.random() < 0.05:
            return self._rng.choice(FOREIGN_BIRTH_PLACES)
        code, name = self._rng.choice(self._departments)
        commune_digits = 5 - len(code)
        commune = self._rng.randint(1, 10 ** commune_digits - 10)
        return f"{code}{commune:0{commune_digits}d}", name

    def patient(self, *, sex: Sex | None = None, birth_date: date | None = None, nia: bool = False) -> Patient:
        """A patient; ``nia=True`` gives an INS-NIA (test OID ``.11``) instead of an INS-NIR."""
        sex = sex or self._rng.choice(("M", "F"))
        if birth_date is None:
            birth_date = date(1930, 1, 1) + timedelta(days=self._rng.randint(0, 365 * 95))
        place_code, place_name = self._birth_place()
        nir = make_nir("1" if sex == "M" else "2", birth_date.year, birth_date.month,
                       nir_birth_place(place_code, birth_date), self._rng.randint(1, 999))
        if nia:
            oid = INS_NIA_TEST_OID if self._test_oids else INS_NIA_OID
        else:
            oid = INS_NIR_TEST_OID if self._test_oids else INS_NIR_OID
        first = self._faker.first_name_male if sex == "M" else self._faker.first_name_female
        given = tuple(first() for _ in range(self._rng.choice((1, 1, 2, 3))))
        return Patient(
            ins=Ins(nir, oid), sex=sex, birth_date=birth_date,
            birth_family_name=self._faker.last_name().upper(), birth_given_names=given,
            birth_place_code=place_code, birth_place_name=place_name,
            street=self._faker.street_address(), postal_code=self._faker.postcode(), city=self._faker.city(),
        )

    def professional(self, profession: str | None = PHYSICIAN) -> Professional:
        """A professional of ``profession`` (TRE_G15 code, physicians by default; None = any profession)."""
        rpps = make_rpps("10" + "".join(str(self._rng.randint(0, 9)) for _ in range(8)))
        choices = [s for s in SPECIALTIES if profession is None or s[0] == profession]
        if not choices:
            raise ValueError(f"no synthetic specialty for profession {profession!r} "
                             f"(known: {', '.join(sorted({s[0] for s in SPECIALTIES}))})")
        profession_code, specialty, display = self._rng.choice(choices)
        sex = self._rng.choice(("M", "F"))
        given = self._faker.first_name_male() if sex == "M" else self._faker.first_name_female()
        return Professional(rpps=rpps, family_name=self._faker.last_name().upper(), given_name=given,
                            profession_code=profession_code, specialty_code=specialty, specialty_display=display,
                            prefix="DR" if profession_code == PHYSICIAN else "")

    def structure(self) -> Structure:
        code, _ = self._rng.choice([d for d in self._departments if len(d[0]) == 2 and d[0].isdigit()])
        finess = make_finess(code + "".join(str(self._rng.randint(0, 9)) for _ in range(6)))
        siren = make_siren("".join(str(self._rng.randint(1, 9)) for _ in range(8)))
        siret = make_siret(siren, f"{self._rng.randint(1, 9999):04d}")
        return Structure(finess=finess, siret=siret, name=f"{self._faker.company()} {self._faker.city()}",
                         street=self._faker.street_address(), postal_code=f"{code}{self._rng.randint(0, 999):03d}",
                         city=self._faker.city())
