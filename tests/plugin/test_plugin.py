"""The pytest plugin, exercised through real inner pytest sessions: markers, options, evidence, run
directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.reports import verify_run

SUITE = """
import pytest
from conformance.findings import ArtefactResult, Finding, Severity, Source


@pytest.mark.requirement("BENCH-DMP-TD3.1")
def test_pass(evidence):
    evidence.attach("request.xml", "<query/>", "application/xml")


@pytest.mark.requirement("BENCH-DMP-TD2.1")
def test_fail(evidence):
    finding = Finding("BENCH-XDS-CODES", Severity.ERROR, Source.RULE, "classCode 99 not in JDV_J57",
                      "/rim:ExtrinsicObject[1]", 7, "use a JDV_J57 code")
    result = ArtefactResult("sent.xml", "xds", [finding])
    evidence.assert_valid(result)


@pytest.mark.requirement("BENCH-DMP-TD0.2")
def test_skip():
    pytest.skip("reference DMP not available")


@pytest.mark.requirement("BENCH-DMP-TD1.6")
def test_raised_findings():
    from conformance.plugin import FindingsFailure
    raise FindingsFailure("bad", [Finding("BENCH-WSA", Severity.ERROR, Source.RULE, "no wsa:Action")])


@pytest.fixture
def broken():
    raise RuntimeError("cannot build the request")


@pytest.mark.requirement("BENCH-DMP-TD3.2")
def test_error(broken):
    pass


def test_unmarked():
    pass
"""


def inner_pytest(folder: Path, *args: str) -> int:
    """Run pytest in-process on ``folder`` (the plugin is loaded by its entry point, as for any user)."""
    return int(
        pytest.main(
            [str(folder), "-q", "-p", "no:cacheprovider", "-p", "no:locust", "--import-mode=importlib", *args]
        )
    )


def suite(tmp_path: Path, name: str, text: str = SUITE) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"test_{name}.py").write_text(text, encoding="utf-8")
    return folder


def test_unknown_requirement_id_stops_collection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = suite(
        tmp_path,
        "unknown_id",
        """
import pytest

@pytest.mark.requirement("EX_9.9-0000")
def test_x():
    pass
""",
    )
    assert inner_pytest(folder) == pytest.ExitCode.USAGE_ERROR
    assert "EX_9.9-0000" in capsys.readouterr().err
    assert inner_pytest(folder, "--no-requirement-check") == pytest.ExitCode.OK


def test_requirement_marker_without_id_stops_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(
        tmp_path,
        "empty_marker",
        """
import pytest

@pytest.mark.requirement()
def test_x():
    pass
""",
    )
    assert inner_pytest(folder) == pytest.ExitCode.USAGE_ERROR
    assert "requirement marker(s) without an ID" in capsys.readouterr().err


def test_report_dir_records_every_state_with_evidence_and_findings(tmp_path: Path) -> None:
    folder = suite(tmp_path, "states")
    preset = tmp_path / "preset.yaml"
    preset.write_text(
        "sut_url: http://dmp.example:8080\nsut_role: server\nsoftware_name: MonLPS\n"
        "software_version: '4.2'\nprofile: Consultation\n",
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    assert (
        inner_pytest(
            folder, "--report-dir", str(run_dir), "--sut-preset", str(preset), "--profile", "Alimentation"
        )
        == pytest.ExitCode.TESTS_FAILED
    )
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    outcomes = {t["name"]: t["outcome"] for t in report["tests"]}
    # --profile on the command line wins over the preset: Consultation/Accès tests are deselected.
    assert outcomes == {"test_fail": "failed", "test_unmarked": "passed"}
    assert report["sut"] == {
        "url": "http://dmp.example:8080",
        "role": "server",
        "profile": "Alimentation",
        "preset": str(preset),
        "software_name": "MonLPS",
        "software_version": "4.2",
        "embedded": False,
    }
    failed = next(t for t in report["tests"] if t["name"] == "test_fail")
    assert [(f["rule"], f["line"]) for f in failed["findings"]] == [("BENCH-XDS-CODES", 7)]  # recorded once
    assert (
        "classCode 99 not in JDV_J57 at /rim:ExtrinsicObject[1] (line 7)"
        in failed["message"] + failed["details"]
    )
    assert failed["evidence"][0]["path"].startswith("evidence/") and failed["transactions"] == [
        "TD2.1",
        "ITI-41",
    ]
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"]}
    assert verdicts["BENCH-DMP-TD2.1"] == "fail" and verdicts["BENCH-DMP-TD3.1"] == "not-tested"
    names = {"rules", "requirement-catalogue"}
    assert names <= {a["name"] for a in report["artefacts"]}
    assert verify_run(run_dir).ok


def test_all_states_and_allure_results(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert (
        inner_pytest(suite(tmp_path, "all_states"), "--report-dir", str(run_dir))
        == pytest.ExitCode.TESTS_FAILED
    )
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    outcomes = {t["name"]: (t["outcome"], t["message"]) for t in report["tests"]}
    assert outcomes["test_pass"] == ("passed", None)
    raised = next(t for t in report["tests"] if t["name"] == "test_raised_findings")
    assert [f["rule"] for f in raised["findings"]] == ["BENCH-WSA"]  # captured from the exception
    assert outcomes["test_skip"] == ("skipped", "reference DMP not available")
    assert outcomes["test_error"][0] == "error" and "cannot build the request" in outcomes["test_error"][1]
    assert (run_dir / "evidence").is_dir() and (run_dir / "junit.xml").is_file()
    results = [json.loads(p.read_text()) for p in (run_dir / "allure-results").glob("*-result.json")]
    labels = {r["name"]: {(label["name"], label["value"]) for label in r["labels"]} for r in results}
    assert {("requirement", "BENCH-DMP-TD3.1"), ("epic", "Consultation"), ("feature", "TD3.1")} <= labels[
        "test_pass"
    ]
    assert verify_run(run_dir).ok  # allure-results are inside the signed run


def test_bad_preset_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preset = tmp_path / "preset.yaml"
    preset.write_text("sut_url: http://x\ncolour: blue\n", encoding="utf-8")
    assert inner_pytest(suite(tmp_path, "preset"), "--sut-preset", str(preset)) == pytest.ExitCode.USAGE_ERROR
    assert "unknown key(s) colour" in capsys.readouterr().err


def test_sut_url_fixture_uses_the_given_url(tmp_path: Path) -> None:
    folder = suite(
        tmp_path,
        "sut",
        """
def test_url(sut_url, sut_settings):
    assert sut_url == "http://dmp.test:9" and sut_settings.role == "client"
""",
    )
    assert (
        inner_pytest(folder, "--sut-url", "http://dmp.test:9/", "--sut-role", "client") == pytest.ExitCode.OK
    )


def test_synthetic_patient_fixture(tmp_path: Path) -> None:
    folder = suite(
        tmp_path,
        "patient",
        """
def test_patient(synthetic_patient):
    assert synthetic_patient.ins.oid == "1.2.250.1.213.1.4.10" or synthetic_patient.ins
""",
    )
    assert inner_pytest(folder) == pytest.ExitCode.OK


TINY_PASS = """
import pytest

@pytest.mark.requirement("BENCH-DMP-TD3.1")
def test_find():
    pass
"""


def test_run_command_end_to_end(tmp_path: Path) -> None:
    runner = CliRunner()
    passing, failing = suite(tmp_path, "tiny_pass", TINY_PASS), suite(tmp_path, "tiny_fail", SUITE)
    out = tmp_path / "out-pass"
    result = runner.invoke(
        app, ["run", "--suite", str(passing), "-o", str(out), "--sut-url", "http://dmp.test"]
    )
    assert result.exit_code == 0, result.output
    assert "CONFORMANT" in result.output and str(out) in result.output.replace("\n", "")
    assert verify_run(out).ok
    result = runner.invoke(app, ["run", "--suite", str(failing), "-o", str(tmp_path / "out-fail")])
    assert result.exit_code == 1 and "NOT CONFORMANT" in result.output
    result = runner.invoke(app, ["run", "--suite", str(passing), "-o", str(out)])
    assert result.exit_code == 2  # never overwrite an earlier run


def test_run_command_with_everything_skipped_is_not_a_pass(tmp_path: Path) -> None:
    folder = suite(tmp_path, "tiny_skip", TINY_PASS.replace("    pass", "    pytest.skip('no SUT')"))
    result = CliRunner().invoke(app, ["run", "--suite", str(folder), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "NOTHING TESTED" in result.output


def test_official_package_used_is_named_in_the_report(tmp_path: Path) -> None:
    official = tmp_path / "official"
    package = official / "dmp-lps-package"
    (package / "wsdl-schema").mkdir(parents=True)
    (package / "wsdl-schema" / "README.txt").write_text("Version 2.01.04\n", encoding="utf-8")
    folder = suite(
        tmp_path,
        "official_use",
        """
def test_uses_the_package(dmp_lps_package):
    assert dmp_lps_package.name == "dmp-lps-package"
""",
    )
    run_dir = tmp_path / "run"
    assert (
        inner_pytest(folder, "--official-dir", str(official), "--report-dir", str(run_dir))
        == pytest.ExitCode.OK
    )
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    (used,) = [a for a in report["artefacts"] if a["name"] == "dmp-lps-package"]
    assert used["version"] == "2.01.04" and len(used["sha256"]) == 64


def test_report_dir_must_be_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.txt").write_text("from an earlier run")
    assert (
        inner_pytest(suite(tmp_path, "reuse", TINY_PASS), "--report-dir", str(used))
        == pytest.ExitCode.USAGE_ERROR
    )
    assert "is not empty" in capsys.readouterr().err
