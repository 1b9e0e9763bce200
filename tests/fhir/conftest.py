"""Fixtures of the FHIR tests: the official PDSm / PDSM4DMP packages and a validator over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.fhir import FhirPackage, FhirValidator, load_package
from conformance.fhir.package import PDSM4DMP_PACKAGE, PDSM_PACKAGE


@pytest.fixture(scope="session")
def fhir_dir(official_dir: Path) -> Path:
    path = official_dir / "fhir"
    if not (path / PDSM_PACKAGE).is_file():
        pytest.skip(f"PDSm package not found under {path}")
    return path


@pytest.fixture(scope="session")
def pdsm_package(fhir_dir: Path) -> FhirPackage:
    return load_package(fhir_dir / PDSM_PACKAGE)


@pytest.fixture(scope="session")
def pdsm4dmp_package(fhir_dir: Path) -> FhirPackage:
    if not (fhir_dir / PDSM4DMP_PACKAGE).is_file():
        pytest.skip("PDSM4DMP package not found")
    return load_package(fhir_dir / PDSM4DMP_PACKAGE)


@pytest.fixture(scope="session")
def validator(pdsm_package: FhirPackage) -> FhirValidator:
    """PDSm 3.1.1 only: what a submission is checked against."""
    return FhirValidator([pdsm_package])


@pytest.fixture(scope="session")
def ig_validator(fhir_dir: Path, pdsm_package: FhirPackage, pdsm4dmp_package: FhirPackage) -> FhirValidator:
    """PDSm + PDSM4DMP, as the IG publisher of PDSM4DMP sees them, plus any other FHIR package put beside them
    (e.g. ans.fr.terminologies: its code systems then make more official errors reproducible)."""
    others = [load_package(path) for path in sorted(fhir_dir.glob("*.tgz"))
              if path.name not in (PDSM_PACKAGE, PDSM4DMP_PACKAGE)]
    return FhirValidator([pdsm_package, pdsm4dmp_package, *others])
