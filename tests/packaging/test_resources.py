"""Where the data is found: ``$DMP_CONFORMANCE_DATA``, else the source checkout, else the installed copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import resources
from conformance.resources import DATA_ENV, data_root, load_path, profiles_path


def test_the_environment_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(DATA_ENV, "~/site-data")
    assert data_root() == tmp_path / "site-data"
    assert profiles_path("xds", "valuesets.yaml") == tmp_path / "site-data" / "profiles" / "xds" / "valuesets.yaml"
    assert load_path("locustfile.py") == tmp_path / "site-data" / "load" / "locustfile.py"


def test_a_checkout_reads_its_own_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    checkout = Path(resources.__file__).resolve().parents[1]
    if not (checkout / "pyproject.toml").is_file():
        pytest.skip("installed from a wheel: no checkout")
    assert data_root() == checkout and profiles_path("requirements").is_dir()


def test_an_installed_package_reads_its_copy_even_beside_a_stray_profiles_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    (tmp_path / "profiles").mkdir()  # e.g. another distribution's top-level folder in site-packages
    monkeypatch.setattr(resources, "_PACKAGE", tmp_path / "conformance")
    assert data_root() == tmp_path / "conformance" / "_data"
