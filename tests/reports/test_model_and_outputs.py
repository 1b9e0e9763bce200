"""report.json (schema v1), verdicts, HTML and JUnit of a run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema_rs
import pytest
from lxml import etree

from conformance.reports import Outcome, Run, TestResult, Verdict, requirement_verdicts
from conformance.reports.html import render_html
from conformance.requirements import Catalogue

SCHEMA = Path(__file__).resolve().parents[2] / "conformance" / "reports" / "report-v1.schema.json"


def verdict_of(run: Run, rid: str) -> Verdict:
    return next(r.verdict for r in run.requirements if r.id == rid)


def test_report_json_follows_schema_v1_and_round_trips(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = signed_run
    data = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    jsonschema_rs.validator_for(json.loads(SCHEMA.read_text())).validate(data)
    assert data["schema"] == "dmp-conformance/report/v1"
    assert Run.from_dict(data).to_dict() == data


def test_schema_rejects_a_bad_outcome(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = signed_run
    data = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    data["tests"][0]["outcome"] = "green"
    assert not jsonschema_rs.validator_for(json.loads(SCHEMA.read_text())).is_valid(data)


def test_verdicts(signed_run: tuple[Run, Path, str]) -> None:
    run, _, _ = signed_run
    assert verdict_of(run, "BENCH-DMP-TD2.1") is Verdict.FAIL
    assert verdict_of(run, "BENCH-DMP-TD3.1") is Verdict.PASS
    assert verdict_of(run, "BENCH-DMP-TD0.2") is Verdict.NOT_TESTED  # skipped is not tested
    assert verdict_of(run, "BENCH-DMP-TD3.2") is Verdict.FAIL  # an error fails its requirement
    assert verdict_of(run, "PRE_GEN") is Verdict.MANUAL
    assert not run.conformant and run.tested == 3
    verdicts = run.profile_verdicts()
    assert verdicts["Alimentation"] is Verdict.FAIL and verdicts["Consultation"] is Verdict.FAIL
    assert verdicts["Gestion administrative"] is Verdict.NOT_TESTED  # only a manual requirement there


def test_a_requirement_fails_when_any_of_its_tests_fails(catalogue: Catalogue) -> None:
    tests = [
        TestResult("a::ok", "ok", Outcome.PASSED, 0.0, ["BENCH-WSA"]),
        TestResult("a::ko", "ko", Outcome.FAILED, 0.0, ["BENCH-WSA"]),
    ]
    (verdict,) = [v for v in requirement_verdicts(tests, catalogue) if v.id == "BENCH-WSA"]
    assert verdict.verdict is Verdict.FAIL and verdict.tests == ["a::ok", "a::ko"]


def test_html_has_verdict_matrix_failure_first_and_escapes_everything(
    signed_run: tuple[Run, Path, str],
) -> None:
    _, run_dir, _ = signed_run
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'data-verdict="fail"' in html and "NOT CONFORMANT" in html
    assert (
        '<div class="card" data-profile="Alimentation"><h3>Alimentation</h3><span class="v v-fail">' in html
    )
    assert html.index("test_feed") < html.index("Requirement matrix")  # failures come first
    assert "classCode &lt;b&gt;11488-4&lt;/b&gt; not in JDV_J57" in html and "/rim:Extrinsic[1]" in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # the raw exchange, escaped
    assert "<script" not in html  # no script at all, and nothing fetched from outside
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        "http://127.0.0.1:1", ""
    )
    assert html.count("<svg") == 2
    assert (
        '<a href="evidence/t_td21/response.xml">' in html
    )  # evidence opens from the run directory, relatively


def test_html_says_nothing_tested_when_all_skipped(catalogue: Catalogue) -> None:
    tests = [TestResult("a::s", "s", Outcome.SKIPPED, 0.0, ["BENCH-WSA"], message="no SUT")]
    run = Run(
        "r",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:00+00:00",
        "0.1.0",
        sut=Run.from_dict(
            {
                "schema": "dmp-conformance/report/v1",
                "run_id": "r",
                "started": "",
                "finished": "",
                "bench_version": "",
            }
        ).sut,
        tests=tests,
        requirements=requirement_verdicts(tests, catalogue),
    )
    assert 'data-verdict="not-tested"' in render_html(run)


def test_junit_lists_every_test_with_its_state(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = signed_run
    suite = etree.parse(str(run_dir / "junit.xml")).getroot()[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    feed = suite.find("testcase[@name='test_feed']")
    assert feed.find("failure").get("message").startswith("RegistryResponse status Failure")
    assert feed.find("properties/property").get("value") == "BENCH-DMP-TD2.1"


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium/chromium-browser not on PATH (apt: chromium)")
def test_html_renders_in_headless_chromium(signed_run: tuple[Run, Path, str], tmp_path: Path) -> None:
    _, run_dir, _ = signed_run
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,2000",
            f"--screenshot={shot}",
            (run_dir / "report.html").as_uri(),
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    # The DOM as the browser built it still holds the verdict (the page parses without errors).
    dom = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile2'}",
            "--dump-dom",
            (run_dir / "report.html").as_uri(),
        ],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    assert "NOT CONFORMANT" in dom
