"""The PDSm suites end to end through ``dmp-conformance run``: server role against the embedded reference DMP,
client role judging a scripted FHIR LPS."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.plugin import reference_dmp_available

SUITES = Path(__file__).resolve().parents[2] / "conformance" / "suites" / "pdsm"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not reference_dmp_available(), reason="no reference DMP")]


def _report(out: Path) -> tuple[dict[str, str], dict[str, str]]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return ({t["name"]: t["outcome"] for t in report["tests"]},
            {r["id"]: r["verdict"] for r in report["requirements"]})


def test_server_role_suite_passes_on_the_reference_dmp(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--suite", str(SUITES / "server_role"), "-o", str(out)])
    outcomes, verdicts = _report(out)
    assert result.exit_code == 0, outcomes
    assert set(outcomes.values()) == {"passed"} and len(outcomes) >= 17, outcomes
    for rid in ("BENCH-PDSM-ITI65", "BENCH-PDSM-ITI67", "BENCH-PDSM-ITI68", "BENCH-PDSM-ITI105", "BENCH-PDSM-MASK",
                "BENCH-PDSM-REPLACE", "BENCH-PDSM-DUPLICATE", "BENCH-PDSM-ERRORS", "BENCH-PDSM-ACCESS",
                "BENCH-PDSM-ITI66", "BENCH-PDSM-SEARCH", "BENCH-PDSM-ARCHIVE", "BENCH-PDSM-PATCH-SCOPE",
                "BENCH-PDSM-ITI65-INVALID"):
        assert verdicts[rid] == "pass", rid


def test_client_role_suite_judges_a_scripted_fhir_lps(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = f"{sys.executable} {Path(__file__).with_name('fhir_lps_stand_in.py')}"
    result = CliRunner().invoke(app, ["run", "--suite", str(SUITES / "client_role"), "-o", str(out), "--",
                                      "--lps-command", command, "--wait-timeout", "60", "--dmp-options=--admin"])
    outcomes, verdicts = _report(out)
    assert result.exit_code == 0, (outcomes, result.output[-2000:])
    assert verdicts["BENCH-PDSM-LPS-VALID"] == verdicts["BENCH-PDSM-LPS-SEARCH"] == "pass"
