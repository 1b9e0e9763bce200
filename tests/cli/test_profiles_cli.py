"""``dmp-conformance profiles import|list|show|remove``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from tests.artefacts.conftest import CISIS_FILES, make_tgz, npm_package, write_tree


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DMP_CONFORMANCE_PROFILES_DIR", str(tmp_path / "profiles"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_empty_cache_lists_the_commands_that_install_packages(runner: CliRunner) -> None:
    result = runner.invoke(app, ["profiles", "list"])
    assert result.exit_code == 0
    assert "no package imported" in result.stdout
    assert "dmp-conformance profiles import" in result.stdout


def test_import_list_show_remove(runner: CliRunner, tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "TestContenuCDA_2024.01", CISIS_FILES)
    result = runner.invoke(app, ["profiles", "import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "cisis" in result.stdout and "2024.01" in result.stdout
    assert runner.invoke(app, ["profiles", "import", str(make_tgz(tmp_path / "p.tgz", npm_package()))]).exit_code == 0

    listing = json.loads(runner.invoke(app, ["profiles", "list", "--json"]).stdout)
    assert {p["kind"] for p in listing} == {"cisis", "fhir"}
    cisis = next(p for p in listing if p["kind"] == "cisis")
    table = runner.invoke(app, ["profiles", "list"]).stdout
    assert cisis["sha256"][:12] in table and "imported at" in table

    shown = runner.invoke(app, ["profiles", "show", cisis["sha256"][:8]])
    assert shown.exit_code == 0 and cisis["sha256"][:40] in shown.stdout.replace("\n", "")

    assert runner.invoke(app, ["profiles", "remove", "nothing-like-this"]).exit_code == 1
    assert runner.invoke(app, ["profiles", "remove", "cisis"]).exit_code == 0
    remaining = json.loads(runner.invoke(app, ["profiles", "list", "--json"]).stdout)
    assert [p["kind"] for p in remaining] == ["fhir"]


def test_ambiguous_remove_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(app, ["profiles", "import", str(make_tgz(tmp_path / "a.tgz", npm_package(version="1.0.0")))])
    runner.invoke(app, ["profiles", "import", str(make_tgz(tmp_path / "b.tgz", npm_package(version="2.0.0")))])
    assert runner.invoke(app, ["profiles", "remove", "fhir"]).exit_code == 2
    assert runner.invoke(app, ["profiles", "remove", "fhir", "--all"]).exit_code == 0


def test_import_errors_are_explained(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["profiles", "import", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.stderr
    offline = runner.invoke(app, ["profiles", "import", "https://127.0.0.1:9/TestContenuCDA.zip"])
    assert offline.exit_code == 1 and "cannot download" in offline.stderr


def test_import_with_compile_prepares_the_schematrons(runner: CliRunner, tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "TestContenuCDA_2024.01", CISIS_FILES)
    result = runner.invoke(app, ["profiles", "import", str(folder), "--compile"])
    assert result.exit_code == 0, result.output
    assert "schematrons compiled" in result.stdout
    assert any((tmp_path / "profiles" / "schematron-build").iterdir())


def test_import_with_an_explicit_version(runner: CliRunner, tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "ans-testcontenucda", CISIS_FILES)
    result = runner.invoke(app, ["profiles", "import", str(folder), "--version", "7cd489b"])
    assert result.exit_code == 0, result.output
    listing = json.loads(runner.invoke(app, ["profiles", "list", "--json"]).stdout)
    assert [p["version"] for p in listing] == ["7cd489b"]
