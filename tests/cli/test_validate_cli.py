"""``dmp-conformance validate``: files and folders, formats, exit codes and the JSON contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from conformance.cli import app

LDL_SES = "ExemplesCDA/LDL-SES_2022.01.xml"


@pytest.fixture
def runner(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # never the user's real cache: a session-wide one without any imported package, whose schematron
    # build cache is shared by every test (the schematrons are compiled once per session)
    monkeypatch.setenv("DMP_CONFORMANCE_PROFILES_DIR", str(tmp_path_factory.getbasetemp() / "shared-profiles"))
    return CliRunner()


@pytest.fixture
def documents(cisis_package: Path, golden_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(cisis_package / LDL_SES, folder / "ldl-ses.xml")
    shutil.copy(golden_dir / "mutants" / "MUT-001.xml", folder / "mut-001.xml")
    (folder / "notes.xml").write_text("<notes>not a DMP artefact</notes>")
    return folder


def test_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path / "missing.xml")]).exit_code == 2
    (tmp_path / "doc.xml").write_text("<x/>")
    assert runner.invoke(app, ["validate", str(tmp_path / "doc.xml"), "--format", "pdf"]).exit_code == 2
    (tmp_path / "empty").mkdir()
    assert runner.invoke(app, ["validate", str(tmp_path / "empty")]).exit_code == 2
    assert runner.invoke(app, ["validate"]).exit_code == 2


@pytest.mark.official
def test_valid_document_without_package_exits_0_and_says_how_to_install(runner: CliRunner,
                                                                          documents: Path) -> None:
    result = runner.invoke(app, ["validate", str(documents / "ldl-ses.xml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)["documents"][0]
    assert document["valid"] is True and document["kind"] == "cda"
    hint = next(f for f in document["findings"] if f["rule"] == "BENCH-CDA-NO-PACKAGE")["hint"]
    assert "dmp-conformance profiles import" in hint


@pytest.mark.official
def test_folder_json_contract_and_exit_1(runner: CliRunner, documents: Path, cisis_package: Path) -> None:
    result = runner.invoke(app, ["validate", str(documents), "--package", str(cisis_package), "-f", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    by_name = {Path(d["path"]).name: d for d in report["documents"]}
    assert set(by_name) == {"ldl-ses.xml", "mut-001.xml", "notes.xml"}
    for document in report["documents"]:
        assert {"path", "kind", "valid", "findings"} <= set(document)
        for finding in document["findings"]:
            assert {"rule", "severity", "source", "location", "line", "message"} <= set(finding)
    xsd = [f for f in by_name["mut-001.xml"]["findings"] if f["rule"] == "XSD"]
    assert len(xsd) == 1 and xsd[0]["line"] == 142 and xsd[0]["source"] == "xsd"
    assert by_name["mut-001.xml"]["valid"] is False
    assert by_name["notes.xml"]["kind"] == "unknown" and not by_name["notes.xml"]["valid"]


@pytest.mark.official
@pytest.mark.parametrize("fmt", ["junit", "sarif", "svrl", "text"])
def test_every_format_renders(runner: CliRunner, documents: Path, cisis_package: Path, fmt: str,
                              tmp_path: Path) -> None:
    output = tmp_path / f"report.{fmt}"
    result = runner.invoke(app, ["validate", str(documents / "mut-001.xml"), "--package", str(cisis_package),
                                 "--format", fmt, "--output", str(output)])
    assert result.exit_code == 1
    text = output.read_text(encoding="utf-8")
    if fmt == "sarif":
        assert json.loads(text)["runs"]
    elif fmt in ("junit", "svrl"):
        assert etree.fromstring(text.encode()) is not None
    assert "informant" in text or fmt == "svrl"


@pytest.mark.official
def test_text_output_has_the_summary_table(runner: CliRunner, documents: Path, cisis_package: Path) -> None:
    result = runner.invoke(app, ["validate", str(documents), "--package", str(cisis_package)])
    assert result.exit_code == 1
    assert "Validation summary" in result.stdout and "XSD" in result.stdout


@pytest.mark.official
def test_no_schematron_is_fast_and_says_so(runner: CliRunner, documents: Path, cisis_package: Path) -> None:
    result = runner.invoke(app, ["validate", str(documents / "ldl-ses.xml"), "--package", str(cisis_package),
                                 "--no-schematron", "-f", "json"])
    document = json.loads(result.stdout)["documents"][0]
    rules = {f["rule"] for f in document["findings"]}
    assert "BENCH-CDA-SCHEMATRON-SKIPPED" in rules
    assert not any(f["source"] == "schematron" and f["severity"] == "error" for f in document["findings"])
    assert result.exit_code == (0 if document["valid"] else 1)
