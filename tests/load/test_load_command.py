"""``dmp-conformance load``: a real locust run (subprocesses) against the embedded reference DMP, SLO checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.load import LoadResult, TransactionStats, check_slo, load_slo
from conformance.load.chart import load_chart
from conformance.load.slo import Slo, SloError

TRANSACTIONS = {"TD0.2", "TD2.1", "TD3.1", "TD3.2"}


def _result(p95: float = 100.0, failures: int = 0, rps: float = 10.0) -> LoadResult:
    stats = [TransactionStats(name, 50, failures, rps / 4, 50.0, p95, p95 * 1.2) for name in sorted(TRANSACTIONS)]
    total = TransactionStats("Aggregated", 200, failures * 4, rps, 50.0, p95, p95 * 1.2)
    return LoadResult(users=5, duration_s=5, workers=0, sut_url="http://127.0.0.1:1", transactions=stats,
                      total=total, history=[{"t": 0.0, "users": 5, "rps": 8.0, "p95_ms": 90.0},
                                            {"t": 1.0, "users": 5, "rps": 10.0, "p95_ms": 100.0}])


def test_default_slo_names_the_four_transactions() -> None:
    slo = load_slo()
    assert set(slo.p95_ms) == TRANSACTIONS and slo.error_rate is not None and slo.min_rps is not None


def test_slo_violations_say_what_was_expected_and_found() -> None:
    slo = Slo(error_rate=0.01, min_rps=20, p95_ms={"TD3.1": 50, "TD9.9": 10})
    found = {str(v) for v in check_slo(_result(p95=100.0, failures=5), slo)}
    assert "TD3.1 p95: expected ≤ 50 ms, found 100 ms" in found
    assert "TD9.9 p95: expected ≤ 10 ms, found no request" in found
    assert any(v.startswith("error rate") for v in found) and any(v.startswith("throughput") for v in found)
    assert not check_slo(_result(), Slo(error_rate=0.01, min_rps=5, p95_ms={"TD3.1": 500}))


def test_malformed_slo_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "slo.yaml"
    bad.write_text("p95: {TD3.1: fast}\n")
    with pytest.raises(SloError, match="error_rate, min_rps and p95_ms"):
        load_slo(bad)


def test_chart_is_inline_svg_and_load_json_round_trips(tmp_path: Path) -> None:
    result = _result()
    svg = load_chart(result)
    assert svg.startswith("<svg") and "<polyline" in svg and "script" not in svg
    result.write(tmp_path / "load.json")
    assert LoadResult.read(tmp_path / "load.json") == result


@pytest.mark.load
@pytest.mark.slow
def test_distributed_run_against_the_embedded_dmp_meets_the_default_slo(tmp_path: Path) -> None:
    """5 s of load with a locust master and 2 workers, all subprocesses, on a loopback reference DMP."""
    output, run_dir = tmp_path / "out", tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", "from conformance.cli import app; app()", "load", "--users", "4",
                           "--duration", "5", "--workers", "2", "--output", str(output), "--run-dir", str(run_dir)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr + (output / "locust.log").read_text(errors="replace")
    data = json.loads((output / "load.json").read_text())
    assert data["workers"] == 2 and not data["slo_violations"]
    assert {t["name"] for t in data["transactions"]} == TRANSACTIONS
    assert all(t["requests"] > 0 and t["failures"] == 0 for t in data["transactions"]), data["transactions"]
    assert (output / "locust_stats.csv").exists() and (output / "locust.json").exists()
    assert "<svg" in (run_dir / "load" / "section.html").read_text()


@pytest.mark.load
def test_unreachable_external_sut_fails_with_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from conformance.cli import app; app()", "load", "--sut-url",
                           "http://127.0.0.1:9", "--duration", "1", "--output", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--vihf-cert" in done.stderr


def test_load_section_goes_into_the_html_report_of_a_run(tmp_path: Path) -> None:
    from conformance.load.report import write_load_section
    from conformance.reports.html import render_html
    from conformance.reports.model import Run, SutInfo

    write_load_section(_result(), tmp_path)
    run = Run(run_id="r", started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:01Z", bench_version="0",
              sut=SutInfo(role="server"))
    html = render_html(run, tmp_path)
    assert '<section id="load">' in html and "<svg" in html and "TD3.1" in html
