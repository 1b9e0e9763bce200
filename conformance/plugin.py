"""pytest plugin of the bench (entry point ``pytest11``): the ``requirement`` marker and shared options.

Usable from any project: ``pytest --official-dir PATH`` points the fixtures at the official artefacts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

OFFICIAL_ENV = "DMP_CONFORMANCE_OFFICIAL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dmp-conformance")
    group.addoption("--official-dir", action="store", default=None,
                    help=f"folder of the official ANS/GIE artefacts (default: ${OFFICIAL_ENV} or ../shared/official)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the requirement IDs this test verifies")


def official_dir_from(config: pytest.Config) -> Path | None:
    """The official artefacts folder, or None when it is not available."""
    candidates = [config.getoption("--official-dir"), os.environ.get(OFFICIAL_ENV),
                  str(Path(str(config.rootpath)).parent / "shared" / "official")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def official_dir(pytestconfig: pytest.Config) -> Path:
    """The official artefacts (``ans-testcontenucda``, ``dmp-lps-package``, ``fhir``); skips when absent."""
    found = official_dir_from(pytestconfig)
    if found is None:
        pytest.skip("official artefacts not found: pass --official-dir or set DMP_CONFORMANCE_OFFICIAL "
                    "(CI uses ../shared/official)")
    return found


@pytest.fixture(scope="session")
def cisis_package(official_dir: Path) -> Path:
    """The ANS CI-SIS TestContenuCDA package folder."""
    path = official_dir / "ans-testcontenucda"
    if not path.is_dir():
        pytest.skip(f"CI-SIS package not found under {official_dir}")
    return path


@pytest.fixture(scope="session")
def dmp_lps_package(official_dir: Path) -> Path:
    """The DMP LPS package (WSDL/XSD annex and official example messages)."""
    path = official_dir / "dmp-lps-package"
    if not path.is_dir():
        pytest.skip(f"DMP LPS package not found under {official_dir}")
    return path


@pytest.fixture(scope="session")
def golden_dir(pytestconfig: pytest.Config) -> Path:
    """Ground truth of the official pipeline (../shared/golden/cisis-verdicts)."""
    env = os.environ.get("DMP_CONFORMANCE_GOLDEN")
    path = Path(env) if env else Path(str(pytestconfig.rootpath)).parent / "shared" / "golden" / "cisis-verdicts"
    if not path.is_dir():
        pytest.skip("golden verdicts not found (../shared/golden/cisis-verdicts or $DMP_CONFORMANCE_GOLDEN)")
    return path.resolve()
